/**
 * Chooses the external interface as flannel does: --iface entries (name or address, first match
 * wins), else --iface-regex entries (matched against names and addresses), else the interface of
 * the default route. --public-ip overrides the advertised address.
 */
import { InvalidConfigError } from '../shared/errors.js';
import { formatIp, isIp } from '../shared/ip/cidr.js';
import { type AddrInfo, dumpAddrs, parseAddr } from '../shared/netlink/addr.js';
import { dumpLinks, findLink, IFF_UP, type LinkInfo, parseLink } from '../shared/netlink/link.js';
import { dumpRoutes, readRoute, RT_SCOPE_HOST, RT_TABLE_MAIN } from '../shared/netlink/route.js';
import type { ExternalInterface } from './backend/backend.js';
import { kernelSocket } from './kernel-socket.js';

/** One interface with its IPv4 addresses (host-scope ones left out), as `ip addr` lists them. */
export interface IfaceInfo {
  name: string;
  mtu: number;
  up: boolean;
  addrs: Array<{ ip: string; prefix: number }>;
}

/** The operator's choice: --iface, --iface-regex, --public-ip. */
export interface IfaceSelection {
  iface: string[];
  ifaceRegex: string[];
  publicIp?: string;
}

/** Lists interfaces with their IPv4 addresses that are not host-scope (loopback's). */
export async function listInterfaces(): Promise<IfaceInfo[]> {
  const { nl } = await kernelSocket();
  const links: LinkInfo[] = [];
  nl.dump('reading links', dumpLinks, (m) => links.push(parseLink(m.payload)));
  const addrs: AddrInfo[] = [];
  nl.dump('reading addresses', dumpAddrs, (m) => {
    const a = parseAddr(m.payload);
    if (a && a.scope !== RT_SCOPE_HOST) addrs.push(a);
  });
  return links.map((l) => ({
    name: l.name,
    mtu: l.mtu,
    up: (l.flags & IFF_UP) !== 0,
    addrs: addrs.filter((a) => a.index === l.index).map((a) => ({ ip: formatIp(a.ip), prefix: a.prefix })),
  }));
}

/** The device of the default IPv4 route in the main table, or null. */
export async function defaultRouteInterface(): Promise<string | null> {
  const { nl } = await kernelSocket();
  let oif: number | undefined;
  nl.dump('reading routes', dumpRoutes, (m) => {
    const r = readRoute(m.payload);
    if (oif === undefined && r && r.table === RT_TABLE_MAIN && r.dst.prefix === 0 && r.oif !== undefined) oif = r.oif;
  });
  return oif === undefined ? null : (findLink(nl, oif)?.name ?? null);
}

/** Pure selection over a list of interfaces; throws InvalidConfigError naming the flag. */
export function selectInterface(ifaces: IfaceInfo[], sel: IfaceSelection, defaultDev: string | null): ExternalInterface {
  const make = (i: IfaceInfo, addr?: { ip: string; prefix: number }): ExternalInterface => {
    const a = addr ?? i.addrs[0];
    if (!a) throw new InvalidConfigError(`interface ${i.name} has no IPv4 address`, 'iface', { hint: 'give it an address or choose another with --iface' });
    return { name: i.name, ifaceIp: a.ip, ifacePrefix: a.prefix, publicIp: sel.publicIp ?? a.ip, mtu: i.mtu };
  };
  if (sel.publicIp !== undefined && !isIp(sel.publicIp)) {
    throw new InvalidConfigError(`--public-ip "${sel.publicIp}" is not an IPv4 address`, 'public-ip');
  }
  for (const want of sel.iface) {
    if (isIp(want)) {
      for (const i of ifaces) {
        const a = i.addrs.find((x) => x.ip === want);
        if (a) return make(i, a);
      }
    } else {
      const i = ifaces.find((x) => x.name === want);
      if (i) return make(i);
    }
  }
  if (sel.iface.length) throw new InvalidConfigError(`none of --iface ${sel.iface.join(', ')} exists on this host (or has an IPv4 address)`, 'iface');
  for (const pattern of sel.ifaceRegex) {
    let re: RegExp;
    try {
      re = new RegExp(pattern);
    } catch (e) {
      throw new InvalidConfigError(`--iface-regex "${pattern}" is not a valid regular expression: ${(e as Error).message}`, 'iface-regex');
    }
    for (const i of ifaces) {
      const a = i.addrs.find((x) => re.test(x.ip));
      if (a) return make(i, a);
      if (re.test(i.name) && i.addrs.length) return make(i);
    }
  }
  if (sel.ifaceRegex.length) throw new InvalidConfigError(`no interface matches --iface-regex ${sel.ifaceRegex.join(', ')}`, 'iface-regex');
  const def = ifaces.find((i) => i.name === defaultDev);
  if (!def) throw new InvalidConfigError('no default route to pick the external interface from', 'iface', { hint: 'name the interface with --iface' });
  return make(def);
}

/** Reads the host's interfaces and selects one. */
export async function findExternalInterface(sel: IfaceSelection): Promise<ExternalInterface> {
  const [ifaces, def] = await Promise.all([listInterfaces(), defaultRouteInterface()]);
  return selectInterface(ifaces, sel, def);
}

/**
 * Chooses the external interface as flannel does (main.go, pkg/ipmatch LookupExtIface): --iface
 * entries (name or address, first match wins), then --iface-regex entries (each against every
 * address first, then against names), then --iface-can-reach (the route to that address); with none
 * of them, the interface holding --public-ip, else the interface of the default route.
 * --public-ip overrides the advertised address.
 */
import { InvalidConfigError } from '../shared/errors.js';
import { formatIp, isIp, parseIp } from '../shared/ip/cidr.js';
import { type AddrInfo, dumpAddrs, parseAddr } from '../shared/netlink/addr.js';
import { dumpLinks, findLink, IFF_UP, type LinkInfo, parseLink } from '../shared/netlink/link.js';
import { dumpRoutes, getRoute, readRoute, RT_SCOPE_HOST, RT_TABLE_MAIN } from '../shared/netlink/route.js';
import type { ExternalInterface } from './backend/backend.js';
import { kernelSocket } from './kernel-socket.js';

/** One interface with its IPv4 addresses (host-scope ones left out), as `ip addr` lists them. */
export interface IfaceInfo {
  name: string;
  mtu: number;
  up: boolean;
  addrs: Array<{ ip: string; prefix: number }>;
}

/** The operator's choice: --iface, --iface-regex, --iface-can-reach, --public-ip. */
export interface IfaceSelection {
  iface: string[];
  ifaceRegex: string[];
  ifaceCanReach?: string;
  publicIp?: string;
}

/** Where the kernel routes an address (`ip route get`): the device and the source address it would use. */
export interface RouteTo {
  dev: string;
  src?: string;
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

/** The route the kernel would take to `ip` (`ip route get <ip>`), or null when it has none. */
export async function routeTo(ip: string): Promise<RouteTo | null> {
  const { nl } = await kernelSocket();
  const [answer] = nl.transact([(w) => getRoute(w, parseIp(ip))]);
  const r = answer?.errno ? undefined : answer?.messages.map((m) => readRoute(m.payload)).find((x) => x?.oif !== undefined);
  if (!r || r.oif === undefined) return null;
  const dev = findLink(nl, r.oif)?.name;
  if (dev === undefined) return null;
  return r.prefsrc === undefined ? { dev } : { dev, src: formatIp(r.prefsrc) };
}

/**
 * Pure selection over a list of interfaces (`reach`: the route to --iface-can-reach, when given);
 * throws InvalidConfigError naming the flag.
 */
export function selectInterface(ifaces: IfaceInfo[], sel: IfaceSelection, defaultDev: string | null, reach?: RouteTo | null): ExternalInterface {
  const make = (i: IfaceInfo, addr?: { ip: string; prefix: number }): ExternalInterface => {
    const a = addr ?? i.addrs[0];
    if (!a) throw new InvalidConfigError(`interface ${i.name} has no IPv4 address`, 'iface', { hint: 'give it an address or choose another with --iface' });
    return { name: i.name, ifaceIp: a.ip, ifacePrefix: a.prefix, publicIp: sel.publicIp ?? a.ip, mtu: i.mtu };
  };
  if (sel.publicIp !== undefined && !isIp(sel.publicIp)) {
    throw new InvalidConfigError(`--public-ip "${sel.publicIp}" is not an IPv4 address`, 'public-ip');
  }
  const given = sel.iface.length > 0 || sel.ifaceRegex.length > 0 || sel.ifaceCanReach !== undefined;
  for (const want of sel.iface) {
    if (isIp(want)) {
      for (const i of ifaces) {
        const a = i.addrs.find((x) => x.ip === want);
        if (a) return make(i, a);
      }
    } else {
      const i = ifaces.find((x) => x.name === want);
      if (i?.addrs.length) return make(i);
    }
  }
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
    }
    const byName = ifaces.find((i) => re.test(i.name) && i.addrs.length);
    if (byName) return make(byName);
  }
  if (sel.ifaceCanReach !== undefined && reach) {
    const i = ifaces.find((x) => x.name === reach.dev);
    if (i) return make(i, i.addrs.find((x) => x.ip === reach.src));
  }
  if (given) {
    const tried = [...sel.iface.map((x) => `--iface ${x}`), ...sel.ifaceRegex.map((x) => `--iface-regex ${x}`), ...(sel.ifaceCanReach ? [`--iface-can-reach ${sel.ifaceCanReach}`] : [])];
    const field = sel.ifaceCanReach !== undefined ? 'iface-can-reach' : sel.ifaceRegex.length ? 'iface-regex' : 'iface';
    throw new InvalidConfigError(`no interface with an IPv4 address matches ${tried.join(', ')}`, field, {
      hint: `interfaces: ${ifaces.map((i) => `${i.name} [${i.addrs.map((x) => x.ip).join(' ')}]`).join(', ')}`,
    });
  }
  if (sel.publicIp !== undefined) {
    for (const i of ifaces) {
      const a = i.addrs.find((x) => x.ip === sel.publicIp);
      if (a) return make(i, a);
    }
  }
  const def = ifaces.find((i) => i.name === defaultDev);
  if (!def) throw new InvalidConfigError('no default route to pick the external interface from', 'iface', { hint: 'name the interface with --iface' });
  return make(def);
}

/** Reads the host's interfaces and selects one. */
export async function findExternalInterface(sel: IfaceSelection): Promise<ExternalInterface> {
  const [ifaces, def, reach] = await Promise.all([listInterfaces(), defaultRouteInterface(), sel.ifaceCanReach === undefined ? null : routeTo(sel.ifaceCanReach)]);
  return selectInterface(ifaces, sel, def, reach);
}

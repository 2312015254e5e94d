/**
 * Chooses the external interface as flannel does: --iface entries (name or address, first match
 * wins), else --iface-regex entries (matched against names and addresses), else the interface of
 * the default route. --public-ip overrides the advertised address.
 */
import { InvalidConfigError } from '../shared/errors.js';
import { isIp } from '../shared/ip/cidr.js';
import { ipJson } from '../shared/netlink/ip-command.js';
import type { ExternalInterface } from './backend/backend.js';

/** One interface with its IPv4 addresses, as `ip -json addr` reports it. */
export interface IfaceInfo {
  name: string;
  mtu: number;
  up: boolean;
  addrs: Array<{ ip: string; prefix: number }>;
}

export interface IfaceSelection {
  iface: string[];
  ifaceRegex: string[];
  publicIp?: string;
}

interface JsonAddr {
  ifname: string;
  mtu: number;
  flags?: string[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
}

/** Lists interfaces with their global IPv4 addresses. */
export async function listInterfaces(): Promise<IfaceInfo[]> {
  const links = await ipJson<JsonAddr>(['addr', 'show']);
  return links.map((l) => ({
    name: l.ifname,
    mtu: l.mtu,
    up: (l.flags ?? []).includes('UP'),
    addrs: (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.scope !== 'host').map((a) => ({ ip: a.local, prefix: a.prefixlen })),
  }));
}

/** The device of the default IPv4 route, or null. */
export async function defaultRouteInterface(): Promise<string | null> {
  const routes = await ipJson<{ dev?: string }>(['-4', 'route', 'show', 'default']);
  return routes.find((r) => r.dev)?.dev ?? null;
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

/**
 * IPv4 addresses: the requests (add, replace or delete one; dump all), the reader of the kernel's
 * address messages, and the one way to give a device its address and drop its stale ones
 * (`addressChanges`, pure; `setAddress`, which reads and applies it). Layouts: linux/if_addr.h.
 */
import { formatIp } from '../ip/cidr.js';
import { AF_INET } from '../native/constants.js';
import { LinkNotFoundError } from '../errors.js';
import { findLink } from './link.js';
import { CHANGE, CREATE, DUMP, type NlWriter, parseAttrs, REPLACE, type Request } from './message.js';
import { RT_SCOPE_UNIVERSE } from './route.js';
import type { RtNetlink } from './rtnetlink.js';

/** An address added (a request, an answer). */
export const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
/** struct ifaddrmsg. */
const IFADDRMSG = 8;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;

/** Adds (`replace`: or replaces) or deletes an IPv4 address on a link. */
export function addrRequest(w: NlWriter, action: 'add' | 'replace' | 'delete', index: number, ip: number, prefix: number): void {
  const h = w.start(action === 'delete' ? RTM_DELADDR : RTM_NEWADDR, action === 'delete' ? CHANGE : action === 'add' ? CREATE : REPLACE, IFADDRMSG);
  w.u8At(h, AF_INET).u8At(h + 1, prefix).u8At(h + 3, RT_SCOPE_UNIVERSE).u32At(h + 4, index);
  w.ip(IFA_LOCAL, ip).ip(IFA_ADDRESS, ip).finish();
}

/** Every IPv4 address (a dump). */
export function dumpAddrs(w: NlWriter): void {
  w.u8At(w.start(RTM_GETADDR, DUMP, IFADDRMSG), AF_INET);
  w.finish();
}

/** An IPv4 address on a link. */
export interface AddrInfo {
  index: number;
  ip: number;
  prefix: number;
  /** Its scope (RT_SCOPE_UNIVERSE, or RT_SCOPE_HOST for a loopback address...). */
  scope: number;
}

/** Reads the payload of an RTM_NEWADDR message (IPv4 only; null for others). */
export function parseAddr(p: Buffer): AddrInfo | null {
  if (p[0] !== AF_INET) return null;
  const a = parseAttrs(p.subarray(IFADDRMSG));
  const ip = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  return ip ? { index: p.readUInt32LE(4), ip: ip.readUInt32BE(0), prefix: p[1]!, scope: p[3]! } : null;
}

/** The address a device should carry. */
export interface WantedAddr {
  ip: number;
  prefix: number;
}

/**
 * The requests that leave `want` on link `index` (named `name` in the descriptions) and remove
 * those of its current IPv4 addresses `stale` selects (by default every other one); none when it
 * has exactly that already. Each with what it does, for an error message.
 */
export function addressChanges(
  index: number, name: string, current: readonly AddrInfo[], want: WantedAddr, stale: (a: AddrInfo) => boolean = () => true,
): Array<[string, Request]> {
  const changes: Array<[string, Request]> = [];
  const isWanted = (a: AddrInfo): boolean => a.ip === want.ip && a.prefix === want.prefix;
  for (const a of current) {
    if (!isWanted(a) && stale(a)) changes.push([`removing ${formatIp(a.ip)}/${a.prefix} from ${name}`, (w) => addrRequest(w, 'delete', index, a.ip, a.prefix)]);
  }
  if (!current.some(isWanted)) changes.push([`adding ${formatIp(want.ip)}/${want.prefix} to ${name}`, (w) => addrRequest(w, 'replace', index, want.ip, want.prefix)]);
  return changes;
}

/** The IPv4 addresses of link `index`. */
export function linkAddrs(nl: RtNetlink, index: number): AddrInfo[] {
  const addrs: AddrInfo[] = [];
  nl.dump(`reading the addresses of link ${index}`, dumpAddrs, (m) => {
    const a = parseAddr(m.payload);
    if (a?.index === index) addrs.push(a);
  });
  return addrs;
}

/**
 * Gives device `name` the IPv4 address `want` and removes every other IPv4 address it has (an old
 * subnet's). Throws LinkNotFoundError when there is no such device.
 */
export function setAddress(nl: RtNetlink, name: string, want: WantedAddr): void {
  const link = findLink(nl, name);
  if (!link) throw new LinkNotFoundError(`device ${name} does not exist`);
  const changes = addressChanges(link.index, name, linkAddrs(nl, link.index), want);
  if (changes.length) nl.perform(changes);
}

/**
 * IPv4 address math. Addresses are unsigned 32-bit numbers; a Cidr is an address plus a prefix
 * length. Parsing is strict: four decimal octets 0-255 without leading zeros ("01.2.3.4",
 * "1.2.3", "256.1.1.1" are refused), prefixes 0-32. (The plugin imports this on every pod's start;
 * the ip-num library it first used cost 17-26 ms just to load, more than half of Node's start-up.)
 */
import { InvalidCidrError } from '../errors.js';

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export interface Cidr {
  /** The address as an unsigned 32-bit number (not necessarily the network address). */
  readonly ip: number;
  readonly prefix: number;
}

/** Parses dotted-quad text into a number; throws InvalidCidrError. */
export function parseIp(text: string): number {
  const m = typeof text === 'string' ? IPV4_RE.exec(text) : null;
  if (!m) throw new InvalidCidrError(`"${String(text)}" is not an IPv4 address: expected four decimal numbers 0-255 without leading zeros, e.g. 10.5.0.1`);
  return ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
}

/** Formats a number as dotted-quad text. */
export function formatIp(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** True when text is a valid dotted-quad IPv4 address. */
export function isIp(text: string): boolean {
  return typeof text === 'string' && IPV4_RE.test(text);
}

/** Parses "a.b.c.d/len". With `strict`, host bits must be zero. */
export function parseCidr(text: string, opts: { strict?: boolean } = {}): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new InvalidCidrError(`"${text}" is not a CIDR: expected address/prefix, e.g. 10.5.0.0/16`);
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) {
    throw new InvalidCidrError(`"${text}" has an invalid prefix length: expected 0..32`);
  }
  const cidr = { ip, prefix: Number(lenText) };
  if (opts.strict && networkOf(cidr) !== ip) {
    throw new InvalidCidrError(`"${text}" has host bits set: the network address is ${formatIp(networkOf(cidr))}/${cidr.prefix}`);
  }
  return cidr;
}

/** Formats a Cidr as "a.b.c.d/len". */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

/** The netmask of a prefix length as a number. */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The network address of a Cidr. */
export function networkOf(c: Cidr): number {
  return (c.ip & maskOf(c.prefix)) >>> 0;
}

/** The number of addresses in a prefix. */
export function sizeOf(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** The last address (broadcast) of a Cidr. */
export function lastOf(c: Cidr): number {
  return (networkOf(c) + sizeOf(c.prefix) - 1) >>> 0;
}

/** The Cidr normalised to its network address. */
export function canonical(c: Cidr): Cidr {
  return { ip: networkOf(c), prefix: c.prefix };
}

/** True when the address lies inside the Cidr. */
export function contains(c: Cidr, ip: number): boolean {
  return ip >= networkOf(c) && ip <= lastOf(c);
}

/** True when the whole of `inner` lies inside `outer`. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && contains(outer, networkOf(inner));
}

/** True when the two ranges share at least one address (equal and nested ranges overlap). */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return networkOf(a) <= lastOf(b) && networkOf(b) <= lastOf(a);
}

/** Equality of the canonical forms. */
export function cidrEquals(a: Cidr, b: Cidr): boolean {
  return a.prefix === b.prefix && networkOf(a) === networkOf(b);
}

/** The gateway of a host subnet: its first usable address (flannel's FLANNEL_SUBNET address). */
export function gatewayOf(subnet: Cidr): number {
  return (networkOf(subnet) + 1) >>> 0;
}

/** flannel's etcd key form of a subnet: "10.5.34.0-24". */
export function subnetKeyOf(c: Cidr): string {
  return `${formatIp(networkOf(c))}-${c.prefix}`;
}

/** Parses flannel's etcd key form "10.5.34.0-24" (a dual-stack suffix "&fc00::-64" is ignored). */
export function parseSubnetKey(key: string): Cidr {
  const v4 = key.split('&')[0]!;
  const dash = v4.lastIndexOf('-');
  if (dash < 0) throw new InvalidCidrError(`"${key}" is not a subnet key: expected e.g. 10.5.34.0-24`);
  return parseCidr(`${v4.slice(0, dash)}/${v4.slice(dash + 1)}`, { strict: true });
}

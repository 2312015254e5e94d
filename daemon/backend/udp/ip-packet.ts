/**
 * The few IPv4 header operations the udp relay needs, on packets in place (no allocation):
 * addresses, the TTL decrement flannel's proxy applies on both sides (with the RFC 1624
 * checksum update), and the ICMP "net unreachable" it sends back when no lease holds the
 * destination. Addresses are unsigned 32-bit numbers, as in shared/ip/cidr.ts.
 */
import { internetChecksum } from './checksum.js';

export const IPV4_MIN_HEADER = 20;
const IPPROTO_ICMP = 1;
const ICMP_DEST_UNREACH = 3;
const ICMP_NET_UNREACH = 0;

/** True when the `len` bytes at `off` start with a plausible IPv4 header (version 4, IHL ≥ 5, fits). */
export function isIpv4(buf: Uint8Array, len: number, off = 0): boolean {
  if (len < IPV4_MIN_HEADER || buf[off]! >> 4 !== 4) return false;
  const ihl = (buf[off]! & 0x0f) * 4;
  return ihl >= IPV4_MIN_HEADER && ihl <= len;
}

/** The IPv4 total length field of the packet at `off`. */
export function totalLengthOf(buf: Uint8Array, off = 0): number {
  return (buf[off + 2]! << 8) | buf[off + 3]!;
}

export function sourceOf(buf: Uint8Array, off = 0): number {
  return ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0;
}

export function destinationOf(buf: Uint8Array, off = 0): number {
  return ((buf[off + 16]! << 24) | (buf[off + 17]! << 16) | (buf[off + 18]! << 8) | buf[off + 19]!) >>> 0;
}

/**
 * Decrements the TTL and patches the header checksum incrementally (the TTL is the high byte of
 * a 16-bit word, so the one's-complement sum drops by 0x0100 and the checksum rises by it, with
 * end-around carry). Returns false, leaving the packet alone, when the TTL would reach zero.
 */
export function decrementTtl(buf: Uint8Array, off = 0): boolean {
  if (buf[off + 8]! <= 1) return false;
  buf[off + 8] = buf[off + 8]! - 1;
  let check = (buf[off + 10]! << 8) | buf[off + 11]!;
  check += 0x0100;
  check = (check & 0xffff) + (check >>> 16);
  buf[off + 10] = check >>> 8;
  buf[off + 11] = check & 0xff;
  return true;
}

/**
 * Writes into `out` an ICMP destination-unreachable (net unreachable) from `from` about the packet
 * in `offender`, as flannel's proxy does: IP header + ICMP header + the offender's header and
 * first 8 payload bytes. Returns its length, or 0 when none must be sent (the offender is ICMP,
 * a non-first fragment, or too short). `out` needs 20 + 8 + 60 + 8 bytes.
 */
export function netUnreachable(offender: Uint8Array, len: number, from: number, out: Uint8Array): number {
  if (!isIpv4(offender, len) || offender[9] === IPPROTO_ICMP) return 0;
  const fragOffset = ((offender[6]! & 0x1f) << 8) | offender[7]!;
  if (fragOffset !== 0) return 0;
  const quoted = Math.min((offender[0]! & 0x0f) * 4 + 8, len);
  const total = IPV4_MIN_HEADER + 8 + quoted;
  out.fill(0, 0, total);
  out[0] = 0x45;
  out[2] = total >>> 8;
  out[3] = total & 0xff;
  out[8] = 8; // TTL, as flannel
  out[9] = IPPROTO_ICMP;
  writeU32(out, 12, from);
  out.set(offender.subarray(12, 16), 16); // back to the offender's source
  const ipCheck = internetChecksum(out, 0, IPV4_MIN_HEADER);
  out[10] = ipCheck >>> 8;
  out[11] = ipCheck & 0xff;
  out[20] = ICMP_DEST_UNREACH;
  out[21] = ICMP_NET_UNREACH;
  out.set(offender.subarray(0, quoted), 28);
  const icmpCheck = internetChecksum(out, 20, total);
  out[22] = icmpCheck >>> 8;
  out[23] = icmpCheck & 0xff;
  return total;
}

export function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

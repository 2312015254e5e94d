/** The Internet checksum (RFC 1071) and its parts, for the relay's IP, ICMP and TCP headers. */

/** One's-complement sum of `buf[start..end)` as big-endian 16-bit words, not folded. */
export function sum16(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  let i = start;
  for (; i + 1 < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) s += buf[i]! << 8;
  return s;
}

/** Folds a sum into 16 bits (carries added back). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The Internet checksum of `buf[start..end)`. */
export function internetChecksum(buf: Uint8Array, start: number, end: number): number {
  return ~fold(sum16(buf, start, end)) & 0xffff;
}

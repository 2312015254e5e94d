/**
 * MAC addresses: "aa:bb:cc:dd:ee:ff" text checked, converted to and from bytes, and random locally
 * administered unicast ones for veths, bridges and VTEPs.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { InvalidMacError } from '../errors.js';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** True for six colon-separated hex bytes (either case). */
export function isMac(text: unknown): text is string {
  return typeof text === 'string' && MAC_RE.test(text);
}

/** The six bytes of a MAC; throws for anything that is not one. */
export function macBytes(mac: string): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(macNumber(mac), 0, 6);
  return b;
}

/** The value of one hex digit's character code (already checked by isMac). */
function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** A MAC as a 48-bit number (compact and compared by value); throws for anything that is not one. */
export function macNumber(mac: string): number {
  if (!isMac(mac)) throw new InvalidMacError(`"${mac}" is not a MAC address`);
  let n = 0;
  for (let i = 0; i < 17; i += 3) n = n * 256 + hexDigit(mac.charCodeAt(i)) * 16 + hexDigit(mac.charCodeAt(i + 1));
  return n;
}

/** Lower-case text of a MAC held as a 48-bit number. */
export function formatMacNumber(n: number): string {
  const b = new Uint8Array(6);
  for (let i = 5, v = n; i >= 0; i--, v = Math.floor(v / 256)) b[i] = v % 256;
  return formatMac(b);
}

/** Lower-case text of six bytes. */
export function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Bytes from the kernel's random source (node:crypto would cost the plugin ~5 ms to load). */
function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    if (readSync(fd, b, 0, n, null) !== n) throw new Error('short read from /dev/urandom');
  } finally {
    closeSync(fd);
  }
  return b;
}

/** A random locally administered unicast MAC; `prefix` ("0a:58") fixes its first bytes. */
export function randomMac(prefix?: string): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  if (prefix) prefix.split(':').forEach((p, i) => (b[i] = parseInt(p, 16)));
  return formatMac(b);
}

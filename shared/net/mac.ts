/** MAC addresses: random locally administered unicast ones, for veths, bridges and VTEPs. */
import { closeSync, openSync, readSync } from 'node:fs';

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
  const parts = [...b].map((x) => x.toString(16).padStart(2, '0'));
  if (prefix) prefix.toLowerCase().split(':').forEach((p, i) => (parts[i] = p));
  return parts.join(':');
}

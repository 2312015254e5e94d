/** MAC addresses: random locally administered unicast ones, for veths, bridges and VTEPs. */
import { randomBytes } from 'node:crypto';

/** A random locally administered unicast MAC; `prefix` ("0a:58") fixes its first bytes. */
export function randomMac(prefix?: string): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  const parts = [...b].map((x) => x.toString(16).padStart(2, '0'));
  if (prefix) prefix.toLowerCase().split(':').forEach((p, i) => (parts[i] = p));
  return parts.join(':');
}

/**
 * The names twill derives from an attachment (containerID, ifName): the host veth's name and the
 * file of a release queued for the daemon. They must differ between attachments on one host and
 * be the same every time for one attachment; they need not be secret, so the hash is a fast
 * non-cryptographic one (cyrb53's mixing: two 32-bit multiply-xorshift lanes), computed over
 * "containerID\0ifName" with a few seeds for more bits. sha256 in JavaScript cost the plugin ~1 ms
 * per call on its first use (node:crypto ~7 ms to load).
 */

/** 52 bits of the hash of `text` under `seed`, as a number. */
function hash52(text: string, seed: number): number {
  let a = 0xdeadbeef ^ seed;
  let b = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  return (b & 0xfffff) * 0x100000000 + (a >>> 0);
}

/** 39 hex digits (156 bits, three seeds) identifying "containerID\0ifName"; callers take a prefix. */
export function attachmentHash(containerID: string, ifName: string): string {
  const text = `${containerID}\u0000${ifName}`;
  let hex = '';
  for (let seed = 0; seed < 3; seed++) hex += hash52(text, seed).toString(16).padStart(13, '0');
  return hex;
}

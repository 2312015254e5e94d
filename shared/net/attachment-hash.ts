/**
 * The names twill derives from an attachment (containerID, ifName): sha256 over both, NUL
 * between, in hex. Computed with @noble/hashes rather than node:crypto, whose first digest costs
 * the plugin ~7 ms (loading the crypto modules and OpenSSL's providers) on every pod.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** Hex sha256 of "containerID\0ifName". */
export function attachmentHash(containerID: string, ifName: string): string {
  return bytesToHex(sha256(utf8ToBytes(`${containerID}\u0000${ifName}`)));
}

/**
 * The host-side veth of an attachment: "veth" + 11 hex digits of its hash. The plugin and the
 * daemon (which deletes it for DEL) derive it alike; DEL, CHECK and GC need no stored state.
 */
export function hostVethName(containerID: string, ifName: string): string {
  return 'veth' + attachmentHash(containerID, ifName).slice(0, 11);
}

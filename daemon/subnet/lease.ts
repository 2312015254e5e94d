/**
 * A subnet lease as flannel stores it: key `<prefix>/subnets/10.5.34.0-24`, value
 * `{"PublicIP":"…","BackendType":"vxlan","BackendData":{…}}`. Values from etcd are untrusted:
 * decodeLease validates them and says why one is skipped.
 */
import { ajvErrorsText } from '../../shared/config/ajv-errors.js';
import type { Validator } from '../../shared/config/validator.js';
import { type Cidr, isIp, parseSubnetKey } from '../../shared/ip/cidr.js';
import { validateLeaseAttrs } from '../config/validators.js';

/** The lease value, flannel's JSON field names. */
export interface LeaseAttrs {
  PublicIP: string;
  BackendType: string;
  BackendData: unknown;
}

/** A lease read from or written to the registry. */
export interface Lease {
  subnet: Cidr;
  attrs: LeaseAttrs;
  /** Epoch ms when the etcd lease expires, 0 when not known (leases of other hosts). */
  expiresAt: number;
  /** The etcd lease id holding the key, as a decimal string ('' when none). */
  leaseId: string;
}

/** Largest lease value accepted; flannel's are ~150 bytes. */
export const MAX_LEASE_VALUE_BYTES = 16 * 1024;

/** Compiled from leaseAttrsSchema at build time (daemon/config/validators.js). */
const validateAttrs = validateLeaseAttrs as Validator<LeaseAttrs>;

/** The outcome of decoding one key/value pair. */
export type DecodedLease = { ok: true; lease: Lease } | { ok: false; key: string; reason: string };

/** Decodes a subnet key suffix ("10.5.34.0-24") and its JSON value. */
export function decodeLease(keySuffix: string, value: Buffer | string, leaseId = '', expiresAt = 0): DecodedLease {
  const bad = (reason: string): DecodedLease => ({ ok: false, key: keySuffix, reason });
  let subnet: Cidr;
  try {
    subnet = parseSubnetKey(keySuffix);
  } catch (e) {
    return bad((e as Error).message);
  }
  const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (size > MAX_LEASE_VALUE_BYTES) return bad(`value is ${size} bytes, over the ${MAX_LEASE_VALUE_BYTES}-byte limit`);
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString());
  } catch {
    return bad('value is not valid JSON');
  }
  if (!validateAttrs(raw)) return bad(`value is not a lease: ${ajvErrorsText(validateAttrs.errors)}`);
  if (!isIp(raw.PublicIP)) return bad(`PublicIP ${JSON.stringify(raw.PublicIP)} is not an IPv4 address`);
  const attrs: LeaseAttrs = { PublicIP: raw.PublicIP, BackendType: raw.BackendType ?? '', BackendData: raw.BackendData ?? null };
  return { ok: true, lease: { subnet, attrs, leaseId, expiresAt } };
}

/** Serialises lease attrs exactly as flannel does (field order PublicIP, BackendType, BackendData). */
export function encodeLeaseAttrs(a: LeaseAttrs): string {
  return JSON.stringify({ PublicIP: a.PublicIP, BackendType: a.BackendType, BackendData: a.BackendData ?? null });
}

/** True when two leases would program the kernel the same way. */
export function sameAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return encodeLeaseAttrs(a) === encodeLeaseAttrs(b);
}

/**
 * A subnet lease as flannel stores it: key `<prefix>/subnets/10.5.34.0-24`, value
 * `{"PublicIP":"…","PublicIPv6":null,"BackendType":"vxlan","BackendData":{…}}`. Values from etcd are untrusted:
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

/**
 * Backends whose leases flannel writes without a BackendType: its udp and alloc backends
 * (pkg/backend/udp, pkg/backend/alloc `RegisterNetwork`) fill in only PublicIP.
 */
const UNTYPED_IN_FLANNEL: ReadonlySet<string> = new Set(['udp', 'alloc']);

/**
 * Serialises lease attrs byte for byte as flannel marshals its LeaseAttrs (pkg/lease): PublicIP,
 * then PublicIPv6 (always present, null: twill is IPv4 only), then BackendType and BackendData only
 * when set (`omitempty`). So host-gw leases carry no BackendData, and udp and alloc leases neither
 * BackendType nor BackendData. Values twill wrote before (`"BackendData":null`, a udp or alloc
 * BackendType) decode to attrs that encode the same way.
 */
export function encodeLeaseAttrs(a: LeaseAttrs): string {
  const value: { PublicIP: string; PublicIPv6: null; BackendType?: string; BackendData?: unknown } = { PublicIP: a.PublicIP, PublicIPv6: null };
  if (a.BackendType !== '' && !UNTYPED_IN_FLANNEL.has(a.BackendType)) value.BackendType = a.BackendType;
  if (a.BackendData !== null && a.BackendData !== undefined) value.BackendData = a.BackendData;
  return JSON.stringify(value);
}

/** True when two leases would program the kernel the same way. */
export function sameAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return encodeLeaseAttrs(a) === encodeLeaseAttrs(b);
}

/**
 * The storage port of the subnet manager (flannel pkg/subnet/etcd/registry.go): keys, TTLs and
 * create-if-absent, nothing about policy. EtcdSubnetRegistry is the real one; MemorySubnetRegistry
 * drives unit tests of the policy.
 */
import type { Cidr } from '../../shared/ip/cidr.js';
import type { DecodedLease, Lease, LeaseAttrs } from './lease.js';

/** A consistent snapshot of every lease at one etcd revision. */
export interface LeaseSnapshot {
  leases: Lease[];
  /** Entries that could not be decoded (hostile or malformed values), to be logged and skipped. */
  skipped: Array<Extract<DecodedLease, { ok: false }>>;
  revision: bigint;
}

/** One change seen by a watch. `decoded` is set for puts. */
export interface RegistryEvent {
  type: 'put' | 'delete';
  key: string;
  decoded?: DecodedLease;
}

/** A batch of changes at one revision. */
export interface RegistryWatchBatch {
  events: RegistryEvent[];
  revision: bigint;
  /**
   * Set on the batch that confirms a watch is in place (the first of each watch, with no events):
   * the server that holds it, e.g. "m1 http://10.0.0.2:2379" for an etcd member.
   */
  servedBy?: string;
}

export interface SubnetRegistry {
  /** The text at `<prefix>/config`, or null when the key is missing. */
  getNetworkConfig(): Promise<string | null>;
  putNetworkConfig(text: string): Promise<void>;
  /**
   * The text at `<prefix>/config` now (null when the key is missing), then again at every change,
   * until `signal` aborts. The iterator throws when the watch breaks; the caller starts again and
   * gets the text as it is then.
   */
  watchNetworkConfig(signal: AbortSignal): AsyncIterable<string | null>;
  listLeases(): Promise<LeaseSnapshot>;
  /** Creates the key only if it does not exist; throws SubnetTakenError otherwise. */
  createLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number): Promise<Lease>;
  /**
   * Rewrites the key under a fresh TTL (renewal, or new backend data), only while it is still
   * attached to `previousLeaseId`; otherwise (expired, deleted, taken over) throws LeaseLostError.
   */
  updateLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number, previousLeaseId: string): Promise<Lease>;
  /**
   * Writes our value back over one that overwrote it, under a fresh TTL, only while the key is still
   * attached to `heldBy` (the etcd lease of the value seen, '0' for none); then revokes `ownLeaseId`,
   * which no longer holds the key. Throws LeaseLostError when the key changed since.
   */
  takeBackLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number, heldBy: string, ownLeaseId: string): Promise<Lease>;
  deleteLease(subnet: Cidr): Promise<void>;
  /**
   * Deletes the key only while it is still attached to `leaseId` (a stale lease as it was listed,
   * never one renewed or re-created since); false when it no longer is.
   */
  deleteLeaseIf(subnet: Cidr, leaseId: string): Promise<boolean>;
  /**
   * Changes after `afterRevision`, after a first batch that confirms the watch is in place
   * (`servedBy`). The iterator throws when the watch breaks (disconnect, compaction); the caller
   * resyncs from a fresh snapshot.
   */
  watchLeases(afterRevision: bigint, signal: AbortSignal): AsyncIterable<RegistryWatchBatch>;
  close(): Promise<void>;
}

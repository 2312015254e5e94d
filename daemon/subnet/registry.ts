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
  listLeases(): Promise<LeaseSnapshot>;
  /** Creates the key only if it does not exist; throws SubnetTakenError otherwise. */
  createLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number): Promise<Lease>;
  /**
   * Rewrites the key under a fresh TTL (renewal, or new backend data), only while it is still
   * attached to `previousLeaseId`; otherwise (expired, deleted, taken over) throws LeaseLostError.
   */
  updateLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number, previousLeaseId: string): Promise<Lease>;
  deleteLease(subnet: Cidr): Promise<void>;
  /**
   * Changes after `afterRevision`, after a first batch that confirms the watch is in place
   * (`servedBy`). The iterator throws when the watch breaks (disconnect, compaction); the caller
   * resyncs from a fresh snapshot.
   */
  watchLeases(afterRevision: bigint, signal: AbortSignal): AsyncIterable<RegistryWatchBatch>;
  close(): Promise<void>;
}

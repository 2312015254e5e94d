/**
 * MemorySubnetRegistry: an in-memory SubnetRegistry with etcd's semantics (revisions,
 * create-if-absent, TTL expiry as deletes, watches that can be broken on purpose). For unit
 * tests of the subnet manager and the lease watcher; the etcd registry is tested against a real etcd.
 */
import { EtcdUnavailableError, LeaseLostError, SubnetTakenError } from '../../shared/errors.js';
import { type Cidr, subnetKeyOf } from '../../shared/ip/cidr.js';
import { decodeLease, encodeLeaseAttrs, type Lease, type LeaseAttrs } from './lease.js';
import type { LeaseSnapshot, RegistryEvent, RegistryWatchBatch, SubnetRegistry } from './registry.js';
import { WatchQueue } from './watch-queue.js';

interface Entry {
  value: string;
  leaseId: string;
  expiresAt: number;
  timer?: NodeJS.Timeout;
}

export class MemorySubnetRegistry implements SubnetRegistry {
  private config: string | null = null;
  private readonly entries = new Map<string, Entry>();
  private revision = 1n;
  private nextLeaseId = 100;
  private readonly listeners = new Set<(b: RegistryWatchBatch | Error) => void>();
  private readonly configListeners = new Set<(text: string | null | Error) => void>();
  /** Every change, so a watch can start from a past revision as etcd's does. */
  private readonly history: RegistryWatchBatch[] = [];

  async getNetworkConfig(): Promise<string | null> {
    return this.config;
  }

  async putNetworkConfig(text: string): Promise<void> {
    this.config = text;
    this.revision++;
    for (const l of this.configListeners) l(text);
  }

  /** Deletes the network config key, as `etcdctl del <prefix>/config` would. */
  deleteNetworkConfig(): void {
    this.config = null;
    this.revision++;
    for (const l of this.configListeners) l(null);
  }

  watchNetworkConfig(signal: AbortSignal): AsyncIterable<string | null> {
    const queue = new WatchQueue<string | null>([this.config]);
    const listener = (t: string | null | Error): void => queue.push(t);
    this.configListeners.add(listener);
    return queue.drain(signal, () => void this.configListeners.delete(listener));
  }

  /** Writes a raw key/value as a foreign host (or an attacker) would. */
  putRaw(key: string, value: string, ttlS = 0): void {
    this.set(key, value, ttlS);
  }

  private set(key: string, value: string, ttlS: number): Entry {
    const old = this.entries.get(key);
    if (old?.timer) clearTimeout(old.timer);
    const e: Entry = { value, leaseId: String(this.nextLeaseId++), expiresAt: ttlS > 0 ? Date.now() + ttlS * 1000 : 0 };
    if (ttlS > 0) {
      e.timer = setTimeout(() => this.remove(key), ttlS * 1000);
      e.timer.unref();
    }
    this.entries.set(key, e);
    this.emit([{ type: 'put', key, decoded: decodeLease(key, value, e.leaseId, e.expiresAt) }]);
    return e;
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.timer) clearTimeout(e.timer);
    this.entries.delete(key);
    this.emit([{ type: 'delete', key }]);
  }

  private emit(events: RegistryEvent[]): void {
    this.revision++;
    const batch = { events, revision: this.revision };
    this.history.push(batch);
    for (const l of this.listeners) l(batch);
  }

  /** Breaks every open watch, as a disconnect or a compaction would. */
  breakWatches(reason = 'watch broken'): void {
    for (const l of this.listeners) l(new EtcdUnavailableError(reason));
    for (const l of this.configListeners) l(new EtcdUnavailableError(reason));
  }

  async listLeases(): Promise<LeaseSnapshot> {
    const snap: LeaseSnapshot = { leases: [], skipped: [], revision: this.revision };
    for (const [key, e] of this.entries) {
      const d = decodeLease(key, e.value, e.leaseId, e.expiresAt);
      if (d.ok) snap.leases.push(d.lease);
      else snap.skipped.push(d);
    }
    return snap;
  }

  async createLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number): Promise<Lease> {
    const key = subnetKeyOf(subnet);
    if (this.entries.has(key)) throw new SubnetTakenError(`subnet ${key} is already leased`);
    const e = this.set(key, encodeLeaseAttrs(attrs), ttlS);
    return { subnet, attrs, leaseId: e.leaseId, expiresAt: e.expiresAt };
  }

  async updateLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number, previousLeaseId: string): Promise<Lease> {
    const key = subnetKeyOf(subnet);
    if (this.entries.get(key)?.leaseId !== previousLeaseId) throw new LeaseLostError(`lease ${key} is gone or no longer ours`);
    const e = this.set(key, encodeLeaseAttrs(attrs), ttlS);
    return { subnet, attrs, leaseId: e.leaseId, expiresAt: e.expiresAt };
  }

  async takeBackLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number, heldBy: string): Promise<Lease> {
    return this.updateLease(subnet, attrs, ttlS, heldBy);
  }

  async deleteLease(subnet: Cidr): Promise<void> {
    this.remove(subnetKeyOf(subnet));
  }

  async deleteLeaseIf(subnet: Cidr, leaseId: string): Promise<boolean> {
    const key = subnetKeyOf(subnet);
    if (this.entries.get(key)?.leaseId !== leaseId) return false;
    this.remove(key);
    return true;
  }

  watchLeases(afterRevision: bigint, signal: AbortSignal): AsyncIterable<RegistryWatchBatch> {
    const queue = new WatchQueue([{ events: [], revision: this.revision, servedBy: 'memory' }, ...this.history.filter((b) => b.revision > afterRevision)]);
    const listener = (b: RegistryWatchBatch | Error): void => queue.push(b);
    this.listeners.add(listener);
    return queue.drain(signal, () => void this.listeners.delete(listener));
  }

  async close(): Promise<void> {
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
  }
}

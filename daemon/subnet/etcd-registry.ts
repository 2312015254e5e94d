/**
 * EtcdSubnetRegistry: flannel's etcd v3 layout. `<prefix>/config` holds the network config;
 * `<prefix>/subnets/<ip>-<len>` holds each lease, attached to an etcd lease with a TTL.
 * Creation is a transaction "create revision == 0" so two hosts can never hold one subnet.
 * etcd client errors are cast once, by etcd-errors.ts.
 */
import { Etcd3, type IWatchResponse } from 'etcd3';
import { AppError, EtcdUnavailableError, LeaseLostError, SubnetTakenError } from '../../shared/errors.js';
import { type Cidr, subnetKeyOf } from '../../shared/ip/cidr.js';
import { decodeLease, encodeLeaseAttrs, type Lease, type LeaseAttrs } from './lease.js';
import type { LeaseSnapshot, RegistryEvent, RegistryWatchBatch, SubnetRegistry } from './registry.js';
import { EtcdMemberNames } from './etcd-members.js';
import { etcdClientOptions, type EtcdOptions, etcdTlsFiles } from './etcd-options.js';
import { type EtcdTlsFiles, tlsProblem } from './etcd-tls-check.js';
import { WatchQueue } from './watch-queue.js';
import { castEtcdError, isUnreachable, untilStopped } from './etcd-errors.js';

/** The SubnetRegistry on etcd v3, in flannel's key layout. */
export class EtcdSubnetRegistry implements SubnetRegistry {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly members: EtcdMemberNames;

  /** For naming a TLS problem when etcd cannot be reached. */
  private readonly tls: { endpoints: string[]; files: EtcdTlsFiles } | null;

  /**
   * `stop`: the daemon is stopping; every call then ends at once with AbortedError (as flannel
   * closes its etcd client when its context is done).
   */
  constructor(opts: EtcdOptions, private readonly stop?: AbortSignal) {
    this.prefix = opts.prefix.replace(/\/+$/, '');
    const files = etcdTlsFiles(opts);
    this.tls = files && { endpoints: opts.endpoints, files };
    this.client = new Etcd3(etcdClientOptions(opts, files));
    this.members = new EtcdMemberNames(this.client);
  }

  private get subnetsPrefix(): string {
    return `${this.prefix}/subnets/`;
  }

  private keyOf(subnet: Cidr): string {
    return this.subnetsPrefix + subnetKeyOf(subnet);
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await (this.stop ? untilStopped(fn(), this.stop, what) : fn());
    } catch (e) {
      throw castEtcdError(e, what, await this.tlsProblem(e));
    }
  }

  /** For an unreachable etcd over TLS: what the first endpoint refusing the handshake says. */
  private async tlsProblem(e: unknown): Promise<string | null> {
    if (!this.tls || e instanceof AppError || !isUnreachable(e)) return null;
    for (const endpoint of this.tls.endpoints) {
      const why = await tlsProblem(endpoint, this.tls.files);
      if (why) return why;
    }
    return null;
  }

  getNetworkConfig(): Promise<string | null> {
    return this.guard('reading the network config', () => this.client.get(`${this.prefix}/config`).string());
  }

  async putNetworkConfig(text: string): Promise<void> {
    await this.guard('writing the network config', () => this.client.put(`${this.prefix}/config`).value(text).exec());
  }

  async listLeases(): Promise<LeaseSnapshot> {
    const res = await this.guard('listing leases', () => this.client.getAll().prefix(this.subnetsPrefix).exec());
    const snap: LeaseSnapshot = { leases: [], skipped: [], revision: BigInt(res.header.revision) };
    for (const kv of res.kvs) {
      const d = decodeLease(kv.key.toString().slice(this.subnetsPrefix.length), kv.value, kv.lease);
      if (d.ok) snap.leases.push(d.lease);
      else snap.skipped.push(d);
    }
    return snap;
  }

  private async grant(ttlS: number): Promise<string> {
    const res = await this.client.leaseClient.leaseGrant({ TTL: ttlS, ID: 0 });
    return String(res.ID);
  }

  async createLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number): Promise<Lease> {
    const key = this.keyOf(subnet);
    return this.guard('creating a lease', async () => {
      const leaseId = await this.grant(ttlS);
      const res = await this.client
        .if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(encodeLeaseAttrs(attrs)).lease(leaseId))
        .commit();
      if (!res.succeeded) {
        await this.client.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
        throw new SubnetTakenError(`subnet ${subnetKeyOf(subnet)} is already leased`);
      }
      return { subnet, attrs, leaseId, expiresAt: Date.now() + ttlS * 1000 };
    });
  }

  async updateLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number, previousLeaseId: string): Promise<Lease> {
    const key = this.keyOf(subnet);
    return this.guard('renewing a lease', async () => {
      const leaseId = await this.grant(ttlS);
      // Only while the key is still ours: a late renewal must never overwrite a subnet that expired
      // and was taken by another host meanwhile.
      const res = await this.client
        .if(key, 'Lease', '==', previousLeaseId || '0')
        .and(key, 'Create', '>', 0)
        .then(this.client.put(key).value(encodeLeaseAttrs(attrs)).lease(leaseId))
        .commit();
      if (!res.succeeded) {
        await this.client.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
        throw new LeaseLostError(`lease ${subnetKeyOf(subnet)} is gone or no longer ours`);
      }
      if (previousLeaseId && previousLeaseId !== '0' && previousLeaseId !== leaseId) {
        // The key no longer uses the old etcd lease; revoke it so it does not linger until its TTL.
        await this.client.leaseClient.leaseRevoke({ ID: previousLeaseId }).catch(() => undefined);
      }
      return { subnet, attrs, leaseId, expiresAt: Date.now() + ttlS * 1000 };
    });
  }

  async deleteLease(subnet: Cidr): Promise<void> {
    await this.guard('deleting a lease', () => this.client.delete().key(this.keyOf(subnet)).exec());
  }

  /** Seconds left on an etcd lease, or -1 when it has none or it is gone. */
  async timeToLive(leaseId: string): Promise<number> {
    if (!leaseId || leaseId === '0') return -1;
    const res = await this.guard('reading a lease TTL', () => this.client.leaseClient.leaseTimeToLive({ ID: leaseId, keys: false }));
    return Number(res.TTL);
  }

  watchLeases(afterRevision: bigint, signal: AbortSignal): AsyncIterable<RegistryWatchBatch> {
    const queue = new WatchQueue();
    // Pushed in the order they came, though the confirmation first looks its member's name up.
    let pushed = Promise.resolve();
    const push = (item: () => RegistryWatchBatch | Error | Promise<RegistryWatchBatch>): void => {
      pushed = pushed.then(async () => queue.push(await item()));
    };
    const watcher = this.client.watch().prefix(this.subnetsPrefix).startRevision(String(afterRevision + 1n)).watcher();
    watcher.on('connected', (res: IWatchResponse) => push(async () => ({
      events: [], revision: BigInt(res.header.revision), servedBy: await this.members.nameOf(res.header.member_id),
    })));
    watcher.on('data', (res: IWatchResponse) => push(() => {
      const events: RegistryEvent[] = res.events.map((ev) => {
        const key = ev.kv.key.toString().slice(this.subnetsPrefix.length);
        return ev.type === 'Put'
          ? { type: 'put', key, decoded: decodeLease(key, ev.kv.value, ev.kv.lease) }
          : { type: 'delete', key };
      });
      return { events, revision: BigInt(res.header.revision) };
    }));
    // A broken stream (etcd gone, a dead connection closed by keepalive) is never a refusal.
    watcher.on('disconnected', (e: Error) => push(() => new EtcdUnavailableError(`etcd unavailable while watching leases: ${e.message}`, { cause: e })));
    watcher.on('error', (e: Error) => push(() => castEtcdError(e, 'watching leases')));
    // Not waited for: the cancellation travels on the watch's connection, which may be dead.
    return queue.drain(signal, () => void watcher.cancel().catch(() => undefined));
  }

  async close(): Promise<void> {
    this.client.close();
  }

  // Added for the lease policy (issue #20 items 3, 4, 11): conditional writes on our own and stale
  // leases, and the watch of the network config.

  async takeBackLease(subnet: Cidr, attrs: LeaseAttrs, ttlS: number, heldBy: string, ownLeaseId: string): Promise<Lease> {
    const key = this.keyOf(subnet);
    return this.guard('taking our lease back', async () => {
      const leaseId = await this.grant(ttlS);
      const res = await this.client
        .if(key, 'Lease', '==', heldBy || '0')
        .and(key, 'Create', '>', 0)
        .then(this.client.put(key).value(encodeLeaseAttrs(attrs)).lease(leaseId))
        .commit();
      if (!res.succeeded) {
        await this.client.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
        throw new LeaseLostError(`lease ${subnetKeyOf(subnet)} changed again before it could be taken back`);
      }
      // Our old etcd lease holds nothing now; the one of the value we replaced is not ours to revoke.
      if (ownLeaseId && ownLeaseId !== '0' && ownLeaseId !== leaseId) {
        await this.client.leaseClient.leaseRevoke({ ID: ownLeaseId }).catch(() => undefined);
      }
      return { subnet, attrs, leaseId, expiresAt: Date.now() + ttlS * 1000 };
    });
  }

  async *watchNetworkConfig(signal: AbortSignal): AsyncIterable<string | null> {
    const key = `${this.prefix}/config`;
    const now = await this.guard('reading the network config', () => this.client.get(key).exec());
    yield now.kvs[0]?.value.toString() ?? null;
    const queue = new WatchQueue<string | null>();
    const watcher = this.client.watch().key(key).startRevision(String(BigInt(now.header.revision) + 1n)).watcher();
    watcher.on('put', (kv) => queue.push(kv.value.toString()));
    watcher.on('delete', () => queue.push(null));
    watcher.on('disconnected', (e: Error) => queue.push(castEtcdError(e, 'watching the network config')));
    watcher.on('error', (e: Error) => queue.push(castEtcdError(e, 'watching the network config')));
    yield* queue.drain(signal, () => watcher.cancel().catch(() => undefined));
  }

  async deleteLeaseIf(subnet: Cidr, leaseId: string): Promise<boolean> {
    const key = this.keyOf(subnet);
    return this.guard('deleting a stale lease', async () => {
      const res = await this.client
        .if(key, 'Lease', '==', leaseId || '0')
        .and(key, 'Create', '>', 0)
        .then(this.client.delete().key(key))
        .commit();
      return res.succeeded;
    });
  }
}

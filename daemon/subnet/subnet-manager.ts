/**
 * LocalSubnetManager: the lease policy over any SubnetRegistry (flannel local_manager.go).
 * Reads the network config (waiting while it is missing or invalid), acquires a lease with the
 * plan from allocate-subnet.ts, retrying lost create races, and renews it before it expires.
 */
import { type NetConfig, parseNetConfig } from '../config/net-config.js';
import { AbortedError, AppError, describeError, EtcdRefusedError, SubnetTakenError } from '../../shared/errors.js';
import { type Cidr, formatCidr } from '../../shared/ip/cidr.js';
import type { Logger } from '../logger.js';
import { Backoff, sleep } from '../sleep.js';
import { planAcquire } from './allocate-subnet.js';
import { watchConfigChanges } from './config-watch.js';
import type { Lease, LeaseAttrs } from './lease.js';
import { LeaseWatcher } from './lease-watcher.js';
import type { LeaseSnapshot, SubnetRegistry } from './registry.js';

/** flannel's subnet lease TTL: 24 h. */
export const LEASE_TTL_S = 24 * 60 * 60;
/** Attempts at a create transaction before giving up on one acquire call. */
const MAX_CREATE_ATTEMPTS = 50;

/**
 * What an acquisition does with the other leases carrying our PublicIP (allocate-subnet.ts):
 * 'delete' them (at start: they are this host's earlier lives), or 'keep' them and warn (while
 * running: deleting could start a fight with a second live host that shares our address).
 */
export type StaleLeases = 'delete' | 'keep';

export interface SubnetManagerOptions {
  ttlS?: number;
  /** Renew this long before expiry (flannel --subnet-lease-renew-margin, minutes → s). */
  renewMarginS?: number;
  configPollMs?: number;
}

/** The lease policy (config, acquire, renew) over a SubnetRegistry. */
export class LocalSubnetManager {
  readonly ttlS: number;
  readonly renewMarginS: number;
  private readonly configPollMs: number;

  constructor(private readonly registry: SubnetRegistry, private readonly log: Logger, opts: SubnetManagerOptions = {}) {
    this.ttlS = opts.ttlS ?? LEASE_TTL_S;
    this.renewMarginS = opts.renewMarginS ?? 60 * 60;
    this.configPollMs = opts.configPollMs ?? 1000;
  }

  /**
   * Reads and checks `<prefix>/config`, waiting (and saying why) while it is missing or invalid, or
   * etcd cannot be reached (then with a growing delay). Throws what waiting cannot cure (etcd
   * refusing the read), and AbortedError when `signal` fires.
   */
  async getNetworkConfig(signal: AbortSignal): Promise<NetConfig> {
    let lastProblem = '';
    const backoff = new Backoff(this.configPollMs, 10_000);
    for (;;) {
      if (signal.aborted) throw new AbortedError('aborted while waiting for the network config');
      let problem: string;
      let delayMs = this.configPollMs;
      try {
        const text = await this.registry.getNetworkConfig();
        if (text !== null) {
          const cfg = parseNetConfig(text);
          if (cfg.unknownFields.length) this.log.warn({ fields: cfg.unknownFields }, 'network config has fields twill does not use');
          return cfg;
        }
        problem = 'network config key is missing; write it with `twilld config put` or etcdctl put <prefix>/config';
      } catch (e) {
        if (e instanceof EtcdRefusedError || e instanceof AbortedError) throw e;
        if (e instanceof AppError && e.retryable) delayMs = backoff.next();
        problem = describeError(e);
      }
      if (problem !== lastProblem) this.log.warn({ problem }, 'waiting for a valid network config');
      lastProblem = problem;
      await sleep(delayMs, signal);
    }
  }

  /** Logs every change of `<prefix>/config` against `running` until `signal` aborts (config-watch.ts). */
  watchConfigChanges(running: NetConfig, signal: AbortSignal): Promise<void> {
    return watchConfigChanges(this.registry, running, this.log, signal);
  }

  /**
   * Acquires a lease (one attempt at the policy, create races retried). `onSnapshot` receives the
   * lease listing the decision was made on, so a watcher can start from it instead of listing again.
   * The other leases carrying our PublicIP are deleted or kept as `staleLeases` says.
   */
  async acquireLease(
    cfg: NetConfig, attrs: LeaseAttrs, previous: Cidr | null, signal?: AbortSignal, onSnapshot?: (s: LeaseSnapshot) => void, staleLeases: StaleLeases = 'delete',
  ): Promise<Lease> {
    for (let attempt = 1; ; attempt++) {
      const snap = await this.registry.listLeases();
      onSnapshot?.(snap);
      const plan = planAcquire(cfg, snap.leases, attrs.PublicIP, previous);
      if (plan.kind === 'reuse') {
        const lease = await this.registry.updateLease(plan.lease.subnet, attrs, this.ttlS, plan.lease.leaseId);
        this.log.info({ subnet: formatCidr(lease.subnet), publicIp: attrs.PublicIP }, 'lease reused');
        await this.handleStale(lease, plan.stale, staleLeases);
        return lease;
      }
      try {
        const lease = await this.registry.createLease(plan.subnet, attrs, this.ttlS);
        this.log.info({ subnet: formatCidr(lease.subnet), publicIp: attrs.PublicIP }, 'lease acquired');
        await this.handleStale(lease, plan.stale, staleLeases);
        return lease;
      } catch (e) {
        if (!(e instanceof SubnetTakenError) || attempt >= MAX_CREATE_ATTEMPTS || signal?.aborted) throw e;
        this.log.debug({ subnet: formatCidr(plan.subnet), attempt }, 'lost a create race, retrying');
        await sleep(Math.floor(Math.random() * 20 * Math.min(attempt, 5)), signal);
      }
    }
  }

  /**
   * The other leases carrying our PublicIP, once `ours` is held: deleted (each only as it was listed,
   * so a lease renewed or re-created since is left alone) or kept with a warning. A delete etcd cannot
   * take now is only logged: the lease expires by itself.
   */
  private async handleStale(ours: Lease, stale: readonly Lease[], what: StaleLeases): Promise<void> {
    for (const l of stale) {
      const fields = { stale: formatCidr(l.subnet), publicIp: l.attrs.PublicIP, subnet: formatCidr(ours.subnet) };
      if (what === 'keep') {
        this.log.warn(fields, 'another lease carries our PublicIP; kept: if a second host uses this address, fix --iface/--public-ip');
        continue;
      }
      try {
        if (await this.registry.deleteLeaseIf(l.subnet, l.leaseId)) this.log.warn(fields, 'deleted a stale lease carrying our PublicIP');
        else this.log.info(fields, 'a stale lease carrying our PublicIP changed since it was listed; left alone');
      } catch (e) {
        this.log.warn({ ...fields, err: describeError(e) }, 'cannot delete a stale lease carrying our PublicIP; it expires by itself');
      }
    }
  }

  /** Acquires a lease, retrying retryable failures (etcd away, network full) until it works or `signal` aborts. */
  async acquireLeaseRetrying(
    cfg: NetConfig, attrs: LeaseAttrs, previous: Cidr | null, signal: AbortSignal, onSnapshot?: (s: LeaseSnapshot) => void, staleLeases: StaleLeases = 'delete',
  ): Promise<Lease> {
    const backoff = new Backoff(1000, 30_000);
    for (;;) {
      try {
        return await this.acquireLease(cfg, attrs, previous, signal, onSnapshot, staleLeases);
      } catch (e) {
        if (signal.aborted || !(e instanceof AppError && e.retryable)) throw e;
        this.log.error({ err: describeError(e), hint: e.hint }, 'cannot acquire a lease, retrying');
        await sleep(backoff.next(), signal);
      }
    }
  }

  /**
   * A watcher of every lease of the network (flannel's WatchLeases), starting from `listing` (the one
   * an acquisition was decided on) when given; `self` is this host's PublicIP and subnet.
   */
  watchLeases(cfg: NetConfig, self: () => { publicIp: string; subnet: Cidr }, listing: LeaseSnapshot | null, log: Logger): LeaseWatcher {
    const watcher = new LeaseWatcher(this.registry, cfg, log, self);
    watcher.startFrom(listing);
    return watcher;
  }

  /** Rewrites our lease under a fresh TTL. */
  renewLease(lease: Lease, attrs: LeaseAttrs = lease.attrs): Promise<Lease> {
    return this.registry.updateLease(lease.subnet, attrs, this.ttlS, lease.leaseId);
  }

  /**
   * Writes `own` back over a value that overwrote it (attached to etcd lease `heldBy`), under a
   * fresh TTL; LeaseLostError when the key changed again since.
   */
  takeBackLease(own: Lease, heldBy: string): Promise<Lease> {
    return this.registry.takeBackLease(own.subnet, own.attrs, this.ttlS, heldBy, own.leaseId);
  }

  /** When to renew a lease expiring at `expiresAt`: margin before expiry, or half-way for short TTLs. */
  renewAt(lease: Lease): number {
    const margin = this.renewMarginS * 1000 < this.ttlS * 1000 ? this.renewMarginS * 1000 : (this.ttlS * 1000) / 2;
    return lease.expiresAt - margin;
  }
}

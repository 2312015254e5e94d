/**
 * Keeps this host's lease (flannel's LocalManager.CompleteLease, with twill's re-acquisition and
 * defence): renews it before it expires; when it is gone (expired during an etcd outage, deleted,
 * no longer ours), takes it back, the same subnet while that is free, instead of exiting; when its
 * value is overwritten (another PublicIP or backend data), writes ours back at once. The lease is
 * lost for good when its subnet went to another host, it cannot be taken back, or another writer
 * keeps overwriting it; `keep` then ends with 'lost', for the daemon to stop. The lease as it
 * stands is read here and nowhere else.
 */
import type { NetConfig } from '../config/net-config.js';
import { AppError, describeError, LeaseLostError } from '../../shared/errors.js';
import { cidrEquals, formatCidr } from '../../shared/ip/cidr.js';
import type { Logger } from '../logger.js';
import { Backoff, sleep } from '../sleep.js';
import { type Lease, sameAttrs } from './lease.js';
import type { LocalSubnetManager } from './subnet-manager.js';

/** This host's lease as it stands: what the rest of the daemon may read of the LeaseKeeper. */
export interface OwnLease {
  /** The lease as last acquired, renewed or taken back. */
  readonly current: Lease;
  /** False once the lease is lost for good. */
  readonly held: boolean;
}

/** How keeping the lease ended: stopped by the caller, or lost for good. */
export type LeaseEnd = 'stopped' | 'lost';

/**
 * Overwrites of our key taken back within TAKE_BACK_WINDOW_MS; at the next one the keeper gives the
 * lease up: another writer is defending the key too, and a fight would flap every peer's routes.
 */
export const MAX_TAKE_BACKS = 3;
/** The window MAX_TAKE_BACKS counts in. */
export const TAKE_BACK_WINDOW_MS = 60_000;

/** Holds, renews, re-acquires and defends this host's lease; see the file's header. */
export class LeaseKeeper implements OwnLease {
  private lease: Lease;
  private reacquiring: Promise<void> | null = null;
  /** Take-backs run one after another, in the order the overwrites were seen. */
  private reclaiming: Promise<void> = Promise.resolve();
  /** When each recent overwrite was taken back. */
  private takenBackAt: number[] = [];
  private readonly lost = new AbortController();

  constructor(private readonly subnets: LocalSubnetManager, private readonly cfg: NetConfig, lease: Lease, private readonly log: Logger) {
    this.lease = lease;
  }

  get current(): Lease {
    return this.lease;
  }

  get held(): boolean {
    return !this.lost.signal.aborted;
  }

  /**
   * Renews the lease before each expiry until `signal` aborts ('stopped') or the lease is lost
   * ('lost'). A renewal etcd cannot take now is retried with a growing delay; one it refuses is
   * thrown.
   */
  async keep(signal: AbortSignal): Promise<LeaseEnd> {
    const stop = AbortSignal.any([signal, this.lost.signal]);
    const backoff = new Backoff(1000, 10_000);
    while (!stop.aborted) {
      const wait = Math.max(0, this.subnets.renewAt(this.lease) - Date.now());
      await sleep(Math.min(wait, 2 ** 31 - 1), stop);
      if (stop.aborted) break;
      if (this.subnets.renewAt(this.lease) > Date.now()) continue; // re-acquired meanwhile
      const renewing = this.lease;
      try {
        const renewed = await this.subnets.renewLease(renewing);
        this.lease = renewed;
        backoff.reset();
        this.log.info({ subnet: formatCidr(renewed.subnet), expiresAt: new Date(renewed.expiresAt).toISOString() }, 'lease renewed');
      } catch (e) {
        if (e instanceof LeaseLostError) {
          if (this.lease === renewing) await this.reacquire(signal); // else taken back or re-acquired meanwhile
          continue;
        }
        if (!(e instanceof AppError && e.retryable)) throw e;
        this.log.warn({ err: describeError(e) }, 'lease renewal failed, retrying');
        await sleep(backoff.next(), stop);
      }
    }
    return this.held ? 'stopped' : 'lost';
  }

  /**
   * Our key vanished (expired during an outage, deleted) or is no longer ours: take it back, the
   * same subnet if it is still free. Concurrent callers (the lease watch, the renewal) share one
   * attempt.
   */
  reacquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted || !this.held) return Promise.resolve();
    this.reacquiring ??= this.doReacquire(signal).finally(() => (this.reacquiring = null));
    return this.reacquiring;
  }

  private async doReacquire(signal: AbortSignal): Promise<void> {
    const old = this.lease;
    this.log.warn({ subnet: formatCidr(old.subnet) }, 'our lease disappeared, re-acquiring');
    try {
      // Other leases carrying our PublicIP are kept: deleting them here could start a fight with a
      // second live host that shares our address, each deleting the other's lease in turn.
      const lease = await this.subnets.acquireLeaseRetrying(this.cfg, old.attrs, old.subnet, signal, undefined, 'keep');
      this.lease = lease;
      if (!cidrEquals(lease.subnet, old.subnet)) {
        const subnets = { old: formatCidr(old.subnet), new: formatCidr(lease.subnet) };
        this.log.fatal(subnets, 'lease lost: our subnet went to another host; restarting is required');
        this.lost.abort();
        return;
      }
      this.log.info({ subnet: formatCidr(lease.subnet) }, 'lease re-acquired');
    } catch (e) {
      if (!signal.aborted) {
        this.log.fatal({ err: describeError(e) }, 'cannot re-acquire our lease');
        this.lost.abort();
      }
    }
  }

  /**
   * Our key holds `seen`, a value we did not write (another host's PublicIP, other backend data):
   * every peer now routes our subnet there and our pods are cut off. Write ours back at once, only
   * while the key still holds `seen` (by its etcd lease), so a change made since is never clobbered;
   * peers then route to us again. A re-acquisition in flight decides first. Given up (the lease is
   * lost) after MAX_TAKE_BACKS in TAKE_BACK_WINDOW_MS.
   */
  reclaim(seen: Lease, signal: AbortSignal): Promise<void> {
    this.reclaiming = this.reclaiming.then(() => this.doReclaim(seen, signal));
    return this.reclaiming;
  }

  private async doReclaim(seen: Lease, signal: AbortSignal): Promise<void> {
    await this.reacquiring;
    const backoff = new Backoff(1000, 10_000);
    while (!signal.aborted && this.held) {
      const own = this.lease;
      if (!cidrEquals(seen.subnet, own.subnet) || sameAttrs(seen.attrs, own.attrs)) return;
      const fields = { subnet: formatCidr(own.subnet), publicIp: seen.attrs.PublicIP, backendType: seen.attrs.BackendType };
      const now = Date.now();
      this.takenBackAt = this.takenBackAt.filter((t) => now - t < TAKE_BACK_WINDOW_MS);
      if (this.takenBackAt.length >= MAX_TAKE_BACKS) {
        this.log.fatal({ ...fields, takenBack: this.takenBackAt.length, windowS: TAKE_BACK_WINDOW_MS / 1000 },
          'lease lost: another writer keeps overwriting our lease; giving it up, restarting is required');
        this.lost.abort();
        return;
      }
      try {
        this.lease = await this.subnets.takeBackLease(own, seen.leaseId);
      } catch (e) {
        if (e instanceof LeaseLostError) {
          // Changed again since (or it was our own older value, listed before our last write): the
          // watch reports what the key holds now.
          this.log.debug({ ...fields, err: describeError(e) }, 'our key changed again before it could be taken back');
          return;
        }
        if (!(e instanceof AppError && e.retryable)) {
          this.log.error({ ...fields, err: describeError(e) }, 'cannot take our overwritten lease back');
          return;
        }
        this.log.warn({ ...fields, err: describeError(e) }, 'cannot take our overwritten lease back yet, retrying');
        await sleep(backoff.next(), signal);
        continue;
      }
      this.takenBackAt.push(Date.now());
      this.log.error(fields, 'our lease was overwritten by another writer; took it back');
      return;
    }
  }
}

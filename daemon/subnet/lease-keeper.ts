/**
 * Keeps this host's lease (flannel's LocalManager.CompleteLease, with twill's re-acquisition):
 * renews it before it expires and, when it is gone (expired during an etcd outage, deleted, no
 * longer ours), takes it back, the same subnet while that is free, instead of exiting. The lease is
 * lost for good when its subnet went to another host or it cannot be taken back; `keep` then ends
 * with 'lost', for the daemon to stop. The lease as it stands is read here and nowhere else.
 */
import type { NetConfig } from '../config/net-config.js';
import { AppError, describeError, LeaseLostError } from '../../shared/errors.js';
import { cidrEquals, formatCidr } from '../../shared/ip/cidr.js';
import type { Logger } from '../logger.js';
import { Backoff, sleep } from '../sleep.js';
import type { Lease } from './lease.js';
import type { LocalSubnetManager } from './subnet-manager.js';

/** This host's lease as it stands: what the rest of the daemon may read of the LeaseKeeper. */
export interface OwnLease {
  /** The lease as last acquired or renewed. */
  readonly current: Lease;
  /** False once the lease is lost for good. */
  readonly held: boolean;
}

/** How keeping the lease ended: stopped by the caller, or lost for good. */
export type LeaseEnd = 'stopped' | 'lost';

/** Holds, renews and re-acquires this host's lease; see the file's header. */
export class LeaseKeeper implements OwnLease {
  private lease: Lease;
  private reacquiring: Promise<void> | null = null;
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
      try {
        const renewed = await this.subnets.renewLease(this.lease);
        this.lease = renewed;
        backoff.reset();
        this.log.info({ subnet: formatCidr(renewed.subnet), expiresAt: new Date(renewed.expiresAt).toISOString() }, 'lease renewed');
      } catch (e) {
        if (e instanceof LeaseLostError) {
          await this.reacquire(signal);
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
}

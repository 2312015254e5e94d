/**
 * Runs backend reconcile passes one at a time. Requests that arrive during a pass coalesce into
 * one more pass, so a burst of lease events costs at most two passes and kernel changes are
 * batched. A pass with failures is retried in the background with a growing delay (1 s to 30 s);
 * a new request cuts that delay short. Callers wait for the next pass only, never for the retries,
 * so one kernel entry that keeps failing cannot hold up later lease events. Without lease events a
 * pass still runs now and then (resyncEvery), so the kernel is re-read and drift healed.
 */
import { describeError } from '../shared/errors.js';
import type { Backend } from './backend/backend.js';
import type { Logger } from './logger.js';
import { Backoff, sleep } from './sleep.js';
import type { Lease } from './subnet/lease.js';

/**
 * Waits `ms` before a retry, or less when `cut` aborts; the Reconciler's only use of time, so tests
 * can hand it a clock of their own.
 */
export type RetryWait = (ms: number, cut: AbortSignal) => Promise<void>;

/** The real clock: a timer that does not keep the process alive. */
function timerWait(ms: number, cut: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    cut.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** Where a pass reads the leases to program: a read-only view of the LeaseWatcher's cache. */
export interface LeaseCache {
  /** The other hosts' leases as last seen. */
  remoteLeases(): Lease[];
}

export class Reconciler {
  private running: Promise<void> | null = null;
  private dirty = false;
  private waiters: Array<() => void> = [];
  private kick: (() => void) | null = null;
  private readonly retry = new Backoff(1000, 30_000);

  constructor(
    private readonly backend: Backend,
    private readonly leases: LeaseCache,
    private readonly log: Logger,
    private readonly wait: RetryWait = timerWait,
  ) {}

  /** Asks for a pass; resolves when a pass that started after this call has finished. */
  request(): Promise<void> {
    this.dirty = true;
    const done = new Promise<void>((r) => this.waiters.push(r));
    this.kick?.();
    if (!this.running) this.running = this.loop().finally(() => (this.running = null));
    return done;
  }

  /** Asks for a pass every `ms` until `signal` aborts, so the kernel is re-read and drift healed without lease events. */
  async resyncEvery(ms: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(ms, signal);
      if (!signal.aborted) await this.request();
    }
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const waiting = this.waiters.splice(0);
      const failed = await this.pass();
      for (const w of waiting) w();
      if (!failed) {
        this.retry.reset();
        continue;
      }
      this.dirty = true;
      const cut = new AbortController();
      this.kick = () => cut.abort();
      await this.wait(this.retry.next(), cut.signal);
      this.kick = null;
    }
  }

  /** One pass; true when something failed and should be retried. */
  private async pass(): Promise<boolean> {
    const leases = this.leases.remoteLeases();
    const t0 = performance.now();
    try {
      const r = await this.backend.reconcile(leases);
      const ms = Math.round(performance.now() - t0);
      if (r.added || r.removed || r.failed.length) this.log.info({ remote: leases.length, added: r.added, removed: r.removed, failed: r.failed.length, ms }, 'kernel reconciled');
      for (const f of r.failed) this.log.error({ line: f.line, err: f.error }, 'kernel change failed');
      for (const u of r.unroutable) this.log.warn({ lease: u }, 'lease unroutable');
      return r.failed.length > 0;
    } catch (e) {
      this.log.error({ err: describeError(e) }, 'reconcile failed, retrying');
      return true;
    }
  }
}

/**
 * Runs backend reconcile passes one at a time. Requests that arrive during a pass coalesce into
 * one more pass, so a burst of lease events costs at most two passes and kernel changes are
 * batched.
 */
import { describeError } from '../shared/errors.js';
import type { Backend } from './backend/backend.js';
import type { Logger } from './logger.js';
import type { Lease } from './subnet/lease.js';

export class Reconciler {
  private running: Promise<void> | null = null;
  private dirty = false;
  /** Completed passes (for tests and logs). */
  passes = 0;

  constructor(private readonly backend: Backend, private readonly remote: () => Lease[], private readonly log: Logger) {}

  /** Asks for a pass; resolves when a pass that started after this call has finished. */
  request(): Promise<void> {
    this.dirty = true;
    if (!this.running) this.running = this.loop().finally(() => (this.running = null));
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const leases = this.remote();
      const t0 = performance.now();
      try {
        const r = await this.backend.reconcile(leases);
        this.passes++;
        const ms = Math.round(performance.now() - t0);
        if (r.added || r.removed || r.failed.length) this.log.info({ remote: leases.length, added: r.added, removed: r.removed, failed: r.failed.length, ms }, 'kernel reconciled');
        for (const f of r.failed) this.log.error({ line: f.line, err: f.error }, 'kernel change failed');
        for (const u of r.unroutable) this.log.warn({ lease: u }, 'lease unroutable');
        if (r.failed.length) this.dirty = true, await new Promise((res) => setTimeout(res, 1000));
      } catch (e) {
        this.log.error({ err: describeError(e) }, 'reconcile failed, retrying');
        this.dirty = true;
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  }
}

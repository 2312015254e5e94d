/**
 * The kernel entries a backend owns, remembered between passes. A pass diffs the desired entries
 * against what was last applied; the kernel itself is read again (the truth) on the first pass,
 * after any failed change, and when the last read is older than `maxAgeMs`, so a route someone
 * deletes by hand comes back within a minute. Reading routes, neighbours and FDB entries costs a
 * kernel dump of each (every one of them, thousands in a big cluster), so skipping it keeps a
 * lease event cheap.
 */
import type { ReconcileReport } from './backend.js';
import { type KernelEntry, type KernelFailure, planReconcile, type ReconcilePlan } from './kernel-plan.js';
import { applyPlan } from './kernel-state.js';

/** How often the kernel is read again even when nothing failed. */
export const KERNEL_RESYNC_MS = 60_000;

export class OwnedState {
  private applied: KernelEntry[] | null = null;
  private lastRead = 0;
  /** Kernel reads so far (for tests). */
  reads = 0;

  constructor(
    private readonly read: () => Promise<KernelEntry[]>,
    private readonly apply: (plan: ReconcilePlan) => Promise<KernelFailure[]> = applyPlan,
    private readonly maxAgeMs = KERNEL_RESYNC_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Makes the kernel match `desired`, changing only what differs. */
  async reconcile(desired: KernelEntry[], unroutable: string[]): Promise<ReconcileReport> {
    let actual = this.applied;
    if (actual === null || this.now() - this.lastRead >= this.maxAgeMs) {
      actual = await this.read();
      this.reads++;
      this.lastRead = this.now();
    }
    const plan = planReconcile(desired, actual);
    const failed = await this.apply(plan);
    this.applied = failed.length === 0 ? desired : null;
    return { added: plan.add.length, removed: plan.del.length, failed, unroutable };
  }

  /** Removes everything owned (read from the kernel, not from memory). */
  async clear(): Promise<void> {
    this.applied = null;
    await this.reconcile([], []);
    this.applied = null;
  }
}

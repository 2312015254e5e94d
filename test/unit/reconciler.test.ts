import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend, ReconcileReport } from '../../daemon/backend/backend.js';
import { Reconciler } from '../../daemon/reconciler.js';
import { testLogger } from '../helpers/log.js';

function backend(results: Array<Partial<ReconcileReport> | Error>): Backend & { calls: number } {
  const b = {
    type: 'alloc' as const,
    calls: 0,
    prepare: async () => ({ backendData: null, mtu: 1500 }),
    configure: async () => undefined,
    teardown: async () => undefined,
    reconcile: async (): Promise<ReconcileReport> => {
      const r = results[Math.min(b.calls++, results.length - 1)]!;
      if (r instanceof Error) throw r;
      return { added: 0, removed: 0, failed: [], unroutable: [], ...r };
    },
  };
  return b;
}

/**
 * A clock that never moves on its own: every retry delay the Reconciler asks for is recorded and
 * ends only when it is cut short (a new request) or when the test calls elapse().
 */
function frozenClock() {
  const waits: number[] = [];
  const started: Array<(ms: number) => void> = [];
  let pending: (() => void) | null = null;
  const c = {
    waits,
    cut: 0,
    elapsed: 0,
    wait: (ms: number, cut: AbortSignal): Promise<void> => new Promise<void>((resolve) => {
      waits.push(ms);
      let over = false;
      pending = () => {
        over = true;
        c.elapsed++;
        resolve();
      };
      cut.addEventListener('abort', () => {
        if (over) return;
        over = true;
        c.cut++;
        resolve();
      }, { once: true });
      started.shift()?.(ms);
    }),
    /** Resolves with the next delay the Reconciler starts waiting. */
    nextWait: (): Promise<number> => new Promise<number>((r) => started.push(r)),
    /** Lets the delay being waited run out. */
    elapse: (): void => {
      const p = pending;
      pending = null;
      assert.ok(p, 'a retry delay is being waited');
      p();
    },
  };
  return c;
}

describe('Reconciler', () => {
  it('coalesces requests made during a pass into one more pass', async () => {
    const b = backend([{}]);
    const r = new Reconciler(b, { remoteLeases: () => [] }, testLogger());
    await Promise.all([r.request(), r.request(), r.request(), r.request()]);
    assert.ok(b.calls <= 2, `${b.calls} passes for 4 requests`);
  });
  it('does not make callers wait for retries of a failing pass', async () => {
    const b = backend([{ failed: [{ line: 'route replace x', error: 'boom' }] }, new Error('kernel away'), {}]);
    const clock = frozenClock();
    const r = new Reconciler(b, { remoteLeases: () => [] }, testLogger(), clock.wait);
    await r.request();
    assert.equal(b.calls, 1, 'the caller got its answer after the first pass');
    assert.deepEqual(clock.waits, [1000], 'a retry is due after the failed pass');
    await r.request(); // cuts the retry delay short
    assert.equal(clock.elapsed, 0, 'a new request does not wait out the retry delay (the clock never moved)');
    assert.equal(clock.cut, 1, 'the request cut the delay short');
    await r.request();
    assert.equal(b.calls, 3);
    assert.deepEqual(clock.waits, [1000, 2000], 'the second failure waits longer; the success waits no more');
  });
  it('retries a failing pass in the background, with no request, after a growing delay', async () => {
    const b = backend([{ failed: [{ line: 'route replace x', error: 'boom' }] }, new Error('kernel away'), {}]);
    const clock = frozenClock();
    const r = new Reconciler(b, { remoteLeases: () => [] }, testLogger(), clock.wait);
    const first = clock.nextWait();
    await r.request();
    assert.equal(await first, 1000);
    const second = clock.nextWait();
    clock.elapse();
    assert.equal(await second, 2000, 'the retry ran on its own, failed, and waits longer');
    assert.equal(b.calls, 2);
    clock.elapse();
    await r.request(); // made as the delay ran out: answered by the retry that follows
    assert.equal(b.calls, 3);
    assert.deepEqual(clock.waits, [1000, 2000], 'no retry after a success');
    assert.equal(clock.cut, 0, 'every delay ran out, none was cut short');
  });
});

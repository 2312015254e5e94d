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

describe('Reconciler', () => {
  it('coalesces requests made during a pass into one more pass', async () => {
    const b = backend([{}]);
    const r = new Reconciler(b, { remoteLeases: () => [] }, testLogger());
    await Promise.all([r.request(), r.request(), r.request(), r.request()]);
    assert.ok(b.calls <= 2, `${b.calls} passes for 4 requests`);
  });
  it('does not make callers wait for retries of a failing pass, and retries in the background', async () => {
    const b = backend([{ failed: [{ line: 'route replace x', error: 'boom' }] }, new Error('kernel away'), {}]);
    const r = new Reconciler(b, { remoteLeases: () => [] }, testLogger());
    await r.request();
    assert.equal(b.calls, 1, 'the caller got its answer after the first pass');
    const t0 = Date.now();
    await r.request(); // cuts the retry delay short
    assert.ok(Date.now() - t0 < 900, 'a new request does not wait out the retry delay');
    await r.request();
    assert.equal(b.calls, 3);
  });
});

/** daemon/data-plane.ts: the clean-stop removal says "removed" only when it was. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../../daemon/backend/backend.js';
import { DataPlane } from '../../daemon/data-plane.js';
import { testLogger } from '../helpers/log.js';

function backend(teardown: () => Promise<void>): Backend {
  return {
    type: 'alloc',
    prepare: async () => ({ backendData: null, mtu: 1500 }),
    configure: async () => undefined,
    reconcile: async () => ({ added: 0, removed: 0, failed: [], unroutable: [] }),
    teardown,
  };
}

describe('data plane removal', () => {
  it('says the data plane was removed when it was', async () => {
    const lines: Array<Record<string, unknown>> = [];
    await new DataPlane(backend(async () => undefined), testLogger(lines)).remove();
    assert.deepEqual(lines.map((l) => l['msg']), ['data plane and rules removed']);
  });
  it('says what could not be removed, and not that everything was', async () => {
    const lines: Array<Record<string, unknown>> = [];
    await new DataPlane(backend(async () => { throw new Error('device busy'); }), testLogger(lines)).remove();
    assert.deepEqual(lines.map((l) => l['msg']), ['cannot remove the data plane']);
    assert.equal(lines[0]!['err'], 'device busy');
  });
});

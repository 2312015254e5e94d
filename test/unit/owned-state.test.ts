import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeEntry, type KernelEntry, type ReconcilePlan } from '../../daemon/backend/kernel-plan.js';
import { OwnedState } from '../../daemon/backend/owned-state.js';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';

const r = (n: number): KernelEntry => routeEntry(parseCidr(`10.5.${n}.0/24`), parseIp(`192.168.0.${n}`), 'eth0', false);

function fixture(kernel: KernelEntry[], failOn = -1) {
  let t = 0;
  const plans: ReconcilePlan[] = [];
  const state = new OwnedState(
    async () => [...kernel],
    async (p) => {
      plans.push(p);
      return plans.length - 1 === failOn ? [{ line: 'x', error: 'boom' }] : [];
    },
    60_000,
    () => t,
  );
  return { state, plans, advance: (ms: number) => (t += ms) };
}

describe('OwnedState', () => {
  it('reads the kernel on the first pass only, then diffs against what it applied', async () => {
    const f = fixture([r(1), r(9)]);
    await f.state.reconcile([r(1), r(2)], []);
    assert.deepEqual(f.plans[0]!.add.map((e) => e.id), ['route 10.5.2.0/24']);
    assert.deepEqual(f.plans[0]!.del.map((e) => e.id), ['route 10.5.9.0/24']);
    await f.state.reconcile([r(2), r(3)], []);
    assert.equal(f.state.reads, 1, 'no second kernel read');
    assert.deepEqual(f.plans[1]!.add.map((e) => e.id), ['route 10.5.3.0/24']);
    assert.deepEqual(f.plans[1]!.del.map((e) => e.id), ['route 10.5.1.0/24']);
  });
  it('reads the kernel again after a failed change and when the last read is too old', async () => {
    const f = fixture([], 0);
    await f.state.reconcile([r(1)], []);
    await f.state.reconcile([r(1)], []);
    assert.equal(f.state.reads, 2, 'failure forces a read');
    await f.state.reconcile([r(1)], []);
    assert.equal(f.state.reads, 2);
    f.advance(60_000);
    await f.state.reconcile([r(1)], []);
    assert.equal(f.state.reads, 3, 'age forces a read');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fdbEntry, neighEntry, planReconcile, routeEntry } from '../../daemon/backend/kernel-plan.js';

describe('reconcile planning', () => {
  const r1 = routeEntry('10.5.1.0/24', '10.5.1.0', 'flannel.1', true);
  const n1 = neighEntry('10.5.1.0', '02:00:00:00:00:01', 'flannel.1');
  const f1 = fdbEntry('02:00:00:00:00:01', '192.168.0.1', 'flannel.1');
  it('changes nothing when the kernel already matches (a restart drops nothing)', () => {
    assert.deepEqual(planReconcile([f1, n1, r1], [r1, n1, f1]), { add: [], del: [] });
  });
  it('adds link-layer entries before routes and deletes routes before link-layer entries', () => {
    const p = planReconcile([r1, n1, f1], []);
    assert.deepEqual(p.add.map((e) => e.id.split(' ')[0]), ['fdb', 'neigh', 'route']);
    const d = planReconcile([], [f1, r1, n1]);
    assert.deepEqual(d.del.map((e) => e.id.split(' ')[0]), ['route', 'neigh', 'fdb']);
  });
  it('replaces a changed entry in place instead of deleting it', () => {
    const moved = fdbEntry('02:00:00:00:00:01', '192.168.0.9', 'flannel.1');
    const p = planReconcile([moved, n1, r1], [f1, n1, r1]);
    assert.deepEqual(p.del, []);
    assert.deepEqual(p.add.map((e) => e.add), ['fdb replace 02:00:00:00:00:01 dev flannel.1 dst 192.168.0.9 self permanent']);
  });
  it('removes entries of departed hosts only', () => {
    const r2 = routeEntry('10.5.2.0/24', '192.168.0.2', 'eth0', false);
    const p = planReconcile([r1], [r1, r2]);
    assert.deepEqual(p.del.map((e) => e.del), ['route del 10.5.2.0/24 proto 116']);
    assert.deepEqual(p.add, []);
  });
  it('normalises MAC case so upper-case lease data does not cause churn', () => {
    assert.deepEqual(planReconcile([neighEntry('10.5.1.0', '02:AA:00:00:00:01', 'flannel.1')], [neighEntry('10.5.1.0', '02:aa:00:00:00:01', 'flannel.1')]).add, []);
  });
});

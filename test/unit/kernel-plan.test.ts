import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fdbEntry as fdbNumbers, type KernelEntry, neighEntry as neighNumbers, planReconcile, routeEntry as routeNumbers } from '../../daemon/backend/kernel-plan.js';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { macNumber } from '../../shared/net/mac.js';

const routeEntry = (dst: string, via: string, dev: string, onlink: boolean): KernelEntry => routeNumbers(parseCidr(dst), parseIp(via), dev, onlink);
const neighEntry = (ip: string, mac: string, dev: string): KernelEntry => neighNumbers(parseIp(ip), macNumber(mac), dev);
const fdbEntry = (mac: string, dst: string, dev: string): KernelEntry => fdbNumbers(macNumber(mac), parseIp(dst), dev);

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
  it('keys routes by destination alone, neighbours and FDB entries by device too', () => {
    const moved = routeEntry('10.5.1.0/24', '192.168.0.1', 'eth0', false);
    const p = planReconcile([moved], [r1]);
    assert.deepEqual(p.del, [], 'a route to the same destination is replaced, not deleted');
    assert.deepEqual(p.add.map((e) => e.add), ['route replace 10.5.1.0/24 via 192.168.0.1 dev eth0 proto 116']);
    const n2 = neighEntry('10.5.1.0', '02:00:00:00:00:01', 'flannel.2');
    const f2 = fdbEntry('02:00:00:00:00:01', '192.168.0.1', 'flannel.2');
    const q = planReconcile([n2, f2], [n1, f1]);
    assert.deepEqual(q.add.map((e) => e.id), ['fdb 02:00:00:00:00:01 flannel.2', 'neigh 10.5.1.0 flannel.2']);
    assert.deepEqual(q.del.map((e) => e.del), ['neigh del 10.5.1.0 dev flannel.1', 'fdb del 02:00:00:00:00:01 dev flannel.1 self']);
  });
  it('replaces an entry whose state changed: gateway, device, onlink flag, MAC', () => {
    for (const changed of [routeEntry('10.5.1.0/24', '10.5.1.1', 'flannel.1', true), routeEntry('10.5.1.0/24', '10.5.1.0', 'flannel.1', false)]) {
      assert.deepEqual(planReconcile([changed], [r1]).add, [changed]);
    }
    const m2 = neighEntry('10.5.1.0', '02:00:00:00:00:02', 'flannel.1');
    assert.deepEqual(planReconcile([m2], [n1]).add.map((e) => e.add), ['neigh replace 10.5.1.0 lladdr 02:00:00:00:00:02 dev flannel.1 nud permanent']);
  });
  it('normalises MAC case so upper-case lease data does not cause churn', () => {
    assert.deepEqual(planReconcile([neighEntry('10.5.1.0', '02:AA:00:00:00:01', 'flannel.1')], [neighEntry('10.5.1.0', '02:aa:00:00:00:01', 'flannel.1')]).add, []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fdbEntry as fdbNumbers, type KernelEntry, neighEntry as neighNumbers, planReconcile, routeEntry as routeNumbers } from '../../daemon/backend/kernel-plan.js';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { macNumber } from '../../shared/net/mac.js';
import { encodeChange, MAX_REQUEST_BYTES } from '../../shared/netlink/rtnl-messages.js';

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

describe('rtnetlink requests', () => {
  const b = Buffer.alloc(MAX_REQUEST_BYTES);

  it('encodes a route replace as `ip route replace … proto 116 onlink` does', () => {
    const len = encodeChange({ op: routeEntry('10.5.2.0/24', '10.5.2.0', 'flannel.1', true).op, action: 'replace' }, 7, 9, b);
    assert.equal(len, 16 + 12 + 8 + 8 + 8);
    assert.deepEqual([b.readUInt32LE(0), b.readUInt16LE(4), b.readUInt16LE(6), b.readUInt32LE(8)], [len, 24, 0x1 | 0x4 | 0x100 | 0x400, 7]);
    assert.deepEqual([...b.subarray(16, 24)], [2, 24, 0, 0, 254, 116, 0, 1], 'AF_INET /24, main table, proto 116, universe, unicast');
    assert.equal(b.readUInt32LE(24), 4, 'RTNH_F_ONLINK');
    assert.deepEqual([...b.subarray(28, 36)], [8, 0, 1, 0, 10, 5, 2, 0], 'RTA_DST');
    assert.deepEqual([...b.subarray(36, 44)], [8, 0, 5, 0, 10, 5, 2, 0], 'RTA_GATEWAY');
    assert.deepEqual([b.readUInt16LE(44), b.readUInt16LE(46), b.readUInt32LE(48)], [8, 4, 9], 'RTA_OIF');
  });

  it('encodes deletes that match only twill\'s entries: route by destination and proto 116, any scope', () => {
    const len = encodeChange({ op: routeEntry('10.5.2.0/24', '10.5.2.0', 'flannel.1', true).op, action: 'delete' }, 8, 9, b);
    assert.equal(len, 16 + 12 + 8);
    assert.equal(b.readUInt16LE(4), 25);
    assert.equal(b.readUInt16LE(6), 0x1 | 0x4);
    assert.deepEqual([b[21], b[22], b[23]], [116, 255, 0]);
  });

  it('encodes a permanent neighbour and a vxlan FDB entry (AF_BRIDGE, NTF_SELF)', () => {
    let len = encodeChange({ op: neighEntry('10.5.2.0', '0A:0b:0c:0d:0e:0f', 'flannel.1').op, action: 'replace' }, 1, 9, b);
    assert.equal(len, 16 + 12 + 8 + 12);
    assert.deepEqual([b.readUInt16LE(4), b[16], b.readInt32LE(20), b.readUInt16LE(24), b[26]], [28, 2, 9, 0x80, 0]);
    assert.deepEqual([...b.subarray(32, 36)], [10, 5, 2, 0]);
    assert.deepEqual([b.readUInt16LE(36), b.readUInt16LE(38), ...b.subarray(40, 46)], [10, 2, 10, 11, 12, 13, 14, 15], 'NDA_LLADDR');
    len = encodeChange({ op: fdbEntry('0a:0b:0c:0d:0e:0f', '192.168.0.7', 'flannel.1').op, action: 'replace' }, 2, 9, b);
    assert.equal(len, 16 + 12 + 12 + 8);
    assert.deepEqual([b[16], b[26]], [7, 0x02], 'AF_BRIDGE, NTF_SELF');
    assert.deepEqual([...b.subarray(32, 38)], [10, 11, 12, 13, 14, 15]);
    assert.deepEqual([...b.subarray(44, 48)], [192, 168, 0, 7], 'NDA_DST');
  });
});

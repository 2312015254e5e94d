import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planAcquire } from '../../daemon/subnet/allocate-subnet.js';
import type { Lease } from '../../daemon/subnet/lease.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { PublicIpConflictError, SubnetExhaustedError } from '../../shared/errors.js';
import { formatCidr, parseCidr } from '../../shared/ip/cidr.js';

const cfg = parseNetConfig('{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.0","SubnetMax":"10.5.4.0","Backend":{"Type":"vxlan"}}');
const lease = (subnet: string, ip: string): Lease => ({ subnet: parseCidr(subnet), attrs: { PublicIP: ip, BackendType: 'vxlan', BackendData: null }, expiresAt: 0, leaseId: '1' });

describe('lease policy', () => {
  it('reuses the previous subnet when it is free', () => {
    const p = planAcquire(cfg, [lease('10.5.1.0/24', '1.1.1.1')], '2.2.2.2', parseCidr('10.5.3.0/24'));
    assert.deepEqual(p.kind === 'create' && formatCidr(p.subnet), '10.5.3.0/24');
  });
  it('reuses the previous subnet when its lease is ours', () => {
    const p = planAcquire(cfg, [lease('10.5.3.0/24', '2.2.2.2')], '2.2.2.2', parseCidr('10.5.3.0/24'));
    assert.equal(p.kind, 'reuse');
  });
  it('does not take the previous subnet from another host', () => {
    const p = planAcquire(cfg, [lease('10.5.3.0/24', '9.9.9.9')], '2.2.2.2', parseCidr('10.5.3.0/24'), () => 0);
    assert.ok(p.kind === 'create' && formatCidr(p.subnet) === '10.5.1.0/24');
  });
  it('ignores a previous subnet outside the current Network or of another size', () => {
    const p = planAcquire(cfg, [], '2.2.2.2', parseCidr('10.6.3.0/24'), () => 0.99);
    assert.ok(p.kind === 'create' && formatCidr(p.subnet) === '10.5.4.0/24');
    const q = planAcquire(cfg, [], '2.2.2.2', parseCidr('10.5.3.0/25'), () => 0);
    assert.ok(q.kind === 'create' && formatCidr(q.subnet) === '10.5.1.0/24');
  });
  it('reuses the one lease that carries our PublicIP', () => {
    const p = planAcquire(cfg, [lease('10.5.2.0/24', '2.2.2.2'), lease('10.5.1.0/24', '1.1.1.1')], '2.2.2.2', null);
    assert.ok(p.kind === 'reuse' && formatCidr(p.lease.subnet) === '10.5.2.0/24');
  });
  it('takes the previous subnet over other leases carrying our PublicIP, and names them as stale', () => {
    const p = planAcquire(cfg, [lease('10.5.2.0/24', '2.2.2.2')], '2.2.2.2', parseCidr('10.5.3.0/24'));
    assert.ok(p.kind === 'create' && formatCidr(p.subnet) === '10.5.3.0/24');
    assert.deepEqual(p.stale.map((l) => formatCidr(l.subnet)), ['10.5.2.0/24']);
    const q = planAcquire(cfg, [lease('10.5.2.0/24', '2.2.2.2'), lease('10.5.3.0/24', '2.2.2.2')], '2.2.2.2', parseCidr('10.5.3.0/24'));
    assert.ok(q.kind === 'reuse' && formatCidr(q.lease.subnet) === '10.5.3.0/24');
    assert.deepEqual(q.stale.map((l) => formatCidr(l.subnet)), ['10.5.2.0/24']);
  });
  it('refuses to pick one of several leases carrying our PublicIP when there is no previous subnet', () => {
    assert.throws(() => planAcquire(cfg, [lease('10.5.2.0/24', '2.2.2.2'), lease('10.5.3.0/24', '2.2.2.2')], '2.2.2.2', null), PublicIpConflictError);
    assert.throws(() => planAcquire(cfg, [lease('10.5.2.0/24', '2.2.2.2'), lease('10.5.3.0/24', '2.2.2.2')], '2.2.2.2', null), /already advertised/);
  });
  it('picks only free subnets between SubnetMin and SubnetMax', () => {
    const taken = [lease('10.5.1.0/24', '1.1.1.1'), lease('10.5.2.0/24', '1.1.1.2'), lease('10.5.4.0/24', '1.1.1.4')]; // three other hosts
    for (let i = 0; i < 20; i++) {
      const p = planAcquire(cfg, taken, '2.2.2.2', null);
      assert.ok(p.kind === 'create' && formatCidr(p.subnet) === '10.5.3.0/24');
    }
  });
  it('says clearly when the network is full', () => {
    const all = ['10.5.1.0/24', '10.5.2.0/24', '10.5.3.0/24', '10.5.4.0/24'].map((s, i) => lease(s, `1.1.1.${i}`));
    assert.throws(() => planAcquire(cfg, all, '2.2.2.2', null), (e: unknown) => e instanceof SubnetExhaustedError && /all 4 \/24 subnets/.test(e.message) && e.retryable);
  });
});

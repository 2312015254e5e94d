/** daemon/subnet/lease-keeper.ts on the in-memory registry: renewal, re-acquisition, loss. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseKeeper } from '../../daemon/subnet/lease-keeper.js';
import { MemorySubnetRegistry } from '../../daemon/subnet/memory-registry.js';
import { LocalSubnetManager } from '../../daemon/subnet/subnet-manager.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { formatCidr, parseCidr } from '../../shared/ip/cidr.js';
import { testLogger } from '../helpers/log.js';
import { until } from '../helpers/wait.js';

const cfg = parseNetConfig('{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.0","SubnetMax":"10.5.3.0","Backend":{"Type":"host-gw"}}');
const attrs = (i: number) => ({ PublicIP: `192.168.0.${i}`, BackendType: 'host-gw', BackendData: null });

async function setup(ttlS = 3600) {
  const reg = new MemorySubnetRegistry();
  const lines: Array<Record<string, unknown>> = [];
  const m = new LocalSubnetManager(reg, testLogger(lines), { ttlS, renewMarginS: 3600 });
  const lease = await m.acquireLease(cfg, attrs(1), null);
  return { reg, m, lease, lines, keeper: new LeaseKeeper(m, cfg, lease, testLogger(lines)) };
}

describe('LeaseKeeper', () => {
  it('renews the lease before it expires, under a new etcd lease id', async () => {
    const { lease, keeper, lines } = await setup(2); // renewed half-way, a second after
    const ac = new AbortController();
    const kept = keeper.keep(ac.signal);
    await until('a renewal', () => lines.some((l) => l['msg'] === 'lease renewed'), 10_000);
    ac.abort();
    assert.equal(await kept, 'stopped');
    assert.notEqual(keeper.current.leaseId, lease.leaseId);
    assert.equal(formatCidr(keeper.current.subnet), formatCidr(lease.subnet));
    assert.ok(keeper.held);
  });

  it('takes its subnet back when its key is gone', async () => {
    const { reg, lease, keeper, lines } = await setup();
    await reg.deleteLease(lease.subnet);
    await keeper.reacquire(new AbortController().signal);
    assert.equal(formatCidr(keeper.current.subnet), formatCidr(lease.subnet));
    assert.ok(keeper.held);
    assert.ok(lines.some((l) => l['msg'] === 'lease re-acquired'));
    assert.deepEqual((await reg.listLeases()).leases.map((l) => l.attrs.PublicIP), ['192.168.0.1']);
  });

  it('takes its subnet back when its key is gone and another lease carries its PublicIP (a stale lease of its own)', async () => {
    const { reg, lease, keeper, lines } = await setup();
    const other = parseCidr(formatCidr(lease.subnet) === '10.5.1.0/24' ? '10.5.2.0/24' : '10.5.1.0/24');
    await reg.createLease(other, attrs(1), 3600); // our address, another subnet
    await reg.deleteLease(lease.subnet);
    await keeper.reacquire(new AbortController().signal);
    assert.ok(keeper.held, 'the lease is still held');
    assert.equal(formatCidr(keeper.current.subnet), formatCidr(lease.subnet), 'the same subnet, which our pods use');
    assert.ok(lines.some((l) => l['msg'] === 'lease re-acquired'));
    assert.ok(!lines.some((l) => l['level'] === 60), 'nothing fatal');
    assert.ok(lines.some((l) => l['level'] === 40 && /another lease carries our PublicIP/.test(String(l['msg'])) && l['stale'] === formatCidr(other)), 'the other lease is named in a warning');
  });

  it('ends keeping with "lost" when its subnet went to another host meanwhile', async () => {
    const { reg, lease, keeper, lines } = await setup();
    await reg.deleteLease(lease.subnet);
    await reg.createLease(lease.subnet, attrs(2), 3600); // another host took it
    const kept = keeper.keep(new AbortController().signal);
    await keeper.reacquire(new AbortController().signal);
    assert.equal(await kept, 'lost');
    assert.equal(keeper.held, false);
    assert.notEqual(formatCidr(keeper.current.subnet), formatCidr(lease.subnet));
    assert.ok(lines.some((l) => l['msg'] === 'lease lost: our subnet went to another host; restarting is required'));
  });
});

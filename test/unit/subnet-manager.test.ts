import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lease } from '../../daemon/subnet/lease.js';
import { MemorySubnetRegistry } from '../../daemon/subnet/memory-registry.js';
import { LocalSubnetManager } from '../../daemon/subnet/subnet-manager.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { EtcdRefusedError, EtcdUnavailableError, SubnetExhaustedError } from '../../shared/errors.js';
import { formatCidr, parseCidr } from '../../shared/ip/cidr.js';
import { testLogger } from '../helpers/log.js';
import { until } from '../helpers/wait.js';

const cfg = parseNetConfig('{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.0","SubnetMax":"10.5.15.0","Backend":{"Type":"vxlan"}}');
const attrs = (i: number) => ({ PublicIP: `192.168.0.${i}`, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}` } });

describe('LocalSubnetManager on the in-memory registry', () => {
  it('20 managers racing in-process for 15 subnets (interleaved at awaits; test/lab/race.test.ts races processes): 15 distinct leases, 5 clear failures, 0 duplicates (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const reg = new MemorySubnetRegistry();
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => new LocalSubnetManager(reg, testLogger()).acquireLease(cfg, attrs(i + 1), null)));
      const ok = results.filter((r) => r.status === 'fulfilled').map((r) => formatCidr((r as PromiseFulfilledResult<Lease>).value.subnet));
      const failed = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      assert.equal(ok.length, 15);
      assert.equal(new Set(ok).size, 15, 'no subnet given twice');
      assert.equal(failed.length, 5);
      for (const f of failed) assert.ok(f instanceof SubnetExhaustedError, String(f));
      assert.equal((await reg.listLeases()).leases.length, 15);
    }
  });
  it('a restarted host gets its previous subnet back, also without the subnet file', async () => {
    const reg = new MemorySubnetRegistry();
    const m = new LocalSubnetManager(reg, testLogger());
    const first = await m.acquireLease(cfg, attrs(1), null);
    const again = await m.acquireLease(cfg, attrs(1), first.subnet);
    assert.equal(formatCidr(again.subnet), formatCidr(first.subnet));
    const noFile = await m.acquireLease(cfg, attrs(1), null);
    assert.equal(formatCidr(noFile.subnet), formatCidr(first.subnet));
  });
  it('a restarted host takes its previous subnet and deletes a stale lease of its own (its PublicIP on another subnet)', async () => {
    const reg = new MemorySubnetRegistry();
    const lines: Array<Record<string, unknown>> = [];
    const m = new LocalSubnetManager(reg, testLogger(lines));
    const first = await m.acquireLease(cfg, attrs(1), null);
    const other = parseCidr(formatCidr(first.subnet) === '10.5.1.0/24' ? '10.5.2.0/24' : '10.5.1.0/24');
    await reg.createLease(other, attrs(1), 3600); // an earlier life of this host, under another subnet
    await reg.deleteLease(first.subnet);
    const again = await m.acquireLease(cfg, attrs(1), first.subnet);
    assert.equal(formatCidr(again.subnet), formatCidr(first.subnet));
    assert.deepEqual((await reg.listLeases()).leases.map((l) => formatCidr(l.subnet)), [formatCidr(first.subnet)], 'the stale lease is deleted');
    assert.ok(lines.some((l) => l['msg'] === 'deleted a stale lease carrying our PublicIP' && l['stale'] === formatCidr(other)));
  });
  it('re-creates an expired lease on the same subnet when it is still free', async () => {
    const reg = new MemorySubnetRegistry();
    const m = new LocalSubnetManager(reg, testLogger(), { ttlS: 1 });
    const first = await m.acquireLease(cfg, attrs(1), null);
    await until('the lease to expire', async () => (await reg.listLeases()).leases.length === 0, 5000);
    assert.equal((await reg.listLeases()).leases.length, 0, 'the lease expired');
    const back = await m.acquireLease(cfg, attrs(1), first.subnet);
    assert.equal(formatCidr(back.subnet), formatCidr(first.subnet));
  });
  it('renews before expiry: the margin before the TTL, or half-way when the margin is longer', () => {
    const m = new LocalSubnetManager(new MemorySubnetRegistry(), testLogger(), { ttlS: 86400, renewMarginS: 3600 });
    const lease = { subnet: cfg.network, attrs: attrs(1), leaseId: '1', expiresAt: 100_000_000 };
    assert.equal(m.renewAt(lease), 100_000_000 - 3_600_000);
    const short = new LocalSubnetManager(new MemorySubnetRegistry(), testLogger(), { ttlS: 10, renewMarginS: 3600 });
    assert.equal(short.renewAt(lease), 100_000_000 - 5000);
  });
  it('waits for a missing config and says so once', async () => {
    const reg = new MemorySubnetRegistry();
    const lines: Array<Record<string, unknown>> = [];
    const m = new LocalSubnetManager(reg, testLogger(lines), { configPollMs: 20 });
    let reads = 0;
    const read = reg.getNetworkConfig.bind(reg);
    reg.getNetworkConfig = () => (reads++, read());
    const p = m.getNetworkConfig(new AbortController().signal);
    await until('five reads of the missing config', () => reads >= 5, 5000);
    await reg.putNetworkConfig('{"Network":"10.9.0.0/16","Backend":{"Type":"host-gw"}}');
    assert.equal((await p).backendType, 'host-gw');
    assert.equal(lines.filter((l) => l['msg'] === 'waiting for a valid network config').length, 1);
  });
  it('names the field of an invalid config while waiting', async () => {
    const reg = new MemorySubnetRegistry();
    await reg.putNetworkConfig('{"Network":"10.9.0.0/30"}');
    const lines: Array<Record<string, unknown>> = [];
    const ac = new AbortController();
    const m = new LocalSubnetManager(reg, testLogger(lines), { configPollMs: 20 });
    const p = m.getNetworkConfig(ac.signal).catch((e: Error) => e);
    await until('the manager to say it waits', () => lines.some((l) => l['msg'] === 'waiting for a valid network config'), 5000);
    ac.abort();
    await p;
    assert.match(String(lines.find((l) => l['msg'] === 'waiting for a valid network config')?.['problem']), /Network 10\.9\.0\.0\/30 is too small/);
  });
  it('keeps waiting for the config while etcd cannot be reached, and gives up when etcd refuses it', async () => {
    const reg = new MemorySubnetRegistry();
    await reg.putNetworkConfig('{"Network":"10.9.0.0/16","Backend":{"Type":"host-gw"}}');
    const down = (): Error => new EtcdUnavailableError('etcd unavailable while reading the network config: down');
    const failures: Error[] = [down(), down()];
    const read = reg.getNetworkConfig.bind(reg);
    reg.getNetworkConfig = async () => {
      const f = failures.shift();
      if (f) throw f;
      return read();
    };
    const m = new LocalSubnetManager(reg, testLogger(), { configPollMs: 5 });
    assert.equal((await m.getNetworkConfig(new AbortController().signal)).backendType, 'host-gw');
    failures.push(new EtcdRefusedError('etcd refused reading the network config: permission denied'));
    await assert.rejects(m.getNetworkConfig(new AbortController().signal), EtcdRefusedError);
  });
});

/**
 * EtcdSubnetRegistry against a real etcd on loopback (own data dir, free ports, stopped by PID).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EtcdSubnetRegistry } from '../../daemon/subnet/etcd-registry.js';
import { LeaseWatcher, type LeaseEvent } from '../../daemon/subnet/lease-watcher.js';
import type { Lease } from '../../daemon/subnet/lease.js';
import { LocalSubnetManager } from '../../daemon/subnet/subnet-manager.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { EtcdUnavailableError, LeaseLostError, SubnetExhaustedError, SubnetTakenError } from '../../shared/errors.js';
import { formatCidr, parseCidr } from '../../shared/ip/cidr.js';
import { etcdSuite } from '../helpers/etcd-suite.js';
import { testLogger } from '../helpers/log.js';
import { uniqueId } from '../helpers/netns.js';
import { until } from '../helpers/wait.js';
import { ETCD, skipUnless } from '../helpers/require.js';

const skip = skipUnless(ETCD);
const attrs = (i: number) => ({ PublicIP: `192.168.7.${i}`, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `02:00:00:00:07:${i.toString(16).padStart(2, '0')}` } });

describe('EtcdSubnetRegistry on a real etcd', { skip }, () => {
  const suite = etcdSuite();
  const registry = (prefix: string): EtcdSubnetRegistry => suite.registry(prefix);

  it('stores the config and leases in flannel layout', async () => {
    const prefix = `/tw-${uniqueId()}/network`;
    const r = registry(prefix);
    assert.equal(await r.getNetworkConfig(), null);
    await r.putNetworkConfig('{"Network":"10.5.0.0/16"}');
    assert.equal(await r.getNetworkConfig(), '{"Network":"10.5.0.0/16"}');
    const l = await r.createLease(parseCidr('10.5.34.0/24'), attrs(1), 60);
    assert.equal(suite.etcd.ctl('get', '--print-value-only', `${prefix}/subnets/10.5.34.0-24`).trim(), '{"PublicIP":"192.168.7.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:07:01"}}');
    const ttl = await r.timeToLive(l.leaseId);
    assert.ok(ttl > 50 && ttl <= 60, `ttl ${ttl}`);
  });

  it('refuses to create a lease that exists (create-if-absent transaction)', async () => {
    const r = registry(`/tw-${uniqueId()}/network`);
    await r.createLease(parseCidr('10.5.1.0/24'), attrs(1), 60);
    await assert.rejects(r.createLease(parseCidr('10.5.1.0/24'), attrs(2), 60), SubnetTakenError);
    assert.deepEqual((await r.listLeases()).leases.map((l) => l.attrs.PublicIP), ['192.168.7.1']);
  });

  it('renews under a fresh TTL and lets an unrenewed lease expire', async () => {
    const r = registry(`/tw-${uniqueId()}/network`);
    const a = await r.createLease(parseCidr('10.5.1.0/24'), attrs(1), 2);
    const b = await r.createLease(parseCidr('10.5.2.0/24'), attrs(2), 2);
    await delay(1200); // the scenario: both leases past half their 2 s TTL, then one is renewed
    const renewed = await r.updateLease(a.subnet, a.attrs, 5, a.leaseId);
    assert.notEqual(renewed.leaseId, a.leaseId);
    assert.equal(await r.timeToLive(a.leaseId), -1, 'the old etcd lease was revoked');
    const left = async () => (await r.listLeases()).leases.map((l) => formatCidr(l.subnet));
    await until('the unrenewed lease to expire', async () => !(await left()).includes('10.5.2.0/24'), 10_000, 100);
    assert.deepEqual(await left(), ['10.5.1.0/24']);
    // A late renewal of the expired lease must not resurrect it, nor overwrite a new holder.
    await assert.rejects(r.updateLease(b.subnet, b.attrs, 5, b.leaseId), LeaseLostError);
    await r.createLease(b.subnet, attrs(9), 5);
    await assert.rejects(r.updateLease(b.subnet, b.attrs, 5, b.leaseId), LeaseLostError);
    assert.equal((await r.listLeases()).leases.find((l) => formatCidr(l.subnet) === formatCidr(b.subnet))?.attrs.PublicIP, '192.168.7.9');
  });

  it('20 managers racing for 15 subnets: 15 distinct leases, 5 clear errors, 0 duplicates (5 rounds)', async () => {
    const cfg = parseNetConfig('{"Network":"10.6.0.0/16","SubnetMin":"10.6.1.0","SubnetMax":"10.6.15.0","Backend":{"Type":"vxlan"}}');
    for (let round = 0; round < 5; round++) {
      const prefix = `/tw-${uniqueId()}/network`;
      const rs = Array.from({ length: 20 }, () => registry(prefix));
      const results = await Promise.allSettled(rs.map((r, i) => new LocalSubnetManager(r, testLogger()).acquireLease(cfg, attrs(i + 1), null)));
      const won = results.filter((x): x is PromiseFulfilledResult<Lease> => x.status === 'fulfilled').map((x) => formatCidr(x.value.subnet));
      const lost = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected').map((x) => x.reason as Error);
      assert.equal(won.length, 15, `round ${round}: ${lost.map(String).join('; ')}`);
      assert.equal(new Set(won).size, 15);
      assert.equal(lost.length, 5);
      for (const e of lost) assert.ok(e instanceof SubnetExhaustedError, String(e));
      const stored = (await rs[0]!.listLeases()).leases;
      assert.equal(stored.length, 15);
      assert.equal(new Set(stored.map((l) => l.attrs.PublicIP)).size, 15, 'each stored lease belongs to the host that won it');
      for (const r of rs.splice(1)) await r.close();
    }
  });

  it('keeps one watch stream open well past the per-call deadline (no periodic re-listing)', async () => {
    const prefix = `/tw-${uniqueId()}/network`;
    const cfg = parseNetConfig('{"Network":"10.8.0.0/16","Backend":{"Type":"vxlan"}}');
    const writer = registry(prefix);
    const watching = suite.registry(prefix, 300);
    let listings = 0;
    const list = watching.listLeases.bind(watching);
    watching.listLeases = () => (listings++, list());
    const lines: Array<Record<string, unknown>> = [];
    const w = new LeaseWatcher(watching, cfg, testLogger(lines));
    const ac = new AbortController();
    const seen: LeaseEvent[] = [];
    const loop = (async () => {
      for await (const b of w.watch(ac.signal)) seen.push(...b);
    })();
    await delay(1500); // five times the deadline
    await writer.createLease(parseCidr('10.8.1.0/24'), attrs(1), 600);
    await until('the added event', () => seen.length > 0, 5000, 50);
    assert.deepEqual(seen.map((e) => `${e.type} ${formatCidr(e.lease.subnet)}`), ['added 10.8.1.0/24']);
    assert.equal(listings, 1, 'listed once, at the start');
    assert.deepEqual(lines.filter((l) => /broken|resynced/.test(String(l['msg']))), [], 'the watch never broke');
    assert.deepEqual(lines.filter((l) => l['msg'] === 'lease watch served by etcd member').map((l) => l['member']), [`tw ${suite.etcd.endpoint}`], 'the member holding the watch, by name');
    ac.abort();
    await loop;
  });

  it('keeps watching across a compaction and an etcd restart, resyncing what it missed', async () => {
    const prefix = `/tw-${uniqueId()}/network`;
    const cfg = parseNetConfig('{"Network":"10.7.0.0/16","Backend":{"Type":"vxlan"}}');
    const writer = registry(prefix);
    const w = new LeaseWatcher(registry(prefix), cfg, testLogger());
    const ac = new AbortController();
    const seen: LeaseEvent[] = [];
    const loop = (async () => {
      for await (const b of w.watch(ac.signal)) seen.push(...b);
    })();
    const known = () => w.leases().map((l) => formatCidr(l.subnet)).sort().join(',');
    let held = await writer.createLease(parseCidr('10.7.1.0/24'), attrs(1), 600);
    await until('first lease', () => known() === '10.7.1.0/24', 15_000);

    // Compaction past the watch position.
    for (let i = 0; i < 5; i++) held = await writer.updateLease(held.subnet, attrs(1), 600, held.leaseId);
    const rev = JSON.parse(suite.etcd.ctl('endpoint', 'status', '-w', 'json'))[0].Status.header.revision as number;
    suite.etcd.ctl('compact', String(rev));
    await writer.createLease(parseCidr('10.7.2.0/24'), attrs(2), 600);
    await until('lease after compaction', () => known() === '10.7.1.0/24,10.7.2.0/24', 15_000);

    // etcd restart, with changes made while the watch is down.
    await suite.etcd.stopProcess();
    await assert.rejects(writer.listLeases(), EtcdUnavailableError);
    await suite.etcd.startProcess();
    const retry = async (fn: () => Promise<unknown>): Promise<void> => {
      for (let i = 0; ; i++) {
        try {
          await fn();
          return;
        } catch (e) {
          if (!(e instanceof EtcdUnavailableError) || i > 100) throw e;
          await delay(200);
        }
      }
    };
    await retry(() => writer.deleteLease(parseCidr('10.7.1.0/24')));
    await retry(() => writer.createLease(parseCidr('10.7.3.0/24'), attrs(3), 600));
    await until('resync after restart', () => known() === '10.7.2.0/24,10.7.3.0/24', 30_000);
    assert.ok(seen.some((e) => e.type === 'removed' && formatCidr(e.lease.subnet) === '10.7.1.0/24'));
    ac.abort();
    await loop;
  });
});

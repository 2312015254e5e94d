import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { LeaseWatcher, type LeaseEvent } from '../../daemon/subnet/lease-watcher.js';
import { MemorySubnetRegistry } from '../../daemon/subnet/memory-registry.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { EtcdUnavailableError } from '../../shared/errors.js';
import { formatCidr, parseCidr } from '../../shared/ip/cidr.js';
import { testLogger } from '../helpers/log.js';
import { until } from '../helpers/wait.js';

const cfg = parseNetConfig('{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}');
const v = (ip: string) => JSON.stringify({ PublicIP: ip, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '02:00:00:00:00:01' } });

/** Counts the watches the registry has opened (each registers its listener when opened). */
function countWatches(reg: MemorySubnetRegistry): () => number {
  let n = 0;
  const watch = reg.watchLeases.bind(reg);
  reg.watchLeases = (after, signal) => (n++, watch(after, signal));
  return () => n;
}

async function collect(it: AsyncIterator<LeaseEvent[]>): Promise<string[]> {
  const r = await it.next();
  return (r.value as LeaseEvent[]).map((e) => `${e.type} ${formatCidr(e.lease.subnet)}`);
}

describe('LeaseWatcher', () => {
  it('turns puts and deletes into added/changed/removed events, skipping hostile values', async () => {
    const reg = new MemorySubnetRegistry();
    reg.putRaw('10.5.1.0-24', v('192.168.0.1'));
    const lines: Array<Record<string, unknown>> = [];
    const w = new LeaseWatcher(reg, cfg, testLogger(lines));
    const ac = new AbortController();
    const it = w.watch(ac.signal)[Symbol.asyncIterator]();
    assert.deepEqual(await collect(it), ['added 10.5.1.0/24']);
    reg.putRaw('10.5.2.0-24', v('192.168.0.2'));
    assert.deepEqual(await collect(it), ['added 10.5.2.0/24']);
    reg.putRaw('10.5.2.0-24', v('192.168.0.22'));
    assert.deepEqual(await collect(it), ['changed 10.5.2.0/24']);
    reg.putRaw('10.5.3.0-24', '{not json');
    reg.putRaw('10.6.3.0-24', v('192.168.0.3'));
    reg.putRaw('10.5.4.0-24', v('192.168.0.4'));
    assert.deepEqual(await collect(it), ['added 10.5.4.0/24']);
    assert.equal(lines.filter((l) => l['msg'] === 'lease skipped').length, 2);
    reg.putRaw('10.5.2.0-24', '{"PublicIP":"not-an-ip"}');
    assert.deepEqual(await collect(it), ['removed 10.5.2.0/24']);
    await reg.deleteLease(parseCidr('10.5.1.0/24'));
    assert.deepEqual(await collect(it), ['removed 10.5.1.0/24']);
    ac.abort();
    await it.next();
  });
  it('removes a lease whose key carries flannel\'s dual-stack suffix, on expiry and on a bad rewrite', async () => {
    // flannel writes "10.5.1.0-24&fc00::-64" for a dual-stack host; the IPv6 half is ignored, but
    // the key's deletion must still remove the lease that its put added.
    const reg = new MemorySubnetRegistry();
    const w = new LeaseWatcher(reg, cfg, testLogger());
    const ac = new AbortController();
    const it = w.watch(ac.signal)[Symbol.asyncIterator]();
    assert.deepEqual(await collect(it), []);
    reg.putRaw('10.5.1.0-24&fc00::-64', v('192.168.0.1'));
    assert.deepEqual(await collect(it), ['added 10.5.1.0/24']);
    reg.putRaw('10.5.1.0-24&fc00::-64', '{not json');
    reg.putRaw('10.5.9.0-24', v('192.168.0.9')); // a later event: the removal must come before it
    assert.deepEqual(await collect(it), ['removed 10.5.1.0/24']);
    assert.deepEqual(await collect(it), ['added 10.5.9.0/24']);
    // The etcd delete of an expired lease carries the raw key too.
    reg.putRaw('10.5.2.0-24&fc00:0:0:1::-64', v('192.168.0.2'), 0.05); // a TTL of 50 ms
    assert.deepEqual(await collect(it), ['added 10.5.2.0/24']);
    await until('the lease to expire', async () => (await reg.listLeases()).leases.length === 1, 5000);
    reg.putRaw('10.5.8.0-24', v('192.168.0.8'));
    assert.deepEqual(await collect(it), ['removed 10.5.2.0/24']);
    assert.deepEqual(await collect(it), ['added 10.5.8.0/24']);
    assert.deepEqual(w.leases().map((l) => formatCidr(l.subnet)).sort(), ['10.5.8.0/24', '10.5.9.0/24']);
    ac.abort();
    await it.next();
  });
  it('starts from a listing made earlier (the acquisition\'s) and replays what changed since', async () => {
    const reg = new MemorySubnetRegistry();
    reg.putRaw('10.5.1.0-24', v('192.168.0.1'));
    const earlier = await reg.listLeases();
    reg.putRaw('10.5.2.0-24', v('192.168.0.2')); // after the listing, before the watcher starts
    let listings = 0;
    const list = reg.listLeases.bind(reg);
    reg.listLeases = () => (listings++, list());
    const watches = countWatches(reg);
    const w = new LeaseWatcher(reg, cfg, testLogger());
    const ac = new AbortController();
    w.startFrom(earlier);
    const it = w.watch(ac.signal)[Symbol.asyncIterator]();
    assert.deepEqual(await collect(it), ['added 10.5.1.0/24']);
    assert.deepEqual(await collect(it), ['added 10.5.2.0/24']);
    assert.equal(listings, 0, 'no second listing');
    // The earlier listing is used once: after a broken watch the resync lists afresh.
    const next = it.next();
    await until('the watch to be open', () => watches() === 1, 5000);
    reg.breakWatches('compacted');
    reg.putRaw('10.5.3.0-24', v('192.168.0.3'));
    assert.deepEqual(((await next).value as LeaseEvent[]).map((e) => `${e.type} ${formatCidr(e.lease.subnet)}`), ['added 10.5.3.0/24']);
    assert.equal(listings, 1, 'the resync listed');
    ac.abort();
    await it.next();
  });
  it('retries with the first, short delay again once a resync has succeeded', async () => {
    const reg = new MemorySubnetRegistry();
    let failures = 2; // the retry delay grows to 250 ms, then 500 ms; 1000 ms would be next
    let listings = 0;
    const list = reg.listLeases.bind(reg);
    reg.listLeases = () => (failures-- > 0 ? Promise.reject(new EtcdUnavailableError('etcd away')) : (listings++, list()));
    const watches = countWatches(reg);
    const w = new LeaseWatcher(reg, cfg, testLogger());
    const ac = new AbortController();
    const it = w.watch(ac.signal)[Symbol.asyncIterator]();
    assert.deepEqual(await collect(it), []);
    const next = it.next();
    await until('the watch to be open', () => watches() === 1, 5000);
    await delay(50); // the watch in place: the resync is complete
    const brokenAt = Date.now();
    reg.breakWatches('etcd restarted');
    await until('the resync listing', () => listings === 2, 5000, 5);
    const waited = Date.now() - brokenAt;
    assert.ok(waited < 700, `the resync after a success waited ${waited} ms, not the first retry delay (250 ms)`);
    ac.abort();
    await next;
  });
  it('resyncs from a fresh snapshot after a broken watch, emitting only the difference', async () => {
    const reg = new MemorySubnetRegistry();
    reg.putRaw('10.5.1.0-24', v('192.168.0.1'));
    reg.putRaw('10.5.2.0-24', v('192.168.0.2'));
    const watches = countWatches(reg);
    const w = new LeaseWatcher(reg, cfg, testLogger());
    const ac = new AbortController();
    const it = w.watch(ac.signal)[Symbol.asyncIterator]();
    assert.equal((await collect(it)).length, 2);
    const next = it.next();
    await until('the watch to be open', () => watches() === 1, 5000);
    reg.breakWatches('compacted');
    // Changes made while the watch is broken are found by the resync snapshot.
    await reg.deleteLease(parseCidr('10.5.1.0/24'));
    reg.putRaw('10.5.3.0-24', v('192.168.0.3'));
    const got = ((await next).value as LeaseEvent[]).map((e) => `${e.type} ${formatCidr(e.lease.subnet)}`).sort();
    assert.deepEqual(got, ['added 10.5.3.0/24', 'removed 10.5.1.0/24']);
    assert.deepEqual(w.leases().map((l) => formatCidr(l.subnet)).sort(), ['10.5.2.0/24', '10.5.3.0/24']);
    ac.abort();
    await it.next();
  });
});

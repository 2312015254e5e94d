/**
 * daemon/lease-sync.ts with the real LeaseWatcher, LeaseKeeper and Reconciler on the in-memory
 * registry, two hosts: what happens when a host's lease key is overwritten with a value it did not
 * write (GitHub issue #20, item 3).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Backend, ReconcileReport } from '../../daemon/backend/backend.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { syncLeases } from '../../daemon/lease-sync.js';
import { Reconciler } from '../../daemon/reconciler.js';
import type { Lease } from '../../daemon/subnet/lease.js';
import { LeaseKeeper, MAX_TAKE_BACKS } from '../../daemon/subnet/lease-keeper.js';
import { MemorySubnetRegistry } from '../../daemon/subnet/memory-registry.js';
import { LocalSubnetManager } from '../../daemon/subnet/subnet-manager.js';
import { formatCidr, subnetKeyOf } from '../../shared/ip/cidr.js';
import { testLogger } from '../helpers/log.js';
import { until } from '../helpers/wait.js';

const cfg = parseNetConfig('{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.0","SubnetMax":"10.5.9.0","Backend":{"Type":"host-gw"}}');
const attrs = (ip: string) => ({ PublicIP: ip, BackendType: 'host-gw', BackendData: null });

/** A backend that only records the remote leases of each pass. */
function recordingBackend(): Backend & { remote: readonly Lease[] } {
  const b = {
    type: 'host-gw' as const,
    remote: [] as readonly Lease[],
    prepare: async () => ({ backendData: null, mtu: 1500 }),
    configure: async () => undefined,
    teardown: async () => undefined,
    reconcile: async (remote: readonly Lease[]): Promise<ReconcileReport> => {
      b.remote = remote;
      return { added: 0, removed: 0, failed: [], unroutable: [] };
    },
  };
  return b;
}

/** One host: its lease, keeper, watcher and lease loop, running until `stop`. */
async function startHost(reg: MemorySubnetRegistry, publicIp: string, stop: AbortSignal) {
  const lines: Array<Record<string, unknown>> = [];
  const log = testLogger(lines);
  const m = new LocalSubnetManager(reg, log);
  const lease = await m.acquireLease(cfg, attrs(publicIp), null);
  const keeper = new LeaseKeeper(m, cfg, lease, log);
  const watcher = m.watchLeases(cfg, () => ({ publicIp, subnet: keeper.current.subnet }), null, log);
  const backend = recordingBackend();
  const reconciler = new Reconciler(backend, watcher, log);
  const kept = keeper.keep(stop);
  const synced = syncLeases({ watcher, reconciler, keeper, log }, stop);
  await until(`${publicIp} ready`, () => lines.some((l) => l['msg'] === 'ready'), 5000);
  return { lease, keeper, backend, lines, kept, synced };
}

/** The PublicIP that `host`'s last reconcile pass routes `subnet` to. */
function routedTo(host: { backend: { remote: readonly Lease[] } }, subnet: Lease['subnet']): string | undefined {
  return host.backend.remote.find((l) => formatCidr(l.subnet) === formatCidr(subnet))?.attrs.PublicIP;
}

describe('our lease overwritten with a value we did not write', () => {
  const stops: AbortController[] = [];
  after(() => stops.forEach((s) => s.abort()));

  it('is taken back at once, and the peer routes our subnet to us again', async () => {
    const reg = new MemorySubnetRegistry();
    const stop = new AbortController();
    stops.push(stop);
    const a = await startHost(reg, '192.168.0.1', stop.signal);
    const b = await startHost(reg, '192.168.0.2', stop.signal);
    await until('b routes to a', () => routedTo(b, a.lease.subnet) === '192.168.0.1', 5000);

    reg.putRaw(subnetKeyOf(a.lease.subnet), JSON.stringify(attrs('192.168.0.66'))); // as `etcdctl put` would
    await until('a takes its key back', async () => {
      const l = (await reg.listLeases()).leases.find((x) => formatCidr(x.subnet) === formatCidr(a.lease.subnet));
      return l?.attrs.PublicIP === '192.168.0.1';
    }, 5000);
    await until('b routes to a again', () => routedTo(b, a.lease.subnet) === '192.168.0.1', 5000);
    const line = a.lines.find((l) => l['msg'] === 'our lease was overwritten by another writer; took it back');
    assert.ok(line, 'a says so');
    assert.equal(line['level'], 50);
    assert.equal(line['publicIp'], '192.168.0.66');
    assert.equal(line['subnet'], formatCidr(a.lease.subnet));
    assert.ok(a.keeper.held);
    assert.notEqual(a.keeper.current.leaseId, a.lease.leaseId, 'under a fresh TTL');
    // The renewal goes on from the lease taken back.
    const renewed = await new LocalSubnetManager(reg, testLogger()).renewLease(a.keeper.current);
    assert.equal(renewed.attrs.PublicIP, '192.168.0.1');
  });

  it(`is given up (the daemon stops) when another writer overwrites it again after ${MAX_TAKE_BACKS} take-backs`, async () => {
    const reg = new MemorySubnetRegistry();
    const stop = new AbortController();
    stops.push(stop);
    const a = await startHost(reg, '192.168.0.1', stop.signal);
    const key = subnetKeyOf(a.lease.subnet);
    const tookBack = () => a.lines.filter((l) => l['msg'] === 'our lease was overwritten by another writer; took it back').length;
    for (let i = 1; i <= MAX_TAKE_BACKS; i++) {
      reg.putRaw(key, JSON.stringify(attrs('192.168.0.66')));
      await until(`take-back ${i}`, () => tookBack() === i, 5000);
    }
    reg.putRaw(key, JSON.stringify(attrs('192.168.0.66')));
    assert.equal(await a.kept, 'lost');
    assert.equal(a.keeper.held, false);
    assert.equal(tookBack(), MAX_TAKE_BACKS, 'the last overwrite is left in place');
    assert.ok(a.lines.some((l) => l['level'] === 60 && /another writer keeps overwriting our lease/.test(String(l['msg']))));
    assert.equal((await reg.listLeases()).leases.find((l) => formatCidr(l.subnet) === formatCidr(a.lease.subnet))?.attrs.PublicIP, '192.168.0.66');
  });

  it('leaves alone a value that changed again before it could be taken back', async () => {
    const reg = new MemorySubnetRegistry();
    const stop = new AbortController();
    stops.push(stop);
    const log = testLogger();
    const m = new LocalSubnetManager(reg, log);
    const lease = await m.acquireLease(cfg, attrs('192.168.0.1'), null);
    const keeper = new LeaseKeeper(m, cfg, lease, log);
    reg.putRaw(subnetKeyOf(lease.subnet), JSON.stringify(attrs('192.168.0.66')));
    const seen = (await reg.listLeases()).leases[0]!;
    await reg.deleteLease(lease.subnet);
    await reg.createLease(lease.subnet, attrs('192.168.0.77'), 3600); // deleted and re-created by another host since
    await keeper.reclaim(seen, stop.signal);
    assert.equal((await reg.listLeases()).leases[0]!.attrs.PublicIP, '192.168.0.77', 'not clobbered');
    assert.equal(keeper.current.leaseId, lease.leaseId);
  });
});

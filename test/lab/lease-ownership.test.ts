/**
 * Who owns a lease key, proven in the lab with the real executables (GitHub issue #20, items 3
 * and 4): our key overwritten with another PublicIP is taken back at once; another lease carrying
 * our PublicIP is a stale lease of this host's, and neither a restart nor a re-acquisition is
 * refused because of it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ipIn } from '../helpers/netns.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';
import { until as untilEvery } from '../helpers/wait.js';
import { Lab, type LabHost } from './lab.js';

const skip = skipUnless(NETNS, ETCD);
/** These conditions spawn etcdctl or read logs: poll every 100 ms. */
const until = (what: string, fn: () => boolean | Promise<boolean>, ms: number) => untilEvery(what, fn, ms, 100);
const SUBNETS = '/coreos.com/network/subnets/';

function logSince(h: LabHost, mark: number): string {
  return readFileSync(h.log, 'utf8').slice(mark);
}

/** The host's subnet as a lease key names it ("10.57.4.0/24"). */
function subnetOf(lab: Lab, h: LabHost): string {
  return lab.subnetEnv(h)['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
}

/** The value stored under a subnet's key, or null when the key is missing. */
function leaseValue(lab: Lab, subnet: string): { PublicIP: string } | null {
  const text = lab.etcd.ctl('get', '--print-value-only', SUBNETS + subnet.replace('/', '-')).trim();
  return text ? (JSON.parse(text) as { PublicIP: string }) : null;
}

/** The PublicIP a host's route to `subnet` goes via (host-gw), or null. */
function routeVia(h: LabHost, subnet: string): string | null {
  const line = ipIn(h.ns, 'route', 'show', 'proto', '116').split('\n').find((l) => l.startsWith(subnet + ' '));
  return line ? (/ via (\S+)/.exec(line)?.[1] ?? null) : null;
}

describe('our lease overwritten with another PublicIP', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('is taken back within seconds, loudly, and the peer routes our subnet to us again', async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.57.0.0/16', Backend: { Type: 'host-gw' } } });
    await lab.startAll();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const p1 = await lab.addPod(h1);
    const p2 = await lab.addPod(h2);
    assert.ok(await lab.pingEventually(p2.ns, p1.ip));
    const subnet = subnetOf(lab, h1);
    const mark = readFileSync(h1.log, 'utf8').length;
    // As a misconfigured host or a hand-made put would: no etcd lease, another PublicIP.
    lab.etcd.ctl('put', SUBNETS + subnet.replace('/', '-'), JSON.stringify({ PublicIP: '10.199.0.77', BackendType: 'host-gw', BackendData: null }));
    await until('h1 takes its key back', () => leaseValue(lab, subnet)?.PublicIP === h1.ip, 10_000);
    await until('h1 says so', () => /"msg":"our lease was overwritten by another writer; took it back"/.test(logSince(h1, mark)), 5000);
    const line = logSince(h1, mark).split('\n').find((l) => l.includes('took it back'))!;
    assert.match(line, /"level":"error"/);
    assert.match(line, /"publicIp":"10\.199\.0\.77"/);
    await until('h2 routes h1\'s subnet to h1 again', () => routeVia(h2, subnet) === h1.ip, 10_000);
    const kv = JSON.parse(lab.etcd.ctl('get', '-w', 'json', SUBNETS + subnet.replace('/', '-'))) as { kvs: Array<{ lease?: number }> };
    assert.ok(kv.kvs[0]?.lease, 'the key is under an etcd lease (a TTL) again');
    assert.ok(await lab.pingEventually(p2.ns, p1.ip), 'pods reach each other');
    assert.equal(h1.daemon?.exitCode, null, 'h1 keeps running');
    assert.equal(subnetOf(lab, h1), subnet, 'with the same subnet');
  });
});

describe('another lease carrying our PublicIP', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('neither a restart nor the re-acquisition after our key is deleted is refused; the stale lease is deleted at start', async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.58.0.0/16', Backend: { Type: 'host-gw' } } });
    await lab.startAll();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const p1 = await lab.addPod(h1);
    const p2 = await lab.addPod(h2);
    assert.ok(await lab.pingEventually(p2.ns, p1.ip));
    const subnet = subnetOf(lab, h1);
    const stale = ['10.58.250.0/24', '10.58.251.0/24', '10.58.252.0/24'].find((s) => s !== subnet && s !== subnetOf(lab, h2))!;
    const putStale = () => lab.etcd.ctl('put', SUBNETS + stale.replace('/', '-'), JSON.stringify({ PublicIP: h1.ip, BackendType: 'host-gw', BackendData: null }));

    // A restart while a lease of an earlier life of this host (its PublicIP, another subnet) lives.
    await lab.stopDaemon(h1);
    putStale();
    let mark = readFileSync(h1.log, 'utf8').length;
    await lab.startDaemon(h1);
    assert.equal(subnetOf(lab, h1), subnet, 'the previous subnet, which the pods use');
    assert.match(logSince(h1, mark), /"msg":"deleted a stale lease carrying our PublicIP"/);
    await until('the stale lease is gone', () => leaseValue(lab, stale) === null, 5000);

    // While running: our key deleted while another lease carries our PublicIP.
    putStale();
    mark = readFileSync(h1.log, 'utf8').length;
    lab.etcd.ctl('del', SUBNETS + subnet.replace('/', '-'));
    await until('h1 re-acquires its subnet', () => leaseValue(lab, subnet)?.PublicIP === h1.ip, 10_000);
    await until('the re-acquire log line', () => /"msg":"lease re-acquired"/.test(logSince(h1, mark)), 5000);
    assert.match(logSince(h1, mark), /another lease carries our PublicIP; kept/);
    assert.doesNotMatch(logSince(h1, mark), /"level":"fatal"/, 'nothing fatal');
    assert.equal(h1.daemon?.exitCode, null, 'h1 keeps running');
    await until('h2 routes h1\'s subnet to h1 again', () => routeVia(h2, subnet) === h1.ip, 10_000);
    assert.ok(await lab.pingEventually(p2.ns, p1.ip), 'pods reach each other');
  });
});

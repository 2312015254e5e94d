/**
 * The data plane in the multi-host lab, for vxlan and host-gw: every pod reaches every other pod;
 * a departed host disappears from the others' kernels by the lease watch; a changed lease is
 * reprogrammed; a daemon restart loses no packet; masquerading hides pods from the outside but
 * not from each other; DirectRouting routes same-segment hosts directly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ipIn } from '../helpers/netns.js';
import { observedSource } from '../helpers/udp-probe.js';
import { until } from '../helpers/wait.js';
import { Lab, type LabPod, UNDERLAY_GW } from './lab.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);

async function allPairsPing(lab: Lab, pods: LabPod[]): Promise<string[]> {
  const failures: string[] = [];
  for (const a of pods) {
    for (const b of pods) {
      if (a !== b && !(await lab.pingEventually(a.ns, b.ip, 5000))) failures.push(`${a.ns} -> ${b.ip}`);
    }
  }
  return failures;
}

function routesOf(ns: string): string {
  return ipIn(ns, 'route', 'show', 'proto', '116');
}

for (const backend of ['vxlan', 'host-gw'] as const) {
  describe(`${backend} backend, 3 hosts`, { skip }, () => {
    let lab: Lab;
    const pods: LabPod[] = [];

    before(async () => {
      lab = await Lab.create({ hosts: 3, netConf: { Network: '10.42.0.0/16', Backend: { Type: backend } }, daemonArgs: ['--ip-masq'] });
      await lab.startAll();
      for (const h of lab.hosts) pods.push(await lab.addPod(h));
      pods.push(await lab.addPod(lab.host(1)));
    });
    after(async () => lab?.destroy());

    it('gives each host a distinct subnet in flannel layout', () => {
      const keys = lab.etcd.ctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/').split('\n').filter(Boolean);
      assert.equal(keys.length, 3);
      const subnets = lab.hosts.map((h) => lab.subnetEnv(h)['FLANNEL_SUBNET']);
      assert.equal(new Set(subnets).size, 3);
    });

    it('lets every pod reach every other pod, on the same host and across hosts', async () => {
      assert.deepEqual(await allPairsPing(lab, pods), []);
    });

    it('masquerades pod traffic to the outside, but keeps pod sources between pods', async () => {
      assert.equal(await observedSource(pods[0]!.ns, lab.underlay, UNDERLAY_GW), lab.host(1).ip);
      assert.equal(await observedSource(pods[0]!.ns, pods[1]!.ns, pods[1]!.ip), pods[0]!.ip);
    });

    it('keeps ping running without loss while a daemon restarts', async () => {
      const h1 = lab.host(1);
      const ping = spawn('ip', ['netns', 'exec', pods[0]!.ns, 'ping', '-n', '-i', '0.05', '-c', '80', '-W', '1', pods[1]!.ip], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      ping.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const done = new Promise<void>((r) => ping.on('exit', () => r()));
      await until('the first ping reply', () => out.includes(' bytes from '), 5000);
      await lab.stopDaemon(h1);
      await lab.startDaemon(h1);
      await done;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      assert.ok(m, out);
      assert.equal(m[2], m[1], `lost packets during restart: ${out}`);
    });

    it('removes a departed host from the other kernels by the lease watch, long before a kernel resync', async () => {
      const h3 = lab.host(3);
      const subnet = lab.subnetEnv(h3)['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
      assert.match(routesOf(lab.host(1).ns), new RegExp(subnet.replace(/\./g, '\\.')));
      await lab.stopDaemon(h3);
      lab.etcd.ctl('del', `/coreos.com/network/subnets/${subnet.replace('/', '-')}`);
      // README's "within a second" is a latency figure, not a test bound: on a loaded machine it
      // flakes. 5 s still tells the watch from the fallback, the kernel resync every 60 s.
      const ms = await until('route removal', () => !routesOf(lab.host(1).ns).includes(subnet) && !routesOf(lab.host(2).ns).includes(subnet), 5000);
      console.log(`# ${backend}: departed host's routes gone from both other hosts after ${ms} ms`);
      if (backend === 'vxlan') assert.doesNotMatch(ipIn(lab.host(1).ns, 'neigh', 'show', 'dev', 'flannel.1'), new RegExp(subnet.split('/')[0]!.replace(/\./g, '\\.') + ' '));
      await lab.startDaemon(h3);
      assert.ok(await lab.pingEventually(pods[0]!.ns, pods[2]!.ip), 'host 3 reachable again after it came back');
    });

    it('reprograms a changed lease', async () => {
      const h2 = lab.host(2);
      const subnet = lab.subnetEnv(h2)['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
      const key = `/coreos.com/network/subnets/${subnet.replace('/', '-')}`;
      const original = lab.etcd.ctl('get', '--print-value-only', key).trim();
      // A running daemon writes its own lease back when another writer changes it: the change
      // comes, as it would from the host itself, while h2's daemon is stopped.
      await lab.stopDaemon(h2);
      const changed = backend === 'vxlan'
        ? JSON.stringify({ ...JSON.parse(original), BackendData: { VNI: 1, VtepMAC: '0a:bb:cc:dd:ee:ff' } })
        : JSON.stringify({ ...JSON.parse(original), PublicIP: '10.199.0.77' });
      lab.etcd.ctl('put', key, changed);
      const probe = backend === 'vxlan'
        ? () => ipIn(lab.host(1).ns, 'neigh', 'show', 'dev', 'flannel.1').includes('0a:bb:cc:dd:ee:ff')
        : () => routesOf(lab.host(1).ns).includes(`${subnet} via 10.199.0.77`);
      await until('reprogramming', probe, 2000);
      lab.etcd.ctl('put', key, original);
      await lab.startDaemon(h2);
      assert.ok(await lab.pingEventually(pods[0]!.ns, pods[1]!.ip), 'original lease restored');
    });
  });
}

describe('vxlan DirectRouting', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('routes same-segment hosts directly and the others through the VXLAN device', async () => {
    lab = await Lab.create({ hosts: 3, routedHosts: [3], netConf: { Network: '10.43.0.0/16', Backend: { Type: 'vxlan', DirectRouting: true } } });
    await lab.startAll();
    const pods = [];
    for (const h of lab.hosts) pods.push(await lab.addPod(h));
    const sub = (n: number): string => lab.subnetEnv(lab.host(n))['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
    await until('h1 routes to both hosts', () => routesOf(lab.host(1).ns).split('\n').filter(Boolean).length >= 2, 5000);
    const r = routesOf(lab.host(1).ns);
    assert.match(r, new RegExp(`${sub(2).replace(/\./g, '\\.')} via 10\\.199\\.0\\.2 dev eth0`));
    assert.match(r, new RegExp(`${sub(3).replace(/\./g, '\\.')} via ${sub(3).split('/')[0]!.replace(/\./g, '\\.')} dev flannel\\.1 onlink`));
    assert.deepEqual(await allPairsPing(lab, pods), []);
  });
});

describe('host-gw across segments, and alloc', { skip }, () => {
  let lab: Lab | undefined;
  after(async () => lab?.destroy());

  it('host-gw logs a lease whose PublicIP is not on our segment as unroutable', async () => {
    lab = await Lab.create({ hosts: 2, routedHosts: [2], netConf: { Network: '10.47.0.0/16', Backend: { Type: 'host-gw' } } });
    await lab.startAll();
    const sub2 = lab.subnetEnv(lab.host(2))['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
    await until('unroutable log line', () => lab!.logTail(lab!.host(1), 200).includes(`"lease":"${sub2} via 10.199.1.2","msg":"lease unroutable"`), 3000);
    assert.doesNotMatch(routesOf(lab.host(1).ns), new RegExp(sub2.replace(/\./g, '\\.')));
    await lab.destroy();
    lab = undefined;
  });

  it('alloc leases subnets and programs nothing', async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.48.0.0/16', Backend: { Type: 'alloc' } } });
    await lab.startAll();
    assert.equal(lab.etcd.ctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/').split('\n').filter(Boolean).length, 2);
    for (const h of lab.hosts) {
      assert.equal(routesOf(h.ns).trim(), '');
      assert.match(lab.subnetEnv(h)['FLANNEL_SUBNET']!, /^10\.48\.\d+\.1\/24$/);
      assert.equal(lab.subnetEnv(h)['FLANNEL_MTU'], '1500');
    }
  });
});

describe('kernel drift', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('puts back a route deleted by hand at the next kernel re-read', async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.49.0.0/16', Backend: { Type: 'vxlan' } }, daemonArgs: ['--kernel-resync-interval', '2'] });
    await lab.startAll();
    const sub2 = lab.subnetEnv(lab.host(2))['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
    // Both daemons start together: h2's lease may reach h1 just after h1 reports ready.
    await until('h1 routes to h2', () => routesOf(lab.host(1).ns).includes(sub2), 5000);
    ipIn(lab.host(1).ns, 'route', 'del', sub2);
    assert.doesNotMatch(routesOf(lab.host(1).ns), new RegExp(sub2.replace(/\./g, '\\.')));
    await until('the route is back', () => routesOf(lab.host(1).ns).includes(sub2), 5000);
  });
});

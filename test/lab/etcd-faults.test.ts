/**
 * etcd faults a host cannot see, proven in the lab with etcd in a namespace of its own: a power
 * loss while the host is cut off (its connection stays "established" and nothing ever arrives on
 * it), and a stop while etcd cannot be reached (every packet to it dropped).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { dropTraffic } from '../helpers/cut-off.js';
import { ipIn } from '../helpers/netns.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';
import { until } from '../helpers/wait.js';
import { Lab, type LabHost } from './lab.js';

const skip = skipUnless(NETNS, ETCD);

/** A lease of a host that does not exist, as another twilld would write it. */
function foreignLease(lab: Lab, subnet: string, publicIp: string): void {
  const value = JSON.stringify({ PublicIP: publicIp, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '02:00:00:00:99:01' } });
  lab.etcd.ctl('put', `/coreos.com/network/subnets/${subnet.replace('/', '-')}`, value);
}

describe('etcd loses power while a host is cut off from it', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('the host notices its dead connection, resyncs, and a lease put afterwards reaches it', async () => {
    lab = await Lab.create({ hosts: 1, etcdNetns: true, netConf: { Network: '10.54.0.0/16', Backend: { Type: 'vxlan' } } });
    const h1 = lab.host(1);
    // The default 24 h lease: no renewal, so nothing but the watch talks to etcd.
    await lab.startDaemon(h1);
    const mark = readFileSync(h1.log, 'utf8').length;
    const since = (): string => readFileSync(h1.log, 'utf8').slice(mark);
    const withLog = (e: Error): never => {
      throw new Error(`${e.message}; h1's log since the cut:\n${since().slice(-3000)}`);
    };
    const reconnect = dropTraffic(h1.ns, lab.etcdAddresses);
    try {
      await lab.powerOffEtcd(0);
      await lab.powerOnEtcd(0);
      // Still cut off: nothing can arrive, so noticing is up to the host itself.
      await until('h1 to notice its dead connection', () => since().includes('"msg":"lease watch broken, resyncing"'), 20_000, 200).catch(withLog);
    } finally {
      reconnect();
    }
    foreignLease(lab, '10.54.200.0/24', '10.199.0.99');
    await until('h1 routes to the lease put after the power loss', () => ipIn(h1.ns, 'route', 'show', 'proto', '116').includes('10.54.200.0/24'), 20_000, 200).catch(withLog);
    // The log reaches its file through this process: wait for the line rather than read at once.
    await until('the resync in the log', () => since().includes('"msg":"leases resynced"'), 5000, 100).catch(withLog);
  });
});

describe('SIGTERM while etcd cannot be reached (its packets dropped, a connect pending)', { skip }, () => {
  let lab: Lab;
  let h1: LabHost;
  before(async () => {
    lab = await Lab.create({ hosts: 1, etcdNetns: true, netConf: { Network: '10.55.0.0/16', Backend: { Type: 'vxlan' } } });
    h1 = lab.host(1);
  });
  after(async () => lab?.destroy());

  /** Sends SIGTERM; resolves with the exit status and how long the daemon took to exit. */
  async function stopTimed(): Promise<{ code: number | null; ms: number }> {
    const t0 = Date.now();
    const code = await lab.stopDaemon(h1);
    return { code, ms: Date.now() - t0 };
  }

  it('during start-up: exits 0 within 1.5 s', async () => {
    const reconnect = dropTraffic(h1.ns, lab.etcdAddresses);
    try {
      const mark = existsSync(h1.log) ? readFileSync(h1.log, 'utf8').length : 0;
      await lab.startDaemon(h1, [], false);
      await until('the daemon to start', () => readFileSync(h1.log, 'utf8').slice(mark).includes('"msg":"twilld starting"'), 10_000, 50);
      await delay(1500); // its first read of the network config is waiting on the connect
      const { code, ms } = await stopTimed();
      assert.equal(code, 0, `exit status; log:\n${lab.logTail(h1)}`);
      assert.ok(ms < 1500, `stopped in ${ms} ms`);
    } finally {
      reconnect();
    }
  });

  it('in steady state: exits 0 within 1.5 s', async () => {
    // A lease renewed every 3 s: a renewal is waiting on etcd when the signal comes, as is the watch.
    await lab.startDaemon(h1, ['--subnet-lease-ttl', '6', '--subnet-lease-renew-margin', '60']);
    const reconnect = dropTraffic(h1.ns, lab.etcdAddresses);
    try {
      await delay(4000);
      const { code, ms } = await stopTimed();
      assert.equal(code, 0, `exit status; log:\n${lab.logTail(h1)}`);
      assert.ok(ms < 1500, `stopped in ${ms} ms`);
    } finally {
      reconnect();
    }
  });
});

/**
 * Faults, proven in the lab: etcd down (one member, and one of three), a lease that really expires,
 * hostile data in etcd, etcd over TLS with client certificates, and secrets kept out of logs.
 * TWILL_OUTAGE_S sets the outage length (default 60 s, as the reliability issue asks).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ipIn } from '../helpers/netns.js';
import { makePki } from '../helpers/tls.js';
import { until as untilEvery } from '../helpers/wait.js';
import { Lab, type LabHost, type LabPod } from './lab.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);
const OUTAGE_S = Number(process.env['TWILL_OUTAGE_S'] ?? 60);
/** These conditions spawn etcdctl or read logs: poll every 100 ms. */
const until = (what: string, fn: () => boolean | Promise<boolean>, ms: number) => untilEvery(what, fn, ms, 100);
const SHORT_TTL = ['--subnet-lease-ttl', '20', '--subnet-lease-renew-margin', '60']; // renew every 10 s

/** Pings continuously (5 per second) for `seconds`; resolves with [sent, received]. */
function pingFor(from: LabPod, to: LabPod, seconds: number): Promise<[number, number]> {
  const count = Math.round(seconds * 5);
  const p = spawn('ip', ['netns', 'exec', from.ns, 'ping', '-n', '-q', '-i', '0.2', '-c', String(count), '-W', '1', to.ip], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => p.on('exit', () => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    resolve(m ? [Number(m[1]), Number(m[2])] : [count, 0]);
  }));
}

function logSince(h: LabHost, mark: number): string {
  return readFileSync(h.log, 'utf8').slice(mark);
}

for (const members of [1, 3]) {
  describe(`etcd outage: ${members === 1 ? 'the only etcd member' : 'one of three etcd members'} down for ${OUTAGE_S} s`, { skip }, () => {
    let lab: Lab;
    after(async () => lab?.destroy());

    it('pods keep pinging with 0 loss, the socket keeps serving, and the lease is renewed', async () => {
      lab = await Lab.create({ hosts: 2, etcdMembers: members, netConf: { Network: '10.50.0.0/16', Backend: { Type: 'vxlan' } }, daemonArgs: SHORT_TTL });
      await lab.startAll();
      const [h1, h2] = [lab.host(1), lab.host(2)];
      const p1 = await lab.addPod(h1);
      const p2 = await lab.addPod(h2);
      assert.ok(await lab.pingEventually(p1.ns, p2.ip));
      const marks = lab.hosts.map((h) => readFileSync(h.log, 'utf8').length);
      const ping = pingFor(p1, p2, OUTAGE_S + 8);
      await delay(2000);
      const down = lab.etcdServers[0]!;
      await down.stopProcess();
      await delay((OUTAGE_S * 1000) / 2);
      // The daemons still answer and still give out addresses.
      assert.equal((await lab.api<{ subnet: string }>(h1, '/v1/lease')).subnet.endsWith('/24'), true);
      const p3 = await lab.addPod(h1);
      assert.ok(lab.ping(p3.ns, p1.ip), 'a pod created during the outage works');
      await delay((OUTAGE_S * 1000) / 2);
      const restartedAt = Date.now();
      await down.startProcess();
      const [sent, received] = await ping;
      assert.equal(received, sent, `lost ${sent - received} of ${sent} pings during the outage`);
      for (const [i, h] of lab.hosts.entries()) {
        if (members === 1) {
          assert.match(logSince(h, marks[i]!), /lease renewal failed, retrying|lease watch broken/, 'the daemon noticed and backed off');
          await until(`h${h.n} renews after etcd is back`, () => {
            const lines = logSince(h, marks[i]!).split('\n').filter((l) => l.includes('"msg":"lease renewed"'));
            return lines.some((l) => Date.parse(JSON.parse(l).time) > restartedAt);
          }, 30_000);
        } else {
          assert.match(logSince(h, marks[i]!), /"msg":"lease renewed"/, 'renewals continued through the other members');
        }
      }
      const keys = lab.etcd.ctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/').split('\n').filter(Boolean);
      assert.equal(keys.length, 2);
    });
  });
}

describe('a lease that really expires', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('is re-acquired with the same subnet and the other hosts are reprogrammed', async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.51.0.0/16', Backend: { Type: 'vxlan' } }, daemonArgs: ['--subnet-lease-ttl', '6', '--subnet-lease-renew-margin', '60'] });
    await lab.startAll();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const p1 = await lab.addPod(h1);
    const p2 = await lab.addPod(h2);
    const subnet = lab.subnetEnv(h1)['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
    const pid = h1.daemon!.pid!;
    // Freeze h1's daemon past its TTL: etcd expires the lease and h2 removes h1's routes.
    process.kill(pid, 'SIGSTOP');
    try {
      await until('h2 drops the expired lease', () => !ipIn(h2.ns, 'route', 'show', 'proto', '116').includes(subnet), 15_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until('h1 re-acquires its subnet', () => lab.etcd.ctl('get', '--keys-only', `/coreos.com/network/subnets/${subnet.replace('/', '-')}`).trim() !== '', 15_000);
    await until('the re-acquire log line', () => /"msg":"lease re-acquired"/.test(readFileSync(h1.log, 'utf8')), 5000);
    await until('h2 routes to h1 again', () => ipIn(h2.ns, 'route', 'show', 'proto', '116').includes(subnet), 10_000);
    assert.ok(await lab.pingEventually(p2.ns, p1.ip), 'pods reach each other again');
    assert.equal(lab.subnetEnv(h1)['FLANNEL_SUBNET'], subnet.replace('.0/', '.1/'));
  });
});

describe('hostile data in etcd', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('is logged and skipped; the daemon and the pods are unaffected', async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.52.0.0/16', Backend: { Type: 'vxlan' } } });
    await lab.startAll();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const p1 = await lab.addPod(h1);
    const p2 = await lab.addPod(h2);
    const k = (s: string) => `/coreos.com/network/subnets/${s}`;
    const hostile: Array<[string, string, RegExp]> = [
      [k('10.52.200.0-24'), '{"PublicIP": "10.199.0.9", "BackendType": "vxlan", "BackendData": ', /not valid JSON/],
      [k('10.52.201.0-24'), '{"PublicIP":"$(reboot)","BackendType":"vxlan","BackendData":{"VtepMAC":"02:00:00:00:00:01"}}', /is not an IPv4 address/],
      [k('10.99.0.0-24'), '{"PublicIP":"10.199.0.9","BackendType":"vxlan","BackendData":{"VtepMAC":"02:00:00:00:00:02"}}', /not a \/24 subnet of the Network/],
      [k('10.52.202.0-24'), JSON.stringify({ PublicIP: h1.ip, BackendType: 'vxlan', BackendData: { VtepMAC: '02:00:00:00:00:03' } }), /claims this host's PublicIP/],
      [k('10.52.203.0-24'), JSON.stringify({ PublicIP: '10.199.0.9', BackendType: 'vxlan', BackendData: { pad: 'x'.repeat(20000) } }), /over the 16384-byte limit/],
      [k('garbage-key'), '{"PublicIP":"10.199.0.9"}', /not a subnet key|not an IPv4/],
    ];
    const mark = readFileSync(h1.log, 'utf8').length;
    for (const [key, value] of hostile) lab.etcd.ctl('put', key, value);
    const missing = (): string[] => {
      const lines = logSince(h1, mark).split('\n').filter((l) => l.includes('lease skipped'));
      return hostile.filter(([, , reason]) => !lines.some((l) => reason.test(l))).map(([key]) => key);
    };
    // A liveness wait, not a latency bound; on a timeout, say which leases were not logged and what was.
    await until('every hostile lease logged', () => missing().length === 0, 15_000).catch((e: Error) => {
      throw new Error(`${e.message}: not logged for ${missing().join(', ')}; log since the puts:\n${logSince(h1, mark).slice(-4000)}`);
    });
    assert.ok(h1.daemon && h1.daemon.exitCode === null, 'the daemon is still running');
    const routes = ipIn(h1.ns, 'route', 'show', 'proto', '116');
    assert.doesNotMatch(routes, /10\.52\.20[0-3]\.0|10\.99\.0\.0/);
    assert.ok(lab.ping(p1.ns, p2.ip) && lab.ping(p2.ns, p1.ip), 'pods still reach each other');
    const later = await lab.addPod(h1);
    assert.ok(lab.ping(later.ns, p2.ip), 'new pods still work');
  });
});

describe('etcd over TLS with client certificates', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('works with the right CA; a wrong CA fails with a clear message; the password never reaches the log', async () => {
    lab = await Lab.create({ hosts: 2, etcdTls: true, netConf: { Network: '10.53.0.0/16', Backend: { Type: 'host-gw' } } });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    await lab.startDaemon(h1);
    assert.match(lab.subnetEnv(h1)['FLANNEL_SUBNET']!, /^10\.53\./);
    const other = makePki(lab.dir, '10.199.0.254', 'other-ca');
    const password = 'pa55-twill-SECRET-value';
    await lab.startDaemon(h2, ['--etcd-cafile', other.ca, '--etcd-certfile', other.clientCert, '--etcd-keyfile', other.clientKey,
      '--etcd-username', 'root', '--etcd-password', password], false);
    // Only the daemon's own lines: the lab's "--- start" marker repeats the command line.
    const daemonLines = (h: LabHost) => readFileSync(h.log, 'utf8').split('\n').filter((l) => l.startsWith('{')).join('\n');
    // The failure itself (the start line's "tls":true is not one).
    const failures = () => daemonLines(h2).split('\n').filter((l) => !/"msg":"twilld starting"/.test(l)).join('\n');
    await until('a certificate error in the log', () => /certificate|self.signed|SSL|TLS/i.test(failures()), 20_000);
    assert.match(daemonLines(h2), /waiting for a valid network config|cannot/);
    assert.ok(!daemonLines(h2).includes(password), 'the etcd password is not logged');
    assert.ok(!daemonLines(h1).includes(password));
  });
});

/**
 * twilld on a 3-member etcd cluster (each member in a namespace of its own, --etcd-endpoints
 * listing all three) through the faults a production cluster sees: the leader killed, a member
 * partitioned from its peers (still reachable from the hosts), every member restarted in turn.
 * Leases keep renewing, a new lease reaches every host after each fault, a pod pinging a pod on
 * the other host loses nothing, and a daemon whose watch member is partitioned says which member
 * it moved to.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { dropTraffic } from '../helpers/cut-off.js';
import type { EtcdServer } from '../helpers/etcd.js';
import { ipIn } from '../helpers/netns.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';
import { until } from '../helpers/wait.js';
import { Lab, type LabHost, type LabPod } from './lab.js';

const skip = skipUnless(NETNS, ETCD);
/**
 * Leases renewed every 8 s, gone 16 s after the last renewal: room for one renewal attempt that
 * waits out its 5 s deadline on a member that has just lost its quorum, and a retry.
 */
const LEASE_TTL_S = 16;
const LEASE_ARGS = ['--subnet-lease-ttl', String(LEASE_TTL_S), '--subnet-lease-renew-margin', '60'];

/** When a host's lease was acquired or renewed, from its log. */
function leaseTimes(log: string): number[] {
  return log.split('\n').filter((l) => /"msg":"lease (acquired|reused|renewed)"/.test(l)).map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
}

/** What a ping run saw: unanswered lines carry their time (ping -D). */
interface PingResult {
  sent: number;
  received: number;
  unanswered: string[];
}

/** A ping every 200 ms from one pod to another until stop(). */
function startPing(from: LabPod, to: LabPod): { stop(): Promise<PingResult> } {
  const p = spawn('ip', ['netns', 'exec', from.ns, 'ping', '-n', '-D', '-O', '-i', '0.2', '-W', '1', to.ip], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  return {
    async stop() {
      p.kill('SIGINT'); // ping prints its statistics and exits
      await exited;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) throw new Error(`no ping statistics in: ${out}`);
      return { sent: Number(m[1]), received: Number(m[2]), unanswered: out.split('\n').filter((l) => l.includes('no answer')) };
    },
  };
}

describe('a 3-member etcd cluster: leader killed, a member partitioned, members restarted', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('leases keep renewing, watches keep delivering, no ping is lost, and the daemon says which member it moved to', async () => {
    lab = await Lab.create({ hosts: 2, etcdMembers: 3, etcdNetns: true, netConf: { Network: '10.56.0.0/16', Backend: { Type: 'vxlan' } }, daemonArgs: LEASE_ARGS });
    await lab.startAll();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const p1 = await lab.addPod(h1);
    const p2 = await lab.addPod(h2);
    assert.ok(await lab.pingEventually(p1.ns, p2.ip), 'the pods reach each other');
    const marks = lab.hosts.map((h) => readFileSync(h.log, 'utf8').length);
    const since = (h: LabHost): string => readFileSync(h.log, 'utf8').slice(marks[lab.hosts.indexOf(h)]!);
    /** A member that answers and has a leader, to write through. */
    const healthy = (except: EtcdServer[] = []): EtcdServer => {
      const e = lab.etcdServers.find((m) => !except.includes(m) && m.isHealthy());
      if (!e) throw new Error('no healthy etcd member');
      return e;
    };
    let leases = 0;
    /** Puts the lease of a host that does not exist; every host must route to it. */
    const newLeaseReachesAll = async (after: string, except: EtcdServer[] = []): Promise<void> => {
      const subnet = `10.56.${200 + leases++}.0/24`;
      const value = JSON.stringify({ PublicIP: `10.199.0.${90 + leases}`, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `02:00:00:00:98:${leases.toString(16).padStart(2, '0')}` } });
      healthy(except).ctl('put', `/coreos.com/network/subnets/${subnet.replace('/', '-')}`, value);
      for (const h of lab.hosts) {
        await until(`h${h.n} to route to the lease put after ${after}`, () => ipIn(h.ns, 'route', 'show', 'proto', '116').includes(subnet), 20_000, 200)
          .catch((e: Error) => {
            throw new Error(`${e.message}; its log:\n${since(h).slice(-3000)}`);
          });
      }
    };
    /** Waits until every host has renewed its lease since `from` (a fault in place). */
    const everyHostRenews = async (from: number, what: string): Promise<void> => {
      for (const h of lab.hosts) await until(`h${h.n} to renew its lease ${what}`, () => leaseTimes(since(h)).some((t) => t > from), LEASE_TTL_S * 1000, 200);
    };
    /** The member holding a host's lease watch, as its log last said. */
    const watchMember = (h: LabHost): string => {
      const lines = readFileSync(h.log, 'utf8').split('\n').filter((l) => /"msg":"lease watch (served by|moved to)/.test(l));
      return String((JSON.parse(lines.at(-1)!) as { member: string }).member);
    };

    const ping = startPing(p1, p2);
    let pings: PingResult;
    try {
      // 1. The leader killed; the others elect a new one; it comes back.
      const leader = lab.etcdServers.find((m) => m.isLeader());
      assert.ok(leader, 'a leader');
      await leader.stopProcess('SIGKILL');
      const killedAt = Date.now();
      await until('a new leader', () => lab.etcdServers.some((m) => m !== leader && m.isLeader()), 15_000, 200);
      await newLeaseReachesAll('the leader was killed', [leader]);
      await everyHostRenews(killedAt, 'while the old leader is down');
      await leader.startProcess();
      await leader.waitHealthy();

      // 2. The member holding h1's watch cut off from its peers, still reachable from the hosts.
      const held = watchMember(h1);
      const i = lab.etcdServers.findIndex((m) => held === `${m.name} ${m.endpoint}`);
      assert.ok(i >= 0, `h1's watch member ${held} is one of the lab's`);
      const partitioned = lab.etcdServers[i]!;
      const heal = dropTraffic(lab.etcdNs(i), lab.etcdAddresses.filter((_, j) => j !== i));
      const cutAt = Date.now();
      try {
        await newLeaseReachesAll(`${partitioned.name} was partitioned`, [partitioned]);
        await everyHostRenews(cutAt, `while ${partitioned.name} is partitioned`);
        await until('h1 to say it moved', () => since(h1).split('\n').some((l) => l.includes('"msg":"lease watch moved to another etcd member"') && l.includes(`"previous":"${held}"`)), 5000, 100);
      } finally {
        heal();
      }
      await partitioned.waitHealthy();

      // 3. Every member restarted in turn.
      for (const m of lab.etcdServers) {
        await m.stopProcess();
        await m.startProcess();
        await m.waitHealthy();
      }
      await newLeaseReachesAll('every member was restarted');
    } finally {
      pings = await ping.stop();
    }
    const faultsTo = Date.now();
    assert.equal(pings.received, pings.sent, `lost ${pings.sent - pings.received} of ${pings.sent} pings; unanswered:\n${pings.unanswered.join('\n')}`);
    for (const h of lab.hosts) {
      assert.doesNotMatch(since(h), /our lease disappeared|lease lost|cannot re-acquire/, `h${h.n} kept its lease`);
      // Renewed through the faults and after them, never near its expiry.
      await until(`h${h.n} to renew after the faults`, () => leaseTimes(since(h)).some((t) => t > faultsTo), LEASE_TTL_S * 1000, 200);
      const times = leaseTimes(readFileSync(h.log, 'utf8'));
      const gaps = times.slice(1).map((t, k) => t - times[k]!);
      assert.ok(Math.max(...gaps) < (LEASE_TTL_S - 2) * 1000, `h${h.n}'s renewals ${gaps.join(', ')} ms apart: one came close to the ${LEASE_TTL_S} s TTL`);
    }
    const keys = healthy().ctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/').split('\n').filter(Boolean);
    assert.equal(keys.length, 2 + leases, 'both hosts\' leases and the ones put are there');
  });
});

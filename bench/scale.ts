/**
 * Scale: N synthetic leases in etcd → time until a freshly started twilld has programmed them all
 * (cold start), next to `ip -batch`/`bridge -batch` applying the same entries; a new lease → 10
 * running daemons (p50/p99); twilld's RSS once settled, sampled on a schedule, and its peak.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createNetns, deleteNetns, ipIn, sh } from '../test/helpers/netns.js';
import { Lab } from '../test/lab/lab.js';
import { mdTable, ratioTarget, unmeasuredTarget, valueTarget } from './report.js';
import { everyUntil, readRss, sampleRssAt } from './rss.js';
import { fmt, median, percentile, timed } from './stats.js';

interface Synthetic { key: string; subnet: string; publicIp: string; mac: string; value: string }

function synthetic(n: number, offset = 0): Synthetic[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset + 1;
    const subnet = `10.${(i >> 8) & 255}.${i & 255}.0`;
    const publicIp = `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`;
    const mac = `0a:${[(i >> 16) & 255, (i >> 8) & 255, i & 255, 1, 2].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    return { key: `/coreos.com/network/subnets/${subnet}-24`, subnet, publicIp, mac, value: JSON.stringify({ PublicIP: publicIp, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: mac } }) };
  });
}

/** How long the daemon runs after its cold start before the RSS that the target judges is read. */
const SETTLE_MS = 10_000;

/** How long the propagation run waits for its ten daemons to be ready. */
const DAEMONS_READY_MS = 90_000;

/** How twilld's RSS is sampled after each cold start: every `everyS` seconds for `forS` seconds. */
export interface RssSampling { everyS: number; forS: number }

const PUT_LEASES = fileURLToPath(new URL('./put-leases.js', import.meta.url));

/** Writes the leases from inside the lab (where etcd is), 64 puts in flight. */
function putAll(lab: Lab, leases: Synthetic[]): void {
  const lines = leases.map((l) => JSON.stringify({ key: l.key, value: l.value })).join('\n');
  sh('ip', ['netns', 'exec', lab.underlay, process.execPath, PUT_LEASES, lab.etcdEndpoint], lines + '\n');
}

function logTimes(path: string, msg: string, since: number): Array<{ t: number; line: Record<string, unknown> }> {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('{') && l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>).map((line) => ({ t: Date.parse(String(line['time'])), line })).filter((x) => x.t >= since);
}

async function coldStart(n: number, sampling: RssSampling): Promise<{ ms: number; batchMs: number; rssMb: number; peakMb: number; sampledMb: number[] }> {
  const lab = await Lab.create({ hosts: 1, netConf: { Network: '10.0.0.0/8', Backend: { Type: 'vxlan' } } });
  try {
    putAll(lab, synthetic(n));
    const h = lab.host(1);
    const t0 = Date.now();
    await lab.startDaemon(h, [], false);
    const pid = h.daemon!.pid!;
    let done = 0;
    while (Date.now() - t0 < 120_000) {
      const r = logTimes(h.log, 'kernel reconciled', t0).find((x) => x.line['remote'] === n && x.line['added'] === 3 * n);
      if (r) {
        done = r.t - t0;
        break;
      }
      await delay(50);
    }
    if (!done) throw new Error(`twilld did not program ${n} leases`);
    const routes = ipIn(h.ns, 'route', 'show', 'proto', '116').split('\n').filter(Boolean).length;
    if (routes !== n) throw new Error(`${routes} routes programmed, expected ${n}`);
    // Resident memory once the daemon has settled (the watch started, the first collections done),
    // not at the moment of the last kernel change, which catches it before its heap has grown;
    // and the sampler's readings, on the same clock from the end of the cold start.
    const sampled = everyUntil(sampling.everyS * 1000, sampling.forS * 1000);
    const readings = await sampleRssAt(pid, performance.now(), [...new Set([SETTLE_MS, ...sampled])]);
    const settled = readings.find((r) => r.atMs === SETTLE_MS)!.rssMb;
    const { peakMb } = readRss(pid);
    // The same entries with iproute2's batch mode in a fresh namespace with the same device.
    const ns = createNetns(`tw-${lab.id}-ipb`);
    try {
      ipIn(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
      ipIn(ns, 'addr', 'add', '172.31.255.1/16', 'dev', 'eth0');
      ipIn(ns, 'link', 'set', 'eth0', 'up');
      ipIn(ns, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'local', '172.31.255.1', 'dev', 'eth0', 'dstport', '8472', 'nolearning');
      ipIn(ns, 'link', 'set', 'flannel.1', 'up');
      const leases = synthetic(n);
      const fdb = leases.map((l) => `fdb replace ${l.mac} dev flannel.1 dst ${l.publicIp} self permanent`).join('\n');
      const ipl = leases.flatMap((l) => [`neigh replace ${l.subnet} lladdr ${l.mac} dev flannel.1 nud permanent`, `route replace ${l.subnet}/24 via ${l.subnet} dev flannel.1 onlink`]).join('\n');
      const b = await timed('bridge', ['-n', ns, '-batch', '-'], { stdin: fdb + '\n' });
      const i = await timed('ip', ['-n', ns, '-batch', '-'], { stdin: ipl + '\n' });
      return { ms: done, batchMs: b.ms + i.ms, rssMb: settled, peakMb, sampledMb: readings.filter((r) => sampled.includes(r.atMs)).map((r) => r.rssMb) };
    } finally {
      deleteNetns(ns);
    }
  } finally {
    await lab.destroy();
  }
}

async function propagation(hosts: number, samples: number): Promise<number[]> {
  const lab = await Lab.create({ hosts, netConf: { Network: '10.0.0.0/8', Backend: { Type: 'vxlan' } } });
  try {
    // Ten daemons starting at once on a small shared machine can take longer than the lab's usual
    // wait for one; what is measured here is propagation between running daemons, not start-up.
    await Promise.all(lab.hosts.map((h) => lab.startDaemon(h, [], false)));
    for (const h of lab.hosts) await lab.waitReady(h, DAEMONS_READY_MS);
    const lat: number[] = [];
    const leases = synthetic(samples, 60_000);
    // One writer for all puts; it prints when etcd acknowledged each one (the lease exists).
    const writer = spawn('ip', ['netns', 'exec', lab.underlay, process.execPath, PUT_LEASES, lab.etcdEndpoint, '--one-by-one'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const acks = createInterface({ input: writer.stdout })[Symbol.asyncIterator]();
    await acks.next(); // "ready": connected, so the first put is timed like the others
    try {
    for (const l of leases) {
      // From the moment the put is handed to the running writer (no process start counted);
      // daemons may see the watch event before the writer sees etcd's acknowledgement.
      const t0 = Date.now();
      writer.stdin.write(JSON.stringify({ key: l.key, value: l.value }) + '\n');
      await acks.next();
      const seen = new Set<number>();
      while (seen.size < hosts && Date.now() - t0 < 10_000) {
        for (const h of lab.hosts) {
          if (seen.has(h.n)) continue;
          const added = logTimes(h.log, 'lease added', t0).find((x) => x.line['subnet'] === `${l.subnet}/24`);
          if (!added) continue;
          const rec = logTimes(h.log, 'kernel reconciled', added.t).find((x) => (x.line['added'] as number) > 0);
          if (rec) {
            seen.add(h.n);
            lat.push(rec.t - t0);
          }
        }
        await delay(20);
      }
      if (seen.size < hosts) throw new Error(`lease ${l.subnet} reached ${seen.size}/${hosts} hosts`);
    }
    } finally {
      writer.stdin.end();
      writer.kill();
    }
    return lat;
  } finally {
    await lab.destroy();
  }
}

/** Runs the scale section: cold starts with `sizes` leases, propagation of `samples` new leases. */
export async function benchScale(sizes: number[], samples: number, sampling: RssSampling): Promise<string[]> {
  const rows: string[][] = [['leases', 'twilld cold start ms', 'ip/bridge -batch ms', 'ratio', `twilld RSS MB ${SETTLE_MS / 1000} s later`,
    `twilld RSS MB every ${sampling.everyS} s for ${sampling.forS} s, min / median / max`, 'twilld peak RSS MB (VmHWM)']];
  const targets: string[] = [];
  for (const n of sizes) {
    const r = await coldStart(n, sampling);
    const s = r.sampledMb;
    rows.push([n.toLocaleString('en'), fmt(r.ms, 0), fmt(r.batchMs, 0), fmt(r.ms / r.batchMs, 2), fmt(r.rssMb),
      s.length ? `${fmt(Math.min(...s))} / ${fmt(median(s))} / ${fmt(Math.max(...s))}` : '-', fmt(r.peakMb)]);
    if (n === 5000) {
      targets.push(
        valueTarget('5,000 leases programmed by a freshly started twilld', r.ms / 1000, 's', '<=', 5),
        ratioTarget('5,000 leases: twilld cold start / ip -batch + bridge -batch applying the same entries', r.ms, r.batchMs, 'ms', '<=', 2, 0),
        valueTarget(`twilld RSS with 5,000 leases, ${SETTLE_MS / 1000} s after its cold start`, r.rssMb, 'MB', '<=', 80, 1),
      );
    }
  }
  // A propagation run that fails (a lease not seen by every daemon in time) is reported as such
  // and its target missed, without losing the cold starts above.
  let lat: number[] = [];
  let failure = '';
  try {
    lat = await propagation(10, samples);
  } catch (e) {
    failure = (e as Error).message.split('\n')[0]!.replace(/:$/, '');
  }
  const what = 'new lease → all 10 running daemons, p99';
  return [
    '## Scale',
    '',
    'vxlan, so a route, a neighbour and an FDB entry per lease; etcd in the lab. Cold start: a freshly started twilld until its ' +
      '"kernel reconciled" log line with every lease programmed, next to `ip -batch` + `bridge -batch` applying the same entries in a ' +
      `fresh namespace with the same device; then twilld's RSS, its readings timed from the moment the bench saw the cold start done ` +
      '(peak: VmHWM at the last reading).',
    '',
    mdTable(rows),
    '',
    failure
      ? `- New lease → 10 running daemons, ${samples} leases: FAILED: ${failure}.`
      : `- New lease → 10 running daemons, ${samples} leases (${lat.length} deliveries), from handing the put to a running etcd client to each ` +
        `daemon's "kernel reconciled" log line (ms resolution): p50 ${fmt(percentile(lat, 50), 0)} ms, p99 ${fmt(percentile(lat, 99), 0)} ms.`,
    '',
    'Targets:',
    '',
    ...targets,
    failure ? unmeasuredTarget(what, 'the propagation run failed', 'ms', '<=', 200) : valueTarget(what, percentile(lat, 99), 'ms', '<=', 200, 0),
  ];
}

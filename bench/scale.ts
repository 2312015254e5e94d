/**
 * Scale: N synthetic leases in etcd → time until a freshly started twilld has programmed them all
 * (cold start), next to `ip -batch`/`bridge -batch` applying the same entries; a new lease → 10
 * running daemons (p50/p99); twilld's RSS with 5,000 leases, once settled, and its peak.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createNetns, deleteNetns, ipIn, sh } from '../test/helpers/netns.js';
import { Lab } from '../test/lab/lab.js';
import { fmt, percentile, table, timed, verdict } from './stats.js';

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

/** How long the daemon runs after its cold start before its memory is read. */
const SETTLE_MS = 10_000;

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

async function coldStart(n: number): Promise<{ ms: number; batchMs: number; rssMb: number; peakMb: number }> {
  const lab = await Lab.create({ hosts: 1, netConf: { Network: '10.0.0.0/8', Backend: { Type: 'vxlan' } } });
  try {
    putAll(lab, synthetic(n));
    const h = lab.host(1);
    const t0 = Date.now();
    await lab.startDaemon(h, [], false);
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
    // not at the moment of the last kernel change, which catches it before its heap has grown.
    await delay(SETTLE_MS);
    const status = readFileSync(`/proc/${h.daemon!.pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]);
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
      return { ms: done, batchMs: b.ms + i.ms, rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
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
    await lab.startAll();
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

export async function benchScale(sizes: number[], samples: number): Promise<string[]> {
  const rows: string[][] = [['leases', 'twilld cold start ms', 'ip/bridge -batch ms', 'ratio', 'twilld RSS MB (10 s later)', 'twilld peak RSS MB']];
  const verdicts: string[] = [];
  for (const n of sizes) {
    const r = await coldStart(n);
    rows.push([String(n), fmt(r.ms, 0), fmt(r.batchMs, 0), fmt(r.ms / r.batchMs, 2), fmt(r.rssMb, 1), fmt(r.peakMb, 1)]);
    if (n === 5000) {
      verdicts.push(verdict('5,000 leases programmed', r.ms / 1000, '<=', 5, ' s'), verdict('5,000 leases vs ip -batch', r.ms / r.batchMs, '<=', 2), verdict('twilld RSS at 5,000 leases', r.rssMb, '<=', 80, ' MB'));
    }
  }
  const lat = await propagation(10, samples);
  return [
    'scale (vxlan: a route, a neighbour and an FDB entry per lease; etcd in the lab; times from the daemon\'s log)',
    table(rows),
    `new lease → 10 running daemons, ${samples} leases (${lat.length} deliveries), from handing the put to a running etcd client to the daemon's "kernel reconciled" log line (ms resolution): p50 ${fmt(percentile(lat, 50), 0)} ms, p99 ${fmt(percentile(lat, 99), 0)} ms`,
    ...verdicts,
    verdict('new lease → all 10 hosts p99', percentile(lat, 99), '<=', 200, ' ms'),
  ];
}

/**
 * Mixed clusters: flannel's own flanneld hosts and twilld hosts on one etcd, for every backend both
 * support. Pods behind flanneld hosts are made as flannel's CNI plugin makes them (bridge +
 * host-local), pods behind twilld hosts by twill's plugin. Every pod reaches every other pod
 * (flanneld ↔ twilld, twilld ↔ twilld, flanneld ↔ flanneld); a host that joins later on either side
 * becomes reachable from the other; a host whose lease is deleted disappears from the other side's
 * kernel (routes, vxlan neighbours and FDB; for udp the relay answers "net unreachable").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { canUseNetns, ipIn, sh } from '../helpers/netns.js';
import { until } from '../helpers/wait.js';
import { FLANNELD_BIN, FLANNELD_BUILD_HINT, flanneldAvailable } from '../lab/flanneld.js';
import { Lab, type LabHost, type LabPod } from '../lab/lab.js';

/**
 * Why the interop tier cannot run on this machine, or false when it can. The tier needs network
 * namespaces and a real flanneld.
 */
function interopSkipReason(): string | false {
  if (!canUseNetns()) return 'needs root and network namespaces';
  if (!flanneldAvailable()) return `no flanneld at ${FLANNELD_BIN}: ${FLANNELD_BUILD_HINT}`;
  return false;
}

const skip = interopSkipReason();

/** The backends flanneld and twilld both have. */
type BackendName = 'vxlan' | 'host-gw' | 'udp';

/** The backends under test, each with its own Network. */
const BACKENDS: ReadonlyArray<{ type: BackendName; network: string }> = [
  { type: 'vxlan', network: '10.61.0.0/16' },
  { type: 'host-gw', network: '10.62.0.0/16' },
];

const SUBNETS = '/coreos.com/network/subnets/';

/** A host's subnet ("10.61.3.0/24") from its subnet.env. */
function subnetOf(lab: Lab, h: LabHost): string {
  return lab.subnetEnv(h)['FLANNEL_SUBNET']!.replace(/\.1\//, '.0/');
}

/** The raw lease value a host's daemon wrote. */
function leaseValue(lab: Lab, h: LabHost): string {
  return lab.etcd.ctl('get', '--print-value-only', SUBNETS + subnetOf(lab, h).replace('/', '-')).replace(/\n$/, '');
}

/** What of `remote`'s lease the observer's kernel holds, as text lines (empty when nothing). */
function kernelEntriesFor(observer: LabHost, backend: BackendName, subnet: string, remoteIp: string, vtepMac: string): string[] {
  const found: string[] = [];
  const route = ipIn(observer.ns, 'route', 'show', 'exact', subnet).trim();
  if (route) found.push(`route ${route}`);
  if (backend === 'vxlan') {
    const vtepIp = subnet.split('/')[0]!;
    for (const l of ipIn(observer.ns, 'neigh', 'show', 'dev', 'flannel.1').split('\n')) if (l.startsWith(`${vtepIp} `) || l.includes(vtepMac)) found.push(`neigh ${l}`);
    for (const l of sh('bridge', ['-n', observer.ns, 'fdb', 'show', 'dev', 'flannel.1']).split('\n')) if (l.includes(vtepMac) || l.includes(`dst ${remoteIp} `)) found.push(`fdb ${l}`);
  }
  return found;
}

/** One ping from a pod; its whole output ("Destination Net Unreachable" shows there). */
function pingOutput(from: LabPod, to: string): string {
  const r = spawnSync('ip', ['netns', 'exec', from.ns, 'ping', '-n', '-c', '1', '-W', '1', to], { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

/** What a retired host leaves for the others to forget: its subnet, PublicIP, VtepMAC (vxlan) and pod. */
interface Retired {
  subnet: string;
  ip: string;
  mac: string;
  podIp: string;
}

const who = (p: LabPod): string => `${p.host.runs} h${p.host.n} pod ${p.ip}`;

/** Every ordered pair of the given pods that cannot ping, as "a -> b". */
async function unreachablePairs(lab: Lab, from: LabPod[], to: LabPod[]): Promise<string[]> {
  const failures: string[] = [];
  for (const a of from) {
    for (const b of to) if (a !== b && !(await lab.pingEventually(a.ns, b.ip, 10_000))) failures.push(`${who(a)} -> ${who(b)}`);
  }
  return failures;
}

for (const backend of BACKENDS) {
  describe(`${backend.type}: flanneld and twilld hosts in one cluster`, { skip }, () => {
    let lab: Lab;
    const pods = new Map<number, LabPod>();
    const pod = (n: number): LabPod => pods.get(n)!;

    /** Starts host n with the given daemon, as kube-flannel runs it (masquerading), and makes a pod behind it. */
    async function join(n: number, runs: 'flanneld' | 'twilld'): Promise<LabPod> {
      const h = lab.host(n);
      if (runs === 'flanneld') await lab.startFlanneld(h, ['-ip-masq']);
      else await lab.startDaemon(h, ['--ip-masq']);
      const p = await lab.addPod(h);
      pods.set(n, p);
      return p;
    }

    /**
     * Stops host n's daemon and deletes its lease, as an operator retiring it would; returns what the
     * observers, which must know the host until then, are to forget.
     */
    async function retire(n: number, observers: number[]): Promise<Retired> {
      const h = lab.host(n);
      const subnet = subnetOf(lab, h);
      const value = JSON.parse(leaseValue(lab, h)) as { BackendData?: { VtepMAC?: string } };
      if (backend.type !== 'udp') {
        for (const o of observers) assert.notDeepEqual(kernelEntriesFor(lab.host(o), backend.type, subnet, h.ip, value.BackendData?.VtepMAC ?? '-'), [], `h${o} knows h${n} before it retires`);
      }
      await lab.stopDaemon(h);
      lab.etcd.ctl('del', SUBNETS + subnet.replace('/', '-'));
      return { subnet, ip: h.ip, mac: value.BackendData?.VtepMAC ?? '-', podIp: pod(n).ip };
    }

    /** Waits until no host in `observers` keeps anything of a retired host (which each held before). */
    async function forgotten(observers: number[], gone: Retired): Promise<void> {
      for (const n of observers) {
        const o = lab.host(n);
        if (backend.type === 'udp') {
          await until(`${o.runs} h${n} to answer "net unreachable" for ${gone.subnet}`, () => /Net Unreachable/i.test(pingOutput(pod(n), gone.podIp)), 10_000, 200);
        } else {
          const left = (): string[] => kernelEntriesFor(o, backend.type, gone.subnet, gone.ip, gone.mac);
          await until(`${o.runs} h${n} to drop ${gone.subnet}`, () => left().length === 0, 10_000, 200)
            .catch((e: Error) => assert.fail(`${e.message}; still there: ${left().join('; ')}`));
        }
      }
    }

    before(async () => {
      // h1 and h3 run flanneld, h2 and h4 twilld; h5 (flanneld) and h6 (twilld) join later.
      lab = await Lab.create({ hosts: 6, netConf: { Network: backend.network, Backend: { Type: backend.type } } });
      await join(1, 'flanneld');
      await join(2, 'twilld');
      await join(3, 'flanneld');
      await join(4, 'twilld');
    });
    after(async () => lab?.destroy());

    it('lets every pod reach every other pod: flanneld ↔ twilld, twilld ↔ twilld, flanneld ↔ flanneld', async () => {
      const all = [1, 2, 3, 4].map(pod);
      assert.deepEqual(await unreachablePairs(lab, all, all), []);
    });

    it('reaches a flanneld host that joins later from the twilld hosts, and the other way', async () => {
      const late = await join(5, 'flanneld');
      const others = [1, 2, 3, 4].map(pod);
      assert.deepEqual([...await unreachablePairs(lab, others, [late]), ...await unreachablePairs(lab, [late], others)], []);
    });

    it('reaches a twilld host that joins later from the flanneld hosts, and the other way', async () => {
      const late = await join(6, 'twilld');
      const others = [1, 2, 3, 4, 5].map(pod);
      assert.deepEqual([...await unreachablePairs(lab, others, [late]), ...await unreachablePairs(lab, [late], others)], []);
    });

    it('forgets a flanneld host whose lease is deleted, on the twilld hosts (and the flanneld ones)', async () => {
      const observers = [2, 4, 6, 1, 3];
      await forgotten(observers, await retire(5, observers));
    });

    it('forgets a twilld host whose lease is deleted, on the flanneld hosts (and the twilld ones)', async () => {
      const observers = [1, 3, 2, 4];
      await forgotten(observers, await retire(6, observers));
    });

    it('keeps every daemon running, and no twilld host finds a lease it cannot route', async () => {
      for (const n of [1, 2, 3, 4]) assert.equal(lab.host(n).daemon?.exitCode, null, `${lab.host(n).runs} h${n} exited:\n${lab.logTail(lab.host(n))}`);
      for (const n of [2, 4]) assert.doesNotMatch(lab.logTail(lab.host(n), 500), /lease unroutable/);
      const all = [1, 2, 3, 4].map(pod);
      assert.deepEqual(await unreachablePairs(lab, all, all), []);
    });
  });
}

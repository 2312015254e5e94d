/**
 * Mixed clusters: flannel's own flanneld hosts and twilld hosts on one etcd, for every backend both
 * support. Pods behind flanneld hosts are made as flannel's CNI plugin makes them (bridge +
 * host-local), pods behind twilld hosts by twill's plugin. Every pod reaches every other pod
 * (flanneld ↔ twilld, twilld ↔ twilld, flanneld ↔ flanneld); a host that joins later on either side
 * becomes reachable from the other; a host whose lease is deleted disappears from the other side's
 * kernel (routes, vxlan neighbours and FDB) or, for udp, the other side's relays stop sending to it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ipIn, sh } from '../helpers/netns.js';
import { ETCD, FLANNELD, NETNS, skipUnless } from '../helpers/require.js';
import { until } from '../helpers/wait.js';
import { Lab, type LabHost, type LabPod } from '../lab/lab.js';

const skip = skipUnless(NETNS, ETCD, FLANNELD);

/** The backends flanneld and twilld both have. */
type BackendName = 'vxlan' | 'host-gw' | 'udp';

/**
 * The backends under test, each with its own Network, and the lease value flanneld writes for it
 * (pkg/lease LeaseAttrs: PublicIPv6 always, BackendType and BackendData only when set; <ip> and
 * <mac> stand for the host's PublicIP and VtepMAC).
 */
const BACKENDS: ReadonlyArray<{ type: BackendName; network: string; lease: string }> = [
  { type: 'vxlan', network: '10.61.0.0/16', lease: '{"PublicIP":"<ip>","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"<mac>"}}' },
  { type: 'host-gw', network: '10.62.0.0/16', lease: '{"PublicIP":"<ip>","PublicIPv6":null,"BackendType":"host-gw"}' },
  { type: 'udp', network: '10.63.0.0/16', lease: '{"PublicIP":"<ip>","PublicIPv6":null}' },
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

/** The Udp NoPorts counter of a namespace: datagrams that arrived for a port nobody listens on. */
function udpNoPorts(ns: string): number {
  const lines = sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp: '));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf('NoPorts')]);
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
     * What observer o still holds of host r's lease: its kernel entries (route; vxlan neighbour and
     * FDB entry), or for udp whether o's relay still sends r's pod traffic to r, which shows on r
     * once r's daemon is stopped: the datagrams find no socket on r's udp port (Udp NoPorts grows).
     */
    function remnants(o: LabHost, r: LabHost, subnet: string, vtepMac: string): string[] {
      if (backend.type !== 'udp') return kernelEntriesFor(o, backend.type, subnet, r.ip, vtepMac);
      const before = udpNoPorts(r.ns);
      lab.ping(pod(o.n).ns, pod(r.n).ip, { waitS: 0.3 });
      return udpNoPorts(r.ns) > before ? [`${o.runs} h${o.n}'s relay sends to h${r.n}`] : [];
    }

    /**
     * Retires host n as an operator would (stops its daemon, deletes its lease) and waits until none
     * of the observers, which must hold the host while its lease lasts, keeps anything of it.
     */
    async function retire(n: number, observers: number[]): Promise<void> {
      const r = lab.host(n);
      const subnet = subnetOf(lab, r);
      const vtepMac = (JSON.parse(leaseValue(lab, r)) as { BackendData?: { VtepMAC?: string } }).BackendData?.VtepMAC ?? '-';
      await lab.stopDaemon(r);
      for (const o of observers) assert.notDeepEqual(remnants(lab.host(o), r, subnet, vtepMac), [], `h${o} holds h${n} while its lease lasts`);
      lab.etcd.ctl('del', SUBNETS + subnet.replace('/', '-'));
      for (const o of observers) {
        const left = (): string[] => remnants(lab.host(o), r, subnet, vtepMac);
        await until(`${lab.host(o).runs} h${o} to forget h${n} (${subnet})`, () => left().length === 0, 10_000, 200)
          .catch((e: Error) => assert.fail(`${e.message}; still there: ${left().join('; ')}`));
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

    it('writes lease values byte for byte as flanneld does', () => {
      const expected = (h: LabHost, value: string): string => {
        const mac = (JSON.parse(value) as { BackendData?: { VtepMAC?: unknown } }).BackendData?.VtepMAC;
        return backend.lease.replace('<ip>', h.ip).replace('<mac>', typeof mac === 'string' ? mac : '<no VtepMAC>');
      };
      for (const n of [1, 2, 3, 4]) {
        const h = lab.host(n);
        const value = leaseValue(lab, h);
        assert.equal(value, expected(h, value), `the lease of ${h.runs} h${n}`);
      }
    });

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
      await retire(5, [2, 4, 6, 1, 3]);
    });

    it('forgets a twilld host whose lease is deleted, on the flanneld hosts (and the twilld ones)', async () => {
      await retire(6, [1, 3, 2, 4]);
    });

    it('keeps every daemon running, and no twilld host finds a lease it cannot route', async () => {
      for (const n of [1, 2, 3, 4]) assert.equal(lab.host(n).daemon?.exitCode, null, `${lab.host(n).runs} h${n} exited:\n${lab.logTail(lab.host(n))}`);
      for (const n of [2, 4]) assert.doesNotMatch(lab.logTail(lab.host(n), 500), /lease unroutable/);
      const all = [1, 2, 3, 4].map(pod);
      assert.deepEqual(await unreachablePairs(lab, all, all), []);
    });
  });
}

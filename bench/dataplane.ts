/**
 * Data plane: iperf3 TCP pod↔pod across two lab hosts through twill (host-gw, vxlan, udp), each
 * next to the same path built by hand (ip commands; for udp, a socat TUN↔UDP relay as the C
 * userspace baseline), and the raw underlay, all in one run.
 */
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { createNetns, ipIn, sh } from '../test/helpers/netns.js';
import { Lab, type LabHost } from '../test/lab/lab.js';
import { fmt, table, verdict } from './stats.js';

/** TCP throughput from one namespace to an address served in another, in Gbit/s. */
async function iperf(fromNs: string, toNs: string, toIp: string, seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', toNs, 'iperf3', '-s', '-1', '-B', toIp], { stdio: 'ignore' });
  try {
    await delay(400);
    const out = sh('ip', ['netns', 'exec', fromNs, 'iperf3', '-c', toIp, '-t', String(seconds), '-J']);
    return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill('SIGKILL');
  }
}

/** The pod side of one host, by hand: bridge with the gateway, a veth into a new pod namespace. */
function manualPod(lab: Lab, h: LabHost, third: number, mtu: number): { ns: string; ip: string } {
  const ns = createNetns(`tw-${lab.id}-m${h.n}`);
  const gw = `10.63.${third}.1`;
  ipIn(h.ns, 'link', 'add', 'cni0', 'type', 'bridge');
  ipIn(h.ns, 'addr', 'add', `${gw}/24`, 'dev', 'cni0');
  ipIn(h.ns, 'link', 'set', 'cni0', 'mtu', String(mtu), 'up');
  ipIn(h.ns, 'link', 'add', 'vethm', 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(mtu), 'netns', ns);
  ipIn(h.ns, 'link', 'set', 'vethm', 'master', 'cni0', 'up');
  ipIn(ns, 'addr', 'add', `10.63.${third}.2/24`, 'dev', 'eth0');
  ipIn(ns, 'link', 'set', 'eth0', 'up');
  ipIn(ns, 'route', 'add', 'default', 'via', gw);
  sh('ip', ['netns', 'exec', h.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return { ns, ip: `10.63.${third}.2` };
}

/**
 * udp by hand: on each host socat relays a TUN device (the subnet's address with the Network's
 * prefix, as twill sets it) to UDP port 8285 of the other host, one packet per datagram.
 */
async function socatRelay(h1: LabHost, h2: LabHost): Promise<Array<ReturnType<typeof spawn>>> {
  const relays = [h1, h2].map((h, i) => {
    const other = i === 0 ? h2 : h1;
    return spawn('ip', ['netns', 'exec', h.ns, 'socat', `TUN:10.63.${i + 1}.0/16,tun-name=flannel0,tun-type=tun,iff-no-pi,iff-up`,
      `UDP-DATAGRAM:${other.ip}:8285,bind=${h.ip}:8285`], { stdio: 'ignore' });
  });
  for (const h of [h1, h2]) {
    for (let i = 0; i < 50 && !sh('ip', ['-n', h.ns, '-o', 'link', 'show']).includes('flannel0'); i++) await delay(100);
    ipIn(h.ns, 'link', 'set', 'flannel0', 'mtu', '1472');
  }
  return relays;
}

/** The same two-host path twill builds, made with ip commands only (udp: with socat). */
async function handBuilt(backend: Backend, seconds: number): Promise<number> {
  const lab = await Lab.create({ hosts: 2, netConf: { Network: '10.63.0.0/16' } });
  const relays: Array<ReturnType<typeof spawn>> = [];
  try {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const mtu = backend === 'vxlan' ? 1450 : backend === 'udp' ? 1472 : 1500;
    const p1 = manualPod(lab, h1, 1, mtu);
    const p2 = manualPod(lab, h2, 2, mtu);
    if (backend === 'udp') {
      relays.push(...(await socatRelay(h1, h2)));
    } else if (backend === 'host-gw') {
      ipIn(h1.ns, 'route', 'add', '10.63.2.0/24', 'via', h2.ip, 'dev', 'eth0');
      ipIn(h2.ns, 'route', 'add', '10.63.1.0/24', 'via', h1.ip, 'dev', 'eth0');
    } else {
      const macs = ['02:63:00:00:00:01', '02:63:00:00:00:02'];
      for (const [i, h] of [h1, h2].entries()) {
        ipIn(h.ns, 'link', 'add', 'flannel.1', 'address', macs[i]!, 'type', 'vxlan', 'id', '1', 'local', h.ip, 'dev', 'eth0', 'dstport', '8472', 'nolearning');
        ipIn(h.ns, 'link', 'set', 'flannel.1', 'mtu', '1450', 'up');
        ipIn(h.ns, 'addr', 'add', `10.63.${i + 1}.0/32`, 'dev', 'flannel.1');
        const o = i === 0 ? 2 : 1;
        const other = i === 0 ? h2 : h1;
        ipIn(h.ns, 'route', 'add', `10.63.${o}.0/24`, 'via', `10.63.${o}.0`, 'dev', 'flannel.1', 'onlink');
        ipIn(h.ns, 'neigh', 'add', `10.63.${o}.0`, 'lladdr', macs[o - 1]!, 'dev', 'flannel.1', 'nud', 'permanent');
        sh('bridge', ['-n', h.ns, 'fdb', 'append', macs[o - 1]!, 'dev', 'flannel.1', 'dst', other.ip, 'self', 'permanent']);
      }
    }
    return await iperf(p1.ns, p2.ns, p2.ip, seconds);
  } finally {
    for (const r of relays) r.kill('SIGKILL');
    await lab.destroy();
  }
}

type Backend = 'host-gw' | 'vxlan' | 'udp';

async function viaTwill(backend: Backend, seconds: number): Promise<{ pod: number; underlay: number }> {
  const lab = await Lab.create({ hosts: 2, netConf: { Network: '10.64.0.0/16', Backend: { Type: backend } } });
  try {
    await lab.startAll();
    const p1 = await lab.addPod(lab.host(1));
    const p2 = await lab.addPod(lab.host(2));
    if (!(await lab.pingEventually(p1.ns, p2.ip))) throw new Error('pods do not reach each other');
    const pod = await iperf(p1.ns, p2.ns, p2.ip, seconds);
    const underlay = await iperf(lab.host(1).ns, lab.host(2).ns, lab.host(2).ip, seconds);
    return { pod, underlay };
  } finally {
    await lab.destroy();
  }
}

/**
 * Each path is measured `rounds` times, twill and its reference alternating, and its best run
 * counts: on a shared 2-core VM a neighbour's burst only ever lowers a figure.
 */
export async function benchDataplane(seconds: number, rounds: number): Promise<string[]> {
  const rows: string[][] = [['path', 'Gbit/s', 'ratio to hand-built']];
  const verdicts: string[] = [];
  let underlay = 0;
  let vxlan = 0;
  for (const backend of ['host-gw', 'vxlan', 'udp'] as const) {
    let tw = { pod: 0, underlay: 0 };
    let hand = 0;
    for (let r = 0; r < rounds; r++) {
      const t = await viaTwill(backend, seconds);
      tw = { pod: Math.max(tw.pod, t.pod), underlay: Math.max(tw.underlay, t.underlay) };
      hand = Math.max(hand, await handBuilt(backend, seconds));
    }
    underlay = Math.max(underlay, tw.underlay);
    const base = backend === 'udp' ? 'socat TUN↔UDP relay (C)' : `hand-built ${backend}`;
    rows.push([`twill ${backend} pod→pod`, fmt(tw.pod, 2), fmt(tw.pod / hand, 3)], [`${base} pod→pod`, fmt(hand, 2), '1.000']);
    if (backend === 'vxlan') vxlan = tw.pod;
    if (backend === 'udp') {
      verdicts.push(verdict('udp twill / socat relay', tw.pod / hand, '>=', 1), verdict('udp twill / twill vxlan', tw.pod / vxlan, '>=', 0.1));
    } else {
      verdicts.push(verdict(`${backend} twill / hand-built`, tw.pod / hand, '>=', backend === 'host-gw' ? 0.97 : 0.95));
    }
  }
  rows.push(['raw underlay host→host', fmt(underlay, 2), '']);
  return [`data plane: iperf3 TCP, best of ${rounds} runs of ${seconds} s per path (all paths are veth/bridge inside one VM, so this measures software overhead)`, table(rows), ...verdicts];
}

/**
 * The udp backend in the multi-host lab: flannel0 as flannel sets it up, every pod pair across 3
 * hosts pings, traffic really travels on the configured UDP port (a custom Port too: blocking it
 * cuts the pods off), datagrams with a spoofed inner source or from a host without a lease never
 * reach a pod, TCP streams cross the offloads intact while the wire keeps flannel's format, and the
 * path comes back after flannel0 is deleted or a peer's daemon is killed and restarted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fold, internetChecksum, sum16 } from '../../daemon/backend/udp/checksum.js';
import { writeU32 } from '../../daemon/backend/udp/ip-packet.js';
import { parseIp } from '../../shared/ip/cidr.js';
import { ipIn, sh } from '../helpers/netns.js';
import { until } from '../helpers/wait.js';
import { Lab, type LabHost, type LabPod, UNDERLAY_GW } from './lab.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);

/** An IPv4/UDP packet (UDP checksum 0, as IPv4 allows) carrying `text`. */
function innerUdp(src: string, dst: string, dport: number, text: string): string {
  const payload = Buffer.from(text);
  const b = Buffer.alloc(28 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = 17;
  writeU32(b, 12, parseIp(src));
  writeU32(b, 16, parseIp(dst));
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  b.writeUInt16BE(40000, 20);
  b.writeUInt16BE(dport, 22);
  b.writeUInt16BE(8 + payload.length, 24);
  payload.copy(b, 28);
  return b.toString('hex');
}

const RECEIVER = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>process.stdout.write(m.toString()+'@'+r.address+'\\n'));s.bind(+process.argv[2],process.argv[1],()=>process.stdout.write('listening\\n'))`;
const SENDER = `const s=require('dgram').createSocket('udp4');const q=JSON.parse(process.argv[4]);s.bind(0,process.argv[1],()=>{const next=()=>q.length?s.send(Buffer.from(q.shift(),'hex'),+process.argv[3],process.argv[2],next):s.close();next()})`;

/** Sends raw datagrams (hex) from `fromIp` in `ns` to `toIp:port`. */
function sendRaw(ns: string, fromIp: string, toIp: string, port: number, hex: string[]): void {
  sh('ip', ['netns', 'exec', ns, process.execPath, '-e', SENDER, fromIp, toIp, String(port), JSON.stringify(hex)]);
}

/** A UDP receiver on `port` in a pod: got() lists "payload@source" of what has arrived so far. */
async function listenUdp(pod: LabPod, port: number): Promise<{ got: () => string[]; stop: () => void }> {
  const r = spawn('ip', ['netns', 'exec', pod.ns, process.execPath, '-e', RECEIVER, pod.ip, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  r.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const stop = () => void r.kill('SIGKILL');
  try {
    await until('the receiver to listen', () => out.startsWith('listening\n'), 10_000);
  } catch (e) {
    stop();
    throw e;
  }
  return { got: () => out.split('\n').slice(1, -1), stop };
}

const TCP_SINK = `const h=require('crypto').createHash('sha256');let n=0;require('net').createServer((c)=>{c.on('data',(d)=>{h.update(d);n+=d.length});c.on('end',()=>{process.stdout.write(n+' '+h.digest('hex')+'\\n');process.exit(0)})}).listen(+process.argv[2],process.argv[1],()=>process.stdout.write('listening\\n'))`;
const TCP_SOURCE = `const h=require('crypto').createHash('sha256');const c=require('net').connect(+process.argv[2],process.argv[1]);let i=0;const total=+process.argv[3];let seed=7;const chunk=()=>{const b=Buffer.alloc(65536);for(let k=0;k<b.length;k++){seed=(seed*1103515245+12345)>>>0;b[k]=seed>>>24}return b};const more=()=>{while(i<total){const b=chunk();i+=b.length;h.update(b);if(!c.write(b))return c.once('drain',more)}c.end(()=>process.stdout.write(total+' '+h.digest('hex')+'\\n'))};c.on('connect',more)`;

/** Streams `bytes` of pseudo-random data over TCP from one pod to another; returns both sides' "count sha256". */
async function tcpTransfer(from: LabPod, to: LabPod, bytes: number): Promise<{ sent: string; received: string }> {
  const sink = spawn('ip', ['netns', 'exec', to.ns, process.execPath, '-e', TCP_SINK, to.ip, '40500'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let got = '';
  sink.stdout.on('data', (b: Buffer) => (got += b.toString()));
  try {
    await until('the TCP sink to listen', () => got.includes('listening'), 10_000);
    const sent = sh('ip', ['netns', 'exec', from.ns, process.execPath, '-e', TCP_SOURCE, to.ip, '40500', String(bytes)]).trim();
    await until('the TCP sink to finish', () => got.split('\n').length > 2, 20_000);
    return { sent, received: got.split('\n')[1]!.trim() };
  } finally {
    sink.kill('SIGKILL');
  }
}

/** The UDP payloads to `port` in a pcap file (Ethernet link type, IPv4). */
function udpPayloads(pcap: Buffer, port: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 24; o + 16 <= pcap.length;) {
    const incl = pcap.readUInt32LE(o + 8);
    const frame = pcap.subarray(o + 16, o + 16 + incl);
    o += 16 + incl;
    if (frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 17) continue;
    const udp = 14 + (frame[14]! & 0x0f) * 4;
    if (frame.readUInt16BE(udp + 2) === port) out.push(frame.subarray(udp + 8, udp + frame.readUInt16BE(udp + 4)));
  }
  return out;
}

/** Why a datagram's payload is not exactly one valid IPv4 packet (flannel's udp wire format), or ''. */
function notOnePacket(p: Buffer, mtu: number): string {
  if (p.length < 20 || p[0]! >> 4 !== 4) return 'not IPv4';
  if (p.readUInt16BE(2) !== p.length) return `IP length ${p.readUInt16BE(2)} in a ${p.length}-byte datagram`;
  if (p.length > mtu) return `${p.length} bytes, over the MTU ${mtu}`;
  const ihl = (p[0]! & 0x0f) * 4;
  if (internetChecksum(p, 0, ihl) !== 0) return 'bad IP header checksum';
  if (p[9] === 6 && ~fold(sum16(p, ihl, p.length, sum16(p, 12, 20, 6 + p.length - ihl))) & 0xffff) return 'bad TCP checksum';
  return '';
}

/** `<subnet .N>` of a host, from its subnet.env. */
function subnetHost(lab: Lab, h: LabHost, n: number): string {
  return lab.subnetEnv(h)['FLANNEL_SUBNET']!.replace(/\.\d+\/\d+$/, `.${n}`);
}

function udpListeners(h: LabHost): string {
  return sh('ip', ['netns', 'exec', h.ns, 'ss', '-H', '-u', '-l', '-n']);
}

describe('udp backend, 3 hosts', { skip }, () => {
  let lab: Lab;
  const pods: LabPod[] = [];

  before(async () => {
    lab = await Lab.create({ hosts: 3, netConf: { Network: '10.42.0.0/16', Backend: { Type: 'udp' } }, daemonArgs: ['--ip-masq'] });
    await lab.startAll();
    for (const h of lab.hosts) pods.push(await lab.addPod(h));
    pods.push(await lab.addPod(lab.host(1)));
  });
  after(async () => lab?.destroy());

  it('sets up flannel0 as flannel does: TUN, MTU − 28, subnet address with the Network prefix, the Network routed into it', () => {
    const h = lab.host(1);
    const link = JSON.parse(ipIn(h.ns, '-details', '-json', 'link', 'show', 'dev', 'flannel0')) as Array<{ mtu: number; flags: string[]; linkinfo?: { info_kind?: string; info_data?: { type?: string; pi?: boolean } } }>;
    assert.equal(link[0]!.linkinfo?.info_kind, 'tun');
    assert.equal(link[0]!.linkinfo?.info_data?.type, 'tun');
    assert.notEqual(link[0]!.linkinfo?.info_data?.pi, true, 'no packet-information header');
    assert.equal(link[0]!.mtu, 1472);
    assert.ok(link[0]!.flags.includes('UP'));
    assert.equal(lab.subnetEnv(h)['FLANNEL_MTU'], '1472');
    const addr = ipIn(h.ns, '-4', '-o', 'addr', 'show', 'dev', 'flannel0');
    assert.match(addr, new RegExp(`inet ${subnetHost(lab, h, 0).replace(/\./g, '\\.')}/16 `));
    assert.match(ipIn(h.ns, 'route', 'show', '10.42.0.0/16'), /dev flannel0/);
    assert.match(udpListeners(h), new RegExp(`${h.ip.replace(/\./g, '\\.')}:8285\\b`));
    const lease = JSON.parse(lab.etcd.ctl('get', '--print-value-only', `/coreos.com/network/subnets/${lab.subnetEnv(h)['FLANNEL_SUBNET']!.replace(/\.1\/(\d+)$/, '.0-$1')}`)) as Record<string, unknown>;
    assert.ok(!('BackendType' in lease), 'no BackendType, as flannel\'s udp leases');
    assert.equal(lease['PublicIP'], h.ip);
  });

  it('lets every pod reach every other pod, on the same host and across hosts', async () => {
    const failures: string[] = [];
    for (const a of pods) {
      for (const b of pods) if (a !== b && !(await lab.pingEventually(a.ns, b.ip, 5000))) failures.push(`${a.ns} -> ${b.ip}`);
    }
    assert.deepEqual(failures, []);
  });

  it('carries MTU-sized packets (don\'t-fragment pings of 1472 bytes) across hosts', () => {
    const out = sh('ip', ['netns', 'exec', pods[0]!.ns, 'ping', '-n', '-q', '-c', '3', '-W', '2', '-M', 'do', '-s', String(1472 - 28), pods[1]!.ip]);
    assert.match(out, / 0% packet loss/);
  });

  it('drops datagrams whose inner source is not leased by the sender, and those from hosts without a lease', async () => {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const target = pods[0]!;
    const rx = await listenUdp(target, 40123);
    try {
      const from = subnetHost(lab, h2, 200);
      sendRaw(h2.ns, h2.ip, h1.ip, 8285, [
        innerUdp(from, target.ip, 40123, 'valid'),
        innerUdp(subnetHost(lab, lab.host(3), 7), target.ip, 40123, 'spoofed-other-host'),
        innerUdp('192.0.2.1', target.ip, 40123, 'spoofed-outside'),
        innerUdp(from, target.ip, 40123, 'last'),
      ]);
      sendRaw(lab.underlay, UNDERLAY_GW, h1.ip, 8285, [innerUdp(from, target.ip, 40123, 'stranger')]);
      // h1 relays one sender's datagrams in order: once h2's last one is in, the spoofed ones before
      // it have been dealt with; the stranger's has once its drop is logged.
      await until('h2\'s last datagram to arrive', () => rx.got().includes(`last@${from}`), 5000);
      await until('the drops in h1\'s log', () => /"reason":"spoofed-source"[^\n]*"from":"10\.199\.0\.2"/.test(lab.logTail(h1, 200)) &&
        /"reason":"unknown-sender"[^\n]*"from":"10\.199\.0\.254"/.test(lab.logTail(h1, 200)), 5000);
      assert.deepEqual(rx.got(), [`valid@${from}`, `last@${from}`]);
    } finally {
      rx.stop();
    }
  });

  it('moves a TCP stream intact through the offloads (segmented into TSO-sized sends, merged on receipt)', async () => {
    const r = await tcpTransfer(pods[0]!, pods[1]!, 24 << 20);
    assert.equal(r.received, r.sent);
  });

  it('puts exactly one valid IP packet of at most the MTU in each datagram on the wire, as flannel', async () => {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    // Make h1's underlay interface cut UDP GSO sends into datagrams itself, as a NIC without
    // UDP segmentation offload (or the kernel before one) does, and capture them as h2 gets them.
    sh('ip', ['netns', 'exec', h1.ns, 'ethtool', '-K', 'eth0', 'tx-udp-segmentation', 'off']);
    const file = join(lab.dir, 'wire.pcap');
    const dump = spawn('ip', ['netns', 'exec', h2.ns, 'tcpdump', '-i', 'eth0', '-U', '-s', '0', '-w', file, 'udp', 'port', '8285'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    dump.stderr.on('data', (b: Buffer) => (err += b.toString()));
    try {
      await until('tcpdump to listen', () => err.includes('listening'), 10_000);
      const r = await tcpTransfer(pods[0]!, pods[1]!, 4 << 20);
      assert.equal(r.received, r.sent);
    } finally {
      dump.kill('SIGINT');
      await new Promise((res) => dump.once('exit', res));
      sh('ip', ['netns', 'exec', h1.ns, 'ethtool', '-K', 'eth0', 'tx-udp-segmentation', 'on']);
    }
    const payloads = udpPayloads(readFileSync(file), 8285);
    assert.ok(payloads.length > 2000, `only ${payloads.length} datagrams captured`);
    const bad = payloads.map((p) => notOnePacket(p, 1472)).filter(Boolean);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${payloads.length} datagrams are not one flannel packet`);
    assert.ok(payloads.some((p) => p.length === 1472), 'full-size segments on the wire');
  });

  it('recreates flannel0 when it is deleted under the running daemon', async () => {
    const h1 = lab.host(1);
    ipIn(h1.ns, 'link', 'del', 'flannel0');
    assert.ok(await lab.pingEventually(pods[0]!.ns, pods[1]!.ip, 10_000), 'h1 pod -> h2 pod after the deletion');
    assert.match(ipIn(h1.ns, '-4', '-o', 'addr', 'show', 'dev', 'flannel0'), /\/16 /);
    assert.match(lab.logTail(h1, 50), /udp relay lost; recreating flannel0[\s\S]*udp relay recreated/);
    assert.equal(h1.daemon?.exitCode, null, 'the daemon keeps running');
  });

  it('comes back after a peer\'s daemon is killed and restarted', async () => {
    const h2 = lab.host(2);
    await lab.stopDaemon(h2, 'SIGKILL');
    assert.doesNotMatch(ipIn(h2.ns, '-o', 'link', 'show'), /flannel0/, 'the TUN device goes with the process');
    assert.ok(!lab.ping(pods[0]!.ns, pods[1]!.ip), 'h2 is cut off while its relay is down');
    await lab.startDaemon(h2);
    assert.ok(await lab.pingEventually(pods[0]!.ns, pods[1]!.ip, 10_000), 'h1 pod -> h2 pod');
    assert.ok(await lab.pingEventually(pods[1]!.ns, pods[2]!.ip, 10_000), 'h2 pod -> h3 pod');
  });
});

describe('udp backend with a custom Port (seed 001: 7890)', { skip }, () => {
  let lab: Lab;
  const pods: LabPod[] = [];

  before(async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.43.0.0/16', Backend: { Type: 'udp', Port: 7890 } } });
    await lab.startAll();
    for (const h of lab.hosts) pods.push(await lab.addPod(h));
  });
  after(async () => lab?.destroy());

  it('listens on the configured port only and the pods reach each other', async () => {
    const h = lab.host(2);
    assert.match(udpListeners(h), new RegExp(`${h.ip.replace(/\./g, '\\.')}:7890\\b`));
    assert.doesNotMatch(udpListeners(h), /:8285\b/);
    assert.ok(await lab.pingEventually(pods[0]!.ns, pods[1]!.ip, 5000));
    assert.ok(await lab.pingEventually(pods[1]!.ns, pods[0]!.ip, 5000));
  });

  it('carries the pods\' traffic on that port: blocking it cuts them off, unblocking restores them', async () => {
    const h2 = lab.host(2);
    const table = `twtest${lab.id}`;
    sh('ip', ['netns', 'exec', h2.ns, 'nft', `add table inet ${table}; add chain inet ${table} in { type filter hook input priority 0; }; add rule inet ${table} in udp dport 7890 drop`]);
    try {
      assert.ok(!lab.ping(pods[0]!.ns, pods[1]!.ip, { count: 2 }), 'pods still reach each other with port 7890 blocked');
    } finally {
      sh('ip', ['netns', 'exec', h2.ns, 'nft', 'delete', 'table', 'inet', table]);
    }
    assert.ok(await lab.pingEventually(pods[0]!.ns, pods[1]!.ip, 5000));
  });
});

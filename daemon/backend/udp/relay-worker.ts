/**
 * The udp backend's data path, on its own thread (flannel's proxy_amd64.c, in TypeScript):
 * - TUN → UDP: each IP packet read from the TUN device goes, as the whole payload of one UDP
 *   datagram, to PublicIP:Port of the lease holding its destination;
 * - UDP → TUN: each datagram is written to the TUN device if its inner source lies in a subnet
 *   leased by the sender's address and its inner destination in ours; otherwise dropped and
 *   counted (a spoofed source never reaches a pod).
 * Both directions decrement the TTL, as flannel does. The descriptors are non-blocking and polled
 * by libuv (koffi's uv_poll wrapper), so peer-table updates arrive as ordinary messages; each
 * readiness event drains up to BATCH packets with one reused buffer (no per-packet allocation).
 */
import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { AppError } from '../../../shared/errors.js';
import { formatIp, maskOf } from '../../../shared/ip/cidr.js';
import { decrementTtl, destinationOf, isIpv4, netUnreachable, sourceOf } from './ip-packet.js';
import { closeFd, openTun, openUdpSocket, read, recvfrom, sendto, write } from './libc.js';
import { PeerTable } from './peer-table.js';
import type { DropReason, FromWorker, RelayStats, RelayWorkerData, ToWorker } from './relay-protocol.js';

const BATCH = 256;
/** A dropped packet is reported at once, then at most once per interval per reason, with a count. */
const REPORT_INTERVAL_MS = 10_000;

const port = parentPort!;
const cfg = workerData as RelayWorkerData;
const post = (m: FromWorker): void => port.postMessage(m);

let tunFd = -1;
let sockFd = -1;
try {
  tunFd = openTun(cfg.dev);
  sockFd = openUdpSocket(cfg.bindIp, cfg.port, cfg.socketBufferBytes);
} catch (e) {
  if (tunFd >= 0) closeFd(tunFd);
  post({ type: 'error', message: (e as Error).message, ...(e instanceof AppError && e.hint ? { hint: e.hint } : {}) });
  port.close();
  throw e;
}

const pkt = Buffer.alloc(65536);
const icmp = Buffer.alloc(128);
const from = Buffer.alloc(16);
const fromLen = Buffer.alloc(4);
let peers = new PeerTable([], cfg.port);
let ownNet = 0;
let ownMask = 0;
let ownAddr = 0;
let haveOwn = false;
const stats: RelayStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, drops: {} };
const unreported = new Map<DropReason, number>();
const lastReport = new Map<DropReason, number>();

/** Counts a dropped packet (the one in `pkt`, `len` bytes) and reports it, rate-limited. */
function drop(reason: DropReason, sender: number, len: number): void {
  stats.drops[reason] = (stats.drops[reason] ?? 0) + 1;
  if (reason === 'not-ipv4') return;
  const n = (unreported.get(reason) ?? 0) + 1;
  const now = Date.now();
  if (now - (lastReport.get(reason) ?? 0) < REPORT_INTERVAL_MS) {
    unreported.set(reason, n);
    return;
  }
  const hasIp = isIpv4(pkt, len);
  post({ type: 'dropped', reason, count: n, from: sender ? formatIp(sender) : 'tun', src: hasIp ? formatIp(sourceOf(pkt)) : '', dst: hasIp ? formatIp(destinationOf(pkt)) : '' });
  unreported.set(reason, 0);
  lastReport.set(reason, now);
}

function tunToUdp(): void {
  for (let i = 0; i < BATCH; i++) {
    const n = read(tunFd, pkt, pkt.length);
    if (n < 0) return; // EAGAIN: drained
    if (!isIpv4(pkt, n)) {
      drop('not-ipv4', 0, n);
      continue;
    }
    const sa = peers.route(destinationOf(pkt));
    if (sa === undefined) {
      drop('no-route', 0, n);
      const len = haveOwn ? netUnreachable(pkt, n, ownAddr, icmp) : 0;
      if (len > 0) write(tunFd, icmp, len);
      continue;
    }
    if (!decrementTtl(pkt)) {
      drop('ttl-expired', 0, n);
      continue;
    }
    if (sendto(sockFd, pkt, n, 0, sa, 16) < 0) {
      drop('send-failed', sa.readUInt32BE(4), n);
      continue;
    }
    stats.txPackets++;
    stats.txBytes += n;
  }
}

function udpToTun(): void {
  for (let i = 0; i < BATCH; i++) {
    fromLen.writeUInt32LE(16, 0);
    const n = recvfrom(sockFd, pkt, pkt.length, 0, from, fromLen);
    if (n < 0) return;
    const sender = from.readUInt32BE(4);
    if (!isIpv4(pkt, n)) {
      drop('malformed', sender, n);
      continue;
    }
    if (!peers.knows(sender)) {
      drop('unknown-sender', sender, n);
      continue;
    }
    if (!peers.admits(sender, sourceOf(pkt))) {
      drop('spoofed-source', sender, n);
      continue;
    }
    if (!haveOwn || ((destinationOf(pkt) & ownMask) >>> 0) !== ownNet) {
      drop('not-our-subnet', sender, n);
      continue;
    }
    if (!decrementTtl(pkt)) {
      drop('ttl-expired', sender, n);
      continue;
    }
    if (write(tunFd, pkt, n) < 0) {
      drop('tun-write-failed', sender, n);
      continue;
    }
    stats.rxPackets++;
    stats.rxBytes += n;
  }
}

const tunPoll = koffi.node.poll(tunFd, { readable: true }, tunToUdp);
const sockPoll = koffi.node.poll(sockFd, { readable: true }, udpToTun);

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'peers':
      peers = new PeerTable(m.peers, cfg.port);
      if (m.own) {
        ownMask = maskOf(m.own.prefix);
        ownNet = (m.own.subnet & ownMask) >>> 0;
        ownAddr = ownNet;
        haveOwn = true;
      }
      break;
    case 'stats':
      post({ type: 'stats', id: m.id, stats: { ...stats, drops: { ...stats.drops } } });
      break;
    case 'stop':
      tunPoll.close();
      sockPoll.close();
      closeFd(sockFd);
      closeFd(tunFd);
      post({ type: 'stopped' });
      port.close();
      break;
  }
});

post({ type: 'ready' });

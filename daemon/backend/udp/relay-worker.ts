/**
 * The udp backend's data path, on its own thread (flannel's proxy_amd64.c, in TypeScript):
 * - TUN → UDP: each IP packet read from the TUN device goes, as the whole payload of one UDP
 *   datagram, to PublicIP:Port of the lease holding its destination;
 * - UDP → TUN: each datagram is written to the TUN device if its inner source lies in a subnet
 *   leased by the sender's address and its inner destination in ours; otherwise dropped and
 *   counted (a spoofed source never reaches a pod).
 * Both directions decrement the TTL, as flannel does. Offloads (offload.ts) move TCP 64 KB at a
 * time: TSO super-packets from the TUN device are cut into wire packets and sent with UDP GSO;
 * datagrams read together (UDP GRO) are merged back into one TUN write. The descriptors are
 * non-blocking and polled by libuv (koffi's uv_poll wrapper), so peer-table updates arrive as
 * ordinary messages; each readiness event drains up to BATCH reads into reused buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { AppError } from '../../../shared/errors.js';
import { formatIp, maskOf } from '../../../shared/ip/cidr.js';
import { decrementTtl, destinationOf, IPV4_MIN_HEADER, isIpv4, netUnreachable, sourceOf, totalLengthOf } from './ip-packet.js';
import { EAGAIN } from '../../../shared/native/constants.js';
import { close, errno, read, recvfrom, sendto, sysError, write } from '../../../shared/native/libc.js';
import { openTun, openUdpSocket, setUdpSegment } from './relay-fds.js';
import { completeChecksum, type Segments, segmentTcpV4, TcpCoalescer, VNET_F_NEEDS_CSUM, VNET_GSO_ECN, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_HDR_LEN } from './offload.js';
import { PeerTable } from './peer-table.js';
import type { DropReason, FromWorker, RelayWorkerData, ToWorker } from './relay-protocol.js';

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
  if (tunFd >= 0) close(tunFd);
  post({ type: 'error', message: (e as Error).message, ...(e instanceof AppError && e.hint ? { hint: e.hint } : {}) });
  port.close();
  throw e;
}

/** Largest UDP payload of one send (IPv4): a GSO send of several segments must stay under it. */
const MAX_UDP_PAYLOAD = 65507;
/** The kernel's limit of segments per UDP GSO send. */
const MAX_GSO_SEGMENTS = 64;
/** TUN write errors that concern one packet, not the device. */
const ENOBUFS = 105;
const EINVAL = 22;
const EIO = 5;

const tunBuf = Buffer.alloc(VNET_HDR_LEN + 65535);
const tunPkt = tunBuf.subarray(VNET_HDR_LEN);
const segBuf = Buffer.alloc(256 * 1024);
const seg: Segments = { count: 0, segLen: 0, total: 0 };
const icmpBuf = Buffer.alloc(VNET_HDR_LEN + 128);
const rxBuf = Buffer.alloc(65536);
const from = Buffer.alloc(16);
const fromLen = Buffer.alloc(4);
let peers = new PeerTable([], cfg.port);
let ownNet = 0;
let ownMask = 0;
let haveOwn = false;
/** The socket's current UDP_SEGMENT (0: none); UDP GSO is given up when the kernel refuses it. */
let udpSegment = 0;
let udpGso = true;
const unreported = new Map<DropReason, number>();
const lastReport = new Map<DropReason, number>();

/** Reports a dropped packet (the one at `buf[off..off+len)`): at once, then as a count per interval. */
function drop(reason: DropReason, sender: number, buf: Buffer, off: number, len: number): void {
  if (reason === 'not-ipv4') return;
  const n = (unreported.get(reason) ?? 0) + 1;
  const now = Date.now();
  if (now - (lastReport.get(reason) ?? 0) < REPORT_INTERVAL_MS) {
    unreported.set(reason, n);
    return;
  }
  const hasIp = isIpv4(buf, len, off);
  post({ type: 'dropped', reason, count: n, from: sender ? formatIp(sender) : 'tun', src: hasIp ? formatIp(sourceOf(buf, off)) : '', dst: hasIp ? formatIp(destinationOf(buf, off)) : '' });
  unreported.set(reason, 0);
  lastReport.set(reason, now);
}

function useSegmentSize(size: number): boolean {
  if (udpSegment === size) return true;
  if (!setUdpSegment(sockFd, size)) return false;
  udpSegment = size;
  return true;
}

/** Sends one IP packet as one datagram (never cut by a GSO size left from an earlier send). */
function sendPacket(buf: Buffer, len: number, sa: Buffer): boolean {
  if (udpSegment !== 0 && len > udpSegment && !useSegmentSize(0)) return false;
  return sendto(sockFd, buf, len, 0, sa, 16) >= 0;
}

/** Sends `count` packets of `segLen` bytes (the last may be shorter) from segBuf at `start`, one datagram each. */
function sendOneByOne(start: number, end: number, sa: Buffer): boolean {
  let ok = true;
  for (let off = start; off < end; off += seg.segLen) ok = sendPacket(segBuf.subarray(off), Math.min(seg.segLen, end - off), sa) && ok;
  return ok;
}

/**
 * Sends the packets in segBuf: with UDP GSO, as few sends as the kernel's limits allow (the
 * kernel segments in software where a device cannot); one by one where the kernel refuses GSO
 * altogether (EIO on an IPsec/xfrm route; not testable here: this kernel has no ESP).
 */
function sendSegments(sa: Buffer): boolean {
  if (seg.count === 1) return sendPacket(segBuf, seg.total, sa);
  if (udpGso && !useSegmentSize(seg.segLen)) udpGso = false;
  if (!udpGso) return sendOneByOne(0, seg.total, sa);
  const perSend = Math.min(MAX_GSO_SEGMENTS, Math.floor(MAX_UDP_PAYLOAD / seg.segLen));
  let ok = true;
  for (let start = 0; start < seg.total; start += perSend * seg.segLen) {
    const end = Math.min(seg.total, start + perSend * seg.segLen);
    if (sendto(sockFd, start === 0 ? segBuf : segBuf.subarray(start), end - start, 0, sa, 16) >= 0) continue;
    const e = errno();
    if (e === EIO || e === EINVAL) {
      udpGso = false;
      ok = sendOneByOne(start, end, sa) && ok;
    } else {
      ok = false;
    }
  }
  return ok;
}

let failed = false;
/** Stops forwarding and tells the daemon, which recreates the relay. */
function fail(message: string): void {
  if (failed) return;
  failed = true;
  tunPoll.close();
  sockPoll.close();
  post({ type: 'failed', message });
}

/**
 * koffi calls a poll callback with libuv's status first (its typings show only the events): a
 * negative status is a broken descriptor, e.g. flannel0 deleted under the relay.
 */
const onReadable = (what: string, drain: () => void) => (status: unknown): void => {
  if (typeof status === 'number' && status < 0) fail(`${what} cannot be polled any more (libuv status ${status})`);
  else if (!failed) drain();
};

function tunToUdp(): void {
  for (let i = 0; i < BATCH; i++) {
    const n = read(tunFd, tunBuf, tunBuf.length);
    if (n < 0) {
      if (errno() !== EAGAIN) fail(sysError(`reading ${cfg.dev}`).message);
      return; // drained
    }
    const len = n - VNET_HDR_LEN;
    if (!isIpv4(tunPkt, len)) {
      drop('not-ipv4', 0, tunPkt, 0, len);
      continue;
    }
    const sa = peers.route(destinationOf(tunPkt));
    if (sa === undefined) {
      drop('no-route', 0, tunPkt, 0, len);
      const icmpLen = haveOwn ? netUnreachable(tunPkt, len, ownNet, icmpBuf.subarray(VNET_HDR_LEN)) : 0;
      if (icmpLen > 0) write(tunFd, icmpBuf, VNET_HDR_LEN + icmpLen);
      continue;
    }
    if (!decrementTtl(tunPkt)) {
      drop('ttl-expired', 0, tunPkt, 0, len);
      continue;
    }
    const gso = tunBuf[1]! & ~VNET_GSO_ECN;
    if (gso === VNET_GSO_NONE) {
      if ((tunBuf[0]! & VNET_F_NEEDS_CSUM) !== 0 && !completeChecksum(tunPkt, 0, len, tunBuf.readUInt16LE(6), tunBuf.readUInt16LE(8))) {
        drop('malformed', 0, tunPkt, 0, len);
      } else if (!sendPacket(tunPkt, len, sa)) {
        drop('send-failed', sa.readUInt32BE(4), tunPkt, 0, len);
      }
    } else if (gso === VNET_GSO_TCPV4 && segmentTcpV4(tunPkt, 0, len, tunBuf.readUInt16LE(4), segBuf, seg)) {
      if (!sendSegments(sa)) drop('send-failed', sa.readUInt32BE(4), tunPkt, 0, len);
    } else {
      drop('malformed', 0, tunPkt, 0, len);
    }
  }
}

const coalescer = new TcpCoalescer((buf, len) => {
  if (write(tunFd, buf, len) >= 0) return;
  const e = errno();
  drop('tun-write-failed', 0, buf, VNET_HDR_LEN, len - VNET_HDR_LEN);
  if (e !== EAGAIN && e !== ENOBUFS && e !== EINVAL) fail(sysError(`writing to ${cfg.dev}`, e).message);
});

/** Checks one packet of a datagram from `sender` and queues it for the TUN device. */
function deliver(sender: number, off: number, len: number): void {
  if (!peers.admits(sender, sourceOf(rxBuf, off))) return drop('spoofed-source', sender, rxBuf, off, len);
  if (!haveOwn || ((destinationOf(rxBuf, off) & ownMask) >>> 0) !== ownNet) return drop('not-our-subnet', sender, rxBuf, off, len);
  if (!decrementTtl(rxBuf, off)) return drop('ttl-expired', sender, rxBuf, off, len);
  coalescer.add(rxBuf, off, len);
}

function udpToTun(): void {
  for (let i = 0; i < BATCH; i++) {
    fromLen.writeUInt32LE(16, 0);
    const n = recvfrom(sockFd, rxBuf, rxBuf.length, 0, from, fromLen);
    if (n < 0) break;
    const sender = from.readUInt32BE(4);
    if (!peers.knows(sender)) {
      drop('unknown-sender', sender, rxBuf, 0, n);
      continue;
    }
    // With UDP GRO one read may hold several datagrams back to back: each is one IP packet.
    for (let off = 0; off < n;) {
      const len = n - off >= IPV4_MIN_HEADER ? totalLengthOf(rxBuf, off) : 0;
      if (len > n - off || !isIpv4(rxBuf, len, off)) {
        drop('malformed', sender, rxBuf, off, n - off);
        break;
      }
      deliver(sender, off, len);
      off += len;
    }
  }
  coalescer.flush();
}

const tunPoll = koffi.node.poll(tunFd, { readable: true }, onReadable(cfg.dev, tunToUdp));
const sockPoll = koffi.node.poll(sockFd, { readable: true }, onReadable('the UDP socket', udpToTun));

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'peers':
      peers = new PeerTable(m.peers, cfg.port);
      if (m.own) {
        ownMask = maskOf(m.own.prefix);
        ownNet = (m.own.subnet & ownMask) >>> 0;
        haveOwn = true;
      }
      break;
    case 'stop':
      if (!failed) {
        tunPoll.close();
        sockPoll.close();
      }
      close(sockFd);
      close(tunFd);
      port.close();
      break;
  }
});

post({ type: 'ready' });

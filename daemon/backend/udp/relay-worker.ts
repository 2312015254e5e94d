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
import { maskOf } from '../../../shared/ip/cidr.js';
import { EAGAIN, EINVAL, ENOBUFS } from '../../../shared/native/constants.js';
import { close, errno, read, recvfrom, sysError, write } from '../../../shared/native/libc.js';
import { DropReporter } from './drop-reporter.js';
import { decrementTtl, destinationOf, IPV4_MIN_HEADER, isIpv4, netUnreachable, sourceOf, totalLengthOf } from './ip-packet.js';
import { openTun, openUdpSocket } from './relay-fds.js';
import { completeChecksum, type Segments, segmentTcpV4, TcpCoalescer, VNET_F_NEEDS_CSUM, VNET_GSO_ECN, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_HDR_LEN } from './offload.js';
import { PeerTable } from './peer-table.js';
import type { FromWorker, RelayWorkerData, ToWorker } from './relay-protocol.js';
import { UdpSender } from './udp-sender.js';

/** Reads per readiness event at most. */
const BATCH = 256;

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
const udp = new UdpSender(sockFd);
const reporter = new DropReporter(post);
const drop = reporter.drop.bind(reporter);

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
      } else if (!udp.sendPacket(tunPkt, len, sa)) {
        drop('send-failed', sa.readUInt32BE(4), tunPkt, 0, len);
      }
    } else if (gso === VNET_GSO_TCPV4 && segmentTcpV4(tunPkt, 0, len, tunBuf.readUInt16LE(4), segBuf, seg)) {
      if (!udp.sendSegments(segBuf, seg, sa)) drop('send-failed', sa.readUInt32BE(4), tunPkt, 0, len);
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

/**
 * Messages between the udp backend (daemon main thread) and its relay worker thread.
 */
import type { Peer } from './peer-table.js';

export interface RelayWorkerData {
  /** TUN device name (flannel0). */
  dev: string;
  /** Address and port the UDP socket is bound to (the external interface's address, Backend.Port). */
  bindIp: number;
  port: number;
  socketBufferBytes: number;
}

/** Why a packet was not forwarded. */
export type DropReason =
  | 'not-ipv4' // TUN: the kernel's own IPv6 chatter on the device (never reported)
  | 'malformed' // UDP: the payload is not an IPv4 packet
  | 'no-route' // TUN: no lease holds the destination (an ICMP net unreachable is sent back)
  | 'ttl-expired'
  | 'send-failed' // UDP send error (buffer full, no route to the peer)
  | 'unknown-sender' // UDP: the outer source holds no lease
  | 'spoofed-source' // UDP: the inner source is outside the sender's leased subnet(s)
  | 'not-our-subnet' // UDP: the inner destination is not in our subnet
  | 'tun-write-failed';

export type ToWorker =
  | { type: 'peers'; own: { subnet: number; prefix: number } | null; peers: Peer[] }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'error'; message: string; hint?: string }
  | { type: 'dropped'; reason: DropReason; count: number; from: string; src: string; dst: string }
  /** The TUN device or the socket broke (e.g. flannel0 deleted): the relay no longer forwards. */
  | { type: 'failed'; message: string };

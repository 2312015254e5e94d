/**
 * The relay's sends on its UDP socket: one IP packet per datagram on the wire, always. A TCP
 * super-packet cut into segments (offload.ts) goes out with UDP GSO in as few sends as the
 * kernel's limits allow (the kernel segments in software where a device cannot), and one by one
 * where the kernel refuses GSO altogether (EIO on an IPsec/xfrm route; not testable here: this
 * kernel has no ESP).
 */
import { EINVAL, EIO } from '../../../shared/native/constants.js';
import { errno, sendto } from '../../../shared/native/libc.js';
import type { Segments } from './offload.js';
import { setUdpSegment } from './relay-fds.js';

/** Largest UDP payload of one send (IPv4): a GSO send of several segments must stay under it. */
const MAX_UDP_PAYLOAD = 65507;
/** The kernel's limit of segments per UDP GSO send. */
const MAX_GSO_SEGMENTS = 64;

export class UdpSender {
  /** The socket's current UDP_SEGMENT (0: none). */
  private udpSegment = 0;
  /** False once the kernel refused UDP GSO: segments then go one by one. */
  private udpGso = true;

  constructor(private readonly fd: number) {}

  private useSegmentSize(size: number): boolean {
    if (this.udpSegment === size) return true;
    if (!setUdpSegment(this.fd, size)) return false;
    this.udpSegment = size;
    return true;
  }

  /** Sends one IP packet as one datagram to `sa` (never cut by a GSO size left from an earlier send). */
  sendPacket(buf: Buffer, len: number, sa: Buffer): boolean {
    if (this.udpSegment !== 0 && len > this.udpSegment && !this.useSegmentSize(0)) return false;
    return sendto(this.fd, buf, len, 0, sa, 16) >= 0;
  }

  /** Sends the packets of `buf[start..end)`, `seg.segLen` bytes each (the last may be shorter), one datagram each. */
  private sendOneByOne(buf: Buffer, seg: Segments, start: number, end: number, sa: Buffer): boolean {
    let ok = true;
    for (let off = start; off < end; off += seg.segLen) ok = this.sendPacket(buf.subarray(off), Math.min(seg.segLen, end - off), sa) && ok;
    return ok;
  }

  /** Sends the `seg.count` packets that segmentTcpV4 wrote into `buf`. */
  sendSegments(buf: Buffer, seg: Segments, sa: Buffer): boolean {
    if (seg.count === 1) return this.sendPacket(buf, seg.total, sa);
    if (this.udpGso && !this.useSegmentSize(seg.segLen)) this.udpGso = false;
    if (!this.udpGso) return this.sendOneByOne(buf, seg, 0, seg.total, sa);
    const perSend = Math.min(MAX_GSO_SEGMENTS, Math.floor(MAX_UDP_PAYLOAD / seg.segLen));
    let ok = true;
    for (let start = 0; start < seg.total; start += perSend * seg.segLen) {
      const end = Math.min(seg.total, start + perSend * seg.segLen);
      if (sendto(this.fd, start === 0 ? buf : buf.subarray(start), end - start, 0, sa, 16) >= 0) continue;
      const e = errno();
      if (e === EIO || e === EINVAL) {
        this.udpGso = false;
        ok = this.sendOneByOne(buf, seg, start, end, sa) && ok;
      } else {
        ok = false;
      }
    }
    return ok;
  }
}

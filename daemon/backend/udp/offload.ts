/**
 * Segmentation and coalescing offloads for the udp relay, the userspace half of what the kernel
 * does for vxlan. Without them every 1.4 KB packet crosses the TCP stack, the TUN device and the
 * UDP socket on its own; with them the relay moves 64 KB at a time:
 * - TUN → UDP: the TUN device (IFF_VNET_HDR, TSO4 offload) hands over TCP super-packets with a
 *   virtio_net_hdr; segmentTcpV4 cuts one into MTU-sized IP packets with correct headers and
 *   checksums (the wire format stays flannel's: one plain IP packet per datagram), sent with UDP
 *   GSO (one send, the kernel makes the datagrams);
 * - UDP → TUN: with UDP GRO the socket returns consecutive datagrams at once; TcpCoalescer merges
 *   consecutive segments of one TCP flow back into one packet written with a GSO header.
 * Checksums: packets the kernel gives with NEEDS_CSUM are completed here; merged packets carry
 * only the pseudo-header sum and NEEDS_CSUM, as a NIC's GRO would hand them to the stack.
 */
import { fold, internetChecksum, sum16 } from './checksum.js';

/** struct virtio_net_hdr (little-endian on this platform). */
export const VNET_HDR_LEN = 10;
export const VNET_F_NEEDS_CSUM = 1;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_ECN = 0x80;

const TCP = 6;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const TCP_CWR = 0x80;
const MAX_IP_LEN = 65535;

/** Sum of the IPv4 pseudo header (addresses, protocol, L4 length) of the packet at `off`. */
function pseudoSum(buf: Uint8Array, off: number, l4Len: number): number {
  return sum16(buf, off + 12, off + 20, buf[off + 9]! + l4Len);
}

function setIpLengthAndChecksum(buf: Uint8Array, off: number, ihl: number, total: number): void {
  buf[off + 2] = total >>> 8;
  buf[off + 3] = total & 0xff;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  const c = internetChecksum(buf, off, off + ihl);
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}

/**
 * Completes a partial L4 checksum (virtio NEEDS_CSUM: the field holds the pseudo-header sum) of
 * the packet at `off`, `len` bytes, as a NIC would before sending.
 */
export function completeChecksum(buf: Uint8Array, off: number, len: number, csumStart: number, csumOffset: number): boolean {
  const at = off + csumStart + csumOffset;
  if (csumStart >= len || csumStart + csumOffset + 2 > len) return false;
  let c = ~fold(sum16(buf, off + csumStart, off + len)) & 0xffff;
  if (c === 0 && buf[off + 9] === 17) c = 0xffff; // UDP: 0 means "no checksum"
  buf[at] = c >>> 8;
  buf[at + 1] = c & 0xff;
  return true;
}

/** What segmentTcpV4 produced: `count` packets back to back, each `segLen` bytes but the last. */
export interface Segments {
  count: number;
  segLen: number;
  total: number;
}

/**
 * Cuts the TCP/IPv4 super-packet at `src[off..off+len)` into packets of at most `mss` payload
 * bytes, written back to back into `out` from 0: per segment the IP length, id (+1 each) and
 * header checksum, the TCP sequence number, flags (FIN/PSH on the last only, CWR on the first
 * only) and a full TCP checksum. Returns false when the packet is not TCP/IPv4 or `out` is small.
 */
export function segmentTcpV4(src: Buffer, off: number, len: number, mss: number, out: Buffer, r: Segments): boolean {
  const ihl = (src[off]! & 0x0f) * 4;
  if (src[off + 9] !== TCP || len < ihl + 20 || mss <= 0) return false;
  const doff = (src[off + ihl + 12]! >> 4) * 4;
  const hdr = ihl + doff;
  const payload = len - hdr;
  if (doff < 20 || payload <= 0) return false;
  const count = Math.ceil(payload / mss);
  const segLen = hdr + mss;
  const total = (count - 1) * segLen + hdr + (payload - (count - 1) * mss);
  if (total > out.length) return false;
  const id0 = (src[off + 4]! << 8) | src[off + 5]!;
  const seq0 = ((src[off + ihl + 4]! << 24) | (src[off + ihl + 5]! << 16) | (src[off + ihl + 6]! << 8) | src[off + ihl + 7]!) >>> 0;
  const flags = src[off + ihl + 13]!;
  for (let i = 0; i < count; i++) {
    const plen = Math.min(mss, payload - i * mss);
    const o = i * segLen;
    src.copy(out, o, off, off + hdr);
    src.copy(out, o + hdr, off + hdr + i * mss, off + hdr + i * mss + plen);
    const id = (id0 + i) & 0xffff;
    out[o + 4] = id >>> 8;
    out[o + 5] = id & 0xff;
    setIpLengthAndChecksum(out, o, ihl, hdr + plen);
    const t = o + ihl;
    const seq = (seq0 + i * mss) >>> 0;
    out[t + 4] = seq >>> 24;
    out[t + 5] = (seq >>> 16) & 0xff;
    out[t + 6] = (seq >>> 8) & 0xff;
    out[t + 7] = seq & 0xff;
    let f = flags;
    if (i < count - 1) f &= ~(TCP_FIN | TCP_PSH);
    if (i > 0) f &= ~TCP_CWR;
    out[t + 13] = f;
    out[t + 16] = 0;
    out[t + 17] = 0;
    const c = ~fold(sum16(out, t, t + doff + plen, pseudoSum(out, o, doff + plen))) & 0xffff;
    out[t + 16] = c >>> 8;
    out[t + 17] = c & 0xff;
  }
  r.count = count;
  r.segLen = segLen;
  r.total = total;
  return true;
}

/** True for a packet the coalescer may merge: TCP/IPv4 without options or fragments, ACK (+PSH) only, with payload. */
function mergeable(b: Uint8Array, off: number, len: number): boolean {
  if (b[off] !== 0x45 || b[off + 9] !== TCP || ((b[off + 6]! & 0x3f) | b[off + 7]!) !== 0 || len < 40) return false;
  const flags = b[off + 33]!;
  return (flags & ~TCP_PSH) === TCP_ACK && len > 20 + (b[off + 32]! >> 4) * 4;
}

function equalBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * Merges consecutive segments of one TCP flow (same addresses, ports, ack, window, options, TTL,
 * TOS; sequence numbers back to back; all but the last exactly `mss` long; no PSH before the
 * last) into one packet with a virtio GSO header, and hands every packet to `emit` with its
 * virtio header in front (zeroed for a packet passed through as it is).
 */
export class TcpCoalescer {
  private readonly out = Buffer.alloc(VNET_HDR_LEN + MAX_IP_LEN);
  private count = 0;
  private len = 0; // bytes of the IP packet in `out` (after the virtio header)
  private hdrLen = 0; // 0: the packet in `out` cannot take more segments
  private mss = 0;
  private lastPayload = 0;
  private nextSeq = 0;
  private psh = false;

  constructor(private readonly emit: (buf: Buffer, len: number) => void) {}

  add(src: Buffer, off: number, len: number): void {
    if (this.count > 0 && this.fits(src, off, len)) {
      const plen = len - this.hdrLen;
      src.copy(this.out, VNET_HDR_LEN + this.len, off + this.hdrLen, off + len);
      this.len += plen;
      this.count++;
      this.lastPayload = plen;
      this.nextSeq = (this.nextSeq + plen) >>> 0;
      this.psh = (src[off + 33]! & TCP_PSH) !== 0;
      return;
    }
    this.flush();
    src.copy(this.out, VNET_HDR_LEN, off, off + len);
    this.count = 1;
    this.len = len;
    if (mergeable(src, off, len)) {
      this.hdrLen = 20 + (src[off + 32]! >> 4) * 4;
      this.mss = this.lastPayload = len - this.hdrLen;
      this.nextSeq = (src.readUInt32BE(off + 24) + this.mss) >>> 0;
      this.psh = (src[off + 33]! & TCP_PSH) !== 0;
    } else {
      this.hdrLen = 0;
    }
  }

  private fits(src: Buffer, off: number, len: number): boolean {
    const o = this.out;
    const h = VNET_HDR_LEN;
    return this.hdrLen > 0 && !this.psh && this.lastPayload === this.mss && mergeable(src, off, len) &&
      20 + (src[off + 32]! >> 4) * 4 === this.hdrLen && len - this.hdrLen <= this.mss && this.len + len - this.hdrLen <= MAX_IP_LEN &&
      src.readUInt32BE(off + 24) === this.nextSeq &&
      src[off + 1] === o[h + 1] && src[off + 6] === o[h + 6] && src[off + 8] === o[h + 8] && // TOS, DF, TTL
      equalBytes(src, off + 12, o, h + 12, 12) && // addresses, ports
      equalBytes(src, off + 28, o, h + 28, 4) && // ack
      src[off + 32] === o[h + 32] && src[off + 34] === o[h + 34] && src[off + 35] === o[h + 35] && // data offset, window
      equalBytes(src, off + 40, o, h + 40, this.hdrLen - 40); // options
  }

  /** Emits the packet being built, if any. */
  flush(): void {
    if (this.count === 0) return;
    const o = this.out;
    o.fill(0, 0, VNET_HDR_LEN);
    if (this.count > 1) {
      const h = VNET_HDR_LEN;
      setIpLengthAndChecksum(o, h, 20, this.len);
      if (this.psh) o[h + 33] = o[h + 33]! | TCP_PSH;
      const tcpLen = this.len - 20;
      const pseudo = fold(pseudoSum(o, h, tcpLen));
      o[h + 36] = pseudo >>> 8;
      o[h + 37] = pseudo & 0xff;
      o[0] = VNET_F_NEEDS_CSUM;
      o[1] = VNET_GSO_TCPV4;
      o.writeUInt16LE(this.hdrLen, 2);
      o.writeUInt16LE(this.mss, 4);
      o.writeUInt16LE(20, 6);
      o.writeUInt16LE(16, 8);
    }
    this.count = 0;
    this.emit(o, VNET_HDR_LEN + this.len);
  }
}

/**
 * Netlink message framing, pure: a builder for requests (header, fixed family header, attributes,
 * nested attributes) and readers for the kernel's answers. Layouts: linux/netlink.h.
 */
import { macBytes } from '../net/mac.js';

export const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLA_F_NESTED = 0x8000;

const align4 = (n: number): number => (n + 3) & ~3;

/** Builds one request: `new NlRequest(type, flags, familyHeaderBytes)`, attributes, `done()`. */
export class NlRequest {
  private buf: Buffer;
  private len: number;
  private readonly open: number[] = [];

  constructor(type: number, flags: number, familyHeader: number) {
    this.buf = Buffer.alloc(256);
    this.buf.writeUInt16LE(type, 4);
    this.buf.writeUInt16LE(flags, 6);
    this.len = NLMSG_HDRLEN + align4(familyHeader);
  }

  /** The family header (ifinfomsg, ifaddrmsg, rtmsg...), to fill in place. */
  get header(): Buffer {
    return this.buf.subarray(NLMSG_HDRLEN);
  }

  private reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const at = this.len;
    this.len += align4(n);
    return at;
  }

  /** An attribute with raw data. */
  bytes(type: number, data: Uint8Array): this {
    const at = this.reserve(4 + data.length);
    this.buf.writeUInt16LE(4 + data.length, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.set(data, at + 4);
    return this;
  }

  u8(type: number, v: number): this {
    return this.bytes(type, Uint8Array.of(v));
  }

  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.bytes(type, b);
  }

  /** A NUL-terminated string (interface names, link kinds). */
  str(type: number, s: string): this {
    return this.bytes(type, Buffer.from(s + '\0', 'latin1'));
  }

  /** An IPv4 address, network byte order. */
  ip(type: number, ip: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(ip >>> 0);
    return this.bytes(type, b);
  }

  /** "aa:bb:cc:dd:ee:ff". */
  mac(type: number, mac: string): this {
    return this.bytes(type, macBytes(mac));
  }

  /** Opens a nested attribute; `headerBytes` of fixed data (e.g. a peer's ifinfomsg) may follow it. */
  begin(type: number, headerBytes = 0): Buffer {
    const at = this.reserve(4 + headerBytes);
    this.buf.writeUInt16LE(type | (headerBytes ? 0 : NLA_F_NESTED), at + 2);
    this.open.push(at);
    return this.buf.subarray(at + 4, at + 4 + headerBytes);
  }

  end(): this {
    const at = this.open.pop();
    if (at === undefined) throw new Error('NlRequest.end() without begin()');
    this.buf.writeUInt16LE(this.len - at, at);
    return this;
  }

  /** The finished message (sequence number 0: the socket numbers it). */
  done(): Buffer {
    if (this.open.length) throw new Error('NlRequest.done() with an open nested attribute');
    this.buf.writeUInt32LE(this.len, 0);
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** One message of an answer: its type and flags, and its payload after the netlink header. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  payload: Buffer;
}

/** Splits a datagram from the kernel into messages. */
export function splitMessages(b: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= b.length;) {
    const len = b.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > b.length) break;
    out.push({ type: b.readUInt16LE(off + 4), flags: b.readUInt16LE(off + 6), seq: b.readUInt32LE(off + 8), payload: b.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** The attributes in `b` (views, not copies), by type (nested flag cleared); the last one wins. */
export function parseAttrs(b: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (let off = 0; off + 4 <= b.length;) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > b.length) break;
    m.set(b.readUInt16LE(off + 2) & ~NLA_F_NESTED, b.subarray(off + 4, off + len));
    off += align4(len);
  }
  return m;
}

/** A NUL-terminated string attribute's text. */
export function attrString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('latin1', 0, nul < 0 ? b.length : nul);
}

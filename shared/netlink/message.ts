/**
 * Netlink message framing, pure: the one request builder (NlWriter: messages written one after
 * another into one reusable buffer, so a thousand requests cost no allocation each) and the
 * readers of the kernel's answers. Layouts: linux/netlink.h. The requests themselves are in the
 * files named after the kernel object they concern: link.ts, addr.ts, route.ts, neigh.ts.
 */
import { macNumber } from '../net/mac.js';

/** Bytes of a message's header (struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
/** A message carrying an errno: an acknowledgement (0) or a refusal. */
export const NLMSG_ERROR = 2;
/** The end of a dump. */
export const NLMSG_DONE = 3;
/** Header flag: a request. */
export const NLM_F_REQUEST = 0x1;
/** Header flag: acknowledge it (with NLMSG_ERROR 0). */
export const NLM_F_ACK = 0x4;
/** Header flag: every object of the kind. */
export const NLM_F_DUMP = 0x300;
/** Header flag: replace an existing object. */
export const NLM_F_REPLACE = 0x100;
/** Header flag: fail (EEXIST) when the object exists. */
export const NLM_F_EXCL = 0x200;
/** Header flag: create the object when it is absent. */
export const NLM_F_CREATE = 0x400;
/** Attribute type flag: the attribute holds attributes. */
export const NLA_F_NESTED = 0x8000;

/** The flags of a request that creates an object and fails when it exists (`ip ... add`). */
export const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/** The flags of a request that creates or replaces an object (`ip ... replace`). */
export const REPLACE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
/** The flags of a request that changes or deletes an existing object. */
export const CHANGE = NLM_F_REQUEST | NLM_F_ACK;
/** The flags of a dump request. */
export const DUMP = NLM_F_REQUEST | NLM_F_DUMP;

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Writes netlink requests one after another into one buffer, which it grows when needed and keeps
 * between uses (`reset`). A request: `start(type, flags, familyHeaderBytes)`, the family header's
 * fields (`u8At`, `u32At` at the offset `start` returned), attributes, `finish()`. The sequence
 * number is left 0: the socket numbers each request.
 */
export class NlWriter {
  private buf: Buffer;
  private len = 0;
  private msg = -1;
  private readonly open: number[] = [];

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Forgets everything written; the buffer is kept for the next requests. */
  reset(): this {
    this.len = 0;
    this.msg = -1;
    this.open.length = 0;
    return this;
  }

  /** The requests written so far: a view of the buffer, valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Reserves `n` bytes (zeroed, 4-byte aligned) at the end; returns their offset. */
  private reserve(n: number): number {
    const size = align4(n);
    if (this.len + size > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + size));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const at = this.len;
    this.buf.fill(0, at, at + size);
    this.len += size;
    return at;
  }

  /** Starts a request; returns the offset of its family header (`fixed` zeroed bytes). */
  start(type: number, flags: number, fixed: number): number {
    if (this.msg >= 0) throw new Error('NlWriter.start() before finish()');
    this.msg = this.reserve(NLMSG_HDRLEN + fixed);
    this.buf.writeUInt16LE(type, this.msg + 4);
    this.buf.writeUInt16LE(flags, this.msg + 6);
    return this.msg + NLMSG_HDRLEN;
  }

  /** Sets the byte at `off` (a family header field). */
  u8At(off: number, v: number): this {
    this.buf[off] = v;
    return this;
  }

  /** Sets the 32-bit number (host order) at `off` (a family header field). */
  u32At(off: number, v: number): this {
    this.buf.writeUInt32LE(v >>> 0, off);
    return this;
  }

  /** Writes an attribute header for `dataLen` bytes of data; returns the data's offset. */
  private attr(type: number, dataLen: number): number {
    const at = this.reserve(4 + dataLen);
    this.buf.writeUInt16LE(4 + dataLen, at);
    this.buf.writeUInt16LE(type, at + 2);
    return at + 4;
  }

  /** An attribute with raw data. */
  bytes(type: number, data: Uint8Array): this {
    const at = this.attr(type, data.length);
    this.buf.set(data, at);
    return this;
  }

  /** An attribute without data (a flag: present or not). */
  flag(type: number): this {
    this.attr(type, 0);
    return this;
  }

  u8(type: number, v: number): this {
    const at = this.attr(type, 1);
    this.buf[at] = v;
    return this;
  }

  /** A 16-bit number in network byte order (a port). */
  be16(type: number, v: number): this {
    const at = this.attr(type, 2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }

  u32(type: number, v: number): this {
    const at = this.attr(type, 4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }

  /** A NUL-terminated string in UTF-8, as the kernel and iproute2 read names (interface names, link kinds). */
  str(type: number, s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    const at = this.attr(type, n + 1);
    this.buf.write(s, at, 'utf8');
    return this;
  }

  /** An IPv4 address, network byte order. */
  ip(type: number, ip: number): this {
    const at = this.attr(type, 4);
    this.buf.writeUInt32BE(ip >>> 0, at);
    return this;
  }

  /** A MAC address: "aa:bb:cc:dd:ee:ff", or the 48-bit number macNumber gives. */
  mac(type: number, mac: string | number): this {
    const at = this.attr(type, 6); // first: it may replace the buffer
    this.buf.writeUIntBE(typeof mac === 'number' ? mac : macNumber(mac), at, 6);
    return this;
  }

  /** Opens a nested attribute; returns the offset of its `fixed` bytes of data (e.g. a peer's ifinfomsg). */
  nest(type: number, fixed = 0): number {
    const at = this.attr(type | (fixed ? 0 : NLA_F_NESTED), fixed);
    this.open.push(at - 4);
    return at;
  }

  /** Closes the innermost nested attribute. */
  end(): this {
    const at = this.open.pop();
    if (at === undefined) throw new Error('NlWriter.end() without nest()');
    this.buf.writeUInt16LE(this.len - at, at);
    return this;
  }

  /** Ends the request: writes its length. */
  finish(): this {
    if (this.msg < 0) throw new Error('NlWriter.finish() without start()');
    if (this.open.length) throw new Error('NlWriter.finish() with an open nested attribute');
    this.buf.writeUInt32LE(this.len - this.msg, this.msg);
    this.msg = -1;
    return this;
  }
}

/** One request: writes exactly one message (start … finish) into a writer. */
export type Request = (w: NlWriter) => void;

/** One request as its own buffer (for tests, and a request sent from another thread). */
export function encode(request: Request): Buffer {
  const w = new NlWriter(256);
  request(w);
  return Buffer.from(w.view());
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

/** The errno an NLMSG_ERROR (0: an acknowledgement) or NLMSG_DONE payload carries: the payload is `b[at..end)`. */
export function errnoOf(b: Buffer, at = 0, end = b.length): number {
  return end - at >= 4 ? 0 - b.readInt32LE(at) || 0 : 0;
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

/** A NUL-terminated string attribute's text, read as UTF-8. */
export function attrString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

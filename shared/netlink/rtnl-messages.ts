/**
 * The rtnetlink requests twill makes (pure, no native code): route, neighbour and FDB entries,
 * replaced or deleted. Layouts: linux/netlink.h, linux/rtnetlink.h, linux/neighbour.h.
 */
import type { Cidr } from '../ip/cidr.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST } from './nl-message.js';
import { AF_INET, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTM_DELROUTE, RTM_NEWROUTE, RTN_UNICAST } from './rtnl-constants.js';

/** One kernel object twill owns. */
export type NetlinkOp =
  | { readonly kind: 'route'; readonly dst: Cidr; readonly via: number; readonly dev: string; readonly onlink: boolean }
  | { readonly kind: 'neigh'; readonly ip: number; /** 48-bit number (macNumber) */ readonly mac: number; readonly dev: string }
  | { readonly kind: 'fdb'; readonly mac: number; readonly dst: number; readonly dev: string };

export interface NetlinkChange {
  op: NetlinkOp;
  action: 'replace' | 'delete';
}

const AF_BRIDGE = 7;
const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RT_SCOPE_NOWHERE = 255;
const RTNH_F_ONLINK = 4;
const NUD_PERMANENT = 0x80;
const NTF_SELF = 0x02;
const NDA_DST = 1;
const NDA_LLADDR = 2;
export { ENODEV } from './rtnl-constants.js';

/** Route protocol number marking twill's routes (kernel-plan.ts TWILL_ROUTE_PROTO). */
export const TWILL_RTPROT = 116;

/** Longest request encodeChange writes. */
export const MAX_REQUEST_BYTES = 64;

/** Writes one rtattr header (4 bytes) at `off`; returns the offset of its data. */
function attrHeader(b: Buffer, off: number, type: number, dataLen: number): number {
  b.writeUInt16LE(4 + dataLen, off);
  b.writeUInt16LE(type, off + 2);
  return off + 4;
}

function ipAttr(b: Buffer, off: number, type: number, ip: number): number {
  b.writeUInt32BE(ip >>> 0, attrHeader(b, off, type, 4));
  return off + 8;
}

function macAttr(b: Buffer, off: number, type: number, mac: number): number {
  const d = attrHeader(b, off, type, 6);
  b.writeUIntBE(mac, d, 6);
  b.fill(0, d + 6, d + 8); // padding to 4 bytes
  return off + 12;
}

/**
 * Writes the netlink request for one change at `b[off..]` (pure; at most MAX_REQUEST_BYTES) and
 * returns its length; `ifindex` is the op's device.
 */
export function encodeChange(c: NetlinkChange, seq: number, ifindex: number, b: Buffer, off = 0): number {
  const replace = c.action === 'replace';
  const op = c.op;
  b.fill(0, off, off + 28); // header + rtmsg/ndmsg
  let type: number;
  let end: number;
  if (op.kind === 'route') {
    type = replace ? RTM_NEWROUTE : RTM_DELROUTE;
    const r = off + 16;
    b[r] = AF_INET;
    b[r + 1] = op.dst.prefix;
    b[r + 4] = RT_TABLE_MAIN;
    b[r + 5] = TWILL_RTPROT;
    b[r + 6] = replace ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE; // nowhere: any scope, when deleting
    b[r + 7] = replace ? RTN_UNICAST : 0;
    b.writeUInt32LE(replace && op.onlink ? RTNH_F_ONLINK : 0, r + 8);
    end = ipAttr(b, r + 12, RTA_DST, op.dst.ip);
    if (replace) {
      end = ipAttr(b, end, RTA_GATEWAY, op.via);
      b.writeUInt32LE(ifindex >>> 0, attrHeader(b, end, RTA_OIF, 4));
      end += 8;
    }
  } else {
    type = replace ? RTM_NEWNEIGH : RTM_DELNEIGH;
    const n = off + 16;
    b[n] = op.kind === 'fdb' ? AF_BRIDGE : AF_INET;
    b.writeInt32LE(ifindex, n + 4);
    b.writeUInt16LE(NUD_PERMANENT, n + 8);
    b[n + 10] = op.kind === 'fdb' ? NTF_SELF : 0;
    if (op.kind === 'fdb') {
      end = ipAttr(b, macAttr(b, n + 12, NDA_LLADDR, op.mac), NDA_DST, op.dst);
    } else {
      end = ipAttr(b, n + 12, NDA_DST, op.ip);
      if (replace) end = macAttr(b, end, NDA_LLADDR, op.mac);
    }
  }
  const len = end - off;
  b.writeUInt32LE(len, off);
  b.writeUInt16LE(type, off + 4);
  b.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | (replace ? NLM_F_CREATE | NLM_F_REPLACE : 0), off + 6);
  b.writeUInt32LE(seq >>> 0, off + 8);
  return len;
}

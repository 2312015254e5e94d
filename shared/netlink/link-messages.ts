/**
 * The rtnetlink requests the CNI plugin makes (pure): links (bridge, veth pair with its peer born in
 * the pod's namespace, up/master/MTU/promisc/hairpin, delete), IPv4 addresses and routes, and
 * dumps; and the readers of the kernel's link, address and route messages. Layouts:
 * linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/veth.h.
 */
import { type Cidr, formatIp } from '../ip/cidr.js';
import { AF_INET, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTM_NEWROUTE, RTN_UNICAST } from './rtnl-constants.js';
import { formatMac } from '../net/mac.js';
import { attrString, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, type NlMessage, NlRequest, parseAttrs } from './nl-message.js';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_GETROUTE = 26;
export { RT_TABLE_MAIN, RTM_NEWROUTE };

const AF_UNSPEC = 0;
export const IFF_UP = 0x1;
export const IFF_PROMISC = 0x100;
const IFINFOMSG = 16;
const IFADDRMSG = 8;
const RTMSG = 12;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;
const VETH_INFO_PEER = 1;
const IFLA_BRPORT_MODE = 4; // hairpin
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_TABLE = 15;
const RTPROT_BOOT = 3; // what `ip route add` writes
const RT_SCOPE_HOST = 254;

const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const CHANGE = NLM_F_REQUEST | NLM_F_ACK;

function ifinfo(h: Buffer, index: number, flags = 0, change = 0): void {
  h[0] = AF_UNSPEC;
  h.writeInt32LE(index, 4);
  h.writeUInt32LE(flags >>> 0, 8);
  h.writeUInt32LE(change >>> 0, 12);
}

/** A request about an existing link (a change unless `type` says otherwise), named by ifindex or by name. */
function existing(link: number | string, type = RTM_NEWLINK): NlRequest {
  const r = new NlRequest(type, CHANGE, IFINFOMSG);
  ifinfo(r.header, typeof link === 'number' ? link : 0);
  if (typeof link === 'string') r.str(IFLA_IFNAME, link);
  return r;
}

/** One link by ifindex or name (answered by a link message, or ENODEV). */
export function getLink(link: number | string): Buffer {
  return existing(link, RTM_GETLINK).done();
}

/** Every link (a dump). */
export function dumpLinks(): Buffer {
  const r = new NlRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, IFINFOMSG);
  ifinfo(r.header, 0);
  return r.done();
}

/** Every IPv4 address (a dump). */
export function dumpAddrs(): Buffer {
  const r = new NlRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, IFADDRMSG);
  r.header[0] = AF_INET;
  return r.done();
}

/** Every IPv4 route (a dump). */
export function dumpRoutes(): Buffer {
  const r = new NlRequest(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, RTMSG);
  r.header[0] = AF_INET;
  return r.done();
}

/** `ip link add <name> address <mac> mtu <mtu> type bridge`. */
export function newBridge(name: string, mac: string, mtu: number): Buffer {
  const r = new NlRequest(RTM_NEWLINK, CREATE, IFINFOMSG);
  ifinfo(r.header, 0);
  r.str(IFLA_IFNAME, name).mac(IFLA_ADDRESS, mac).u32(IFLA_MTU, mtu);
  r.begin(IFLA_LINKINFO);
  r.str(IFLA_INFO_KIND, 'bridge');
  return r.end().done();
}

export interface VethSpec {
  hostName: string;
  hostMac: string;
  /** The host side's bridge (ifindex). */
  master: number;
  peerName: string;
  peerMac: string;
  mtu: number;
  /** A descriptor of the pod's network namespace: the peer is created there. */
  peerNetnsFd: number;
}

/**
 * The veth pair in one request: host side on the bridge, peer created inside the pod's namespace
 * (no window where it exists in the host's). Both start down: a veth cannot come up before its
 * peer is linked to it (ENOTCONN), which happens at the end of the creation.
 */
export function newVeth(v: VethSpec): Buffer {
  const r = new NlRequest(RTM_NEWLINK, CREATE, IFINFOMSG);
  ifinfo(r.header, 0);
  r.str(IFLA_IFNAME, v.hostName).mac(IFLA_ADDRESS, v.hostMac).u32(IFLA_MTU, v.mtu).u32(IFLA_MASTER, v.master);
  r.begin(IFLA_LINKINFO);
  r.str(IFLA_INFO_KIND, 'veth');
  r.begin(IFLA_INFO_DATA);
  ifinfo(r.begin(VETH_INFO_PEER, IFINFOMSG), 0);
  r.str(IFLA_IFNAME, v.peerName).mac(IFLA_ADDRESS, v.peerMac).u32(IFLA_MTU, v.mtu).u32(IFLA_NET_NS_FD, v.peerNetnsFd);
  return r.end().end().end().done();
}

/** `ip link set dev <link> type bridge_slave hairpin on|off`. */
export function setHairpin(link: number | string, on: boolean): Buffer {
  const r = existing(link);
  r.begin(IFLA_LINKINFO);
  r.str(IFLA_INFO_SLAVE_KIND, 'bridge');
  r.begin(IFLA_INFO_SLAVE_DATA);
  r.u8(IFLA_BRPORT_MODE, on ? 1 : 0);
  return r.end().end().done();
}

/** Sets (`on`) or clears interface flags, e.g. IFF_UP, IFF_PROMISC. */
export function setFlags(link: number | string, flags: number, on: boolean): Buffer {
  const r = existing(link);
  r.header.writeUInt32LE(on ? flags : 0, 8);
  r.header.writeUInt32LE(flags, 12);
  return r.done();
}

export function setMtu(link: number | string, mtu: number): Buffer {
  return existing(link).u32(IFLA_MTU, mtu).done();
}

/** Deletes a link by ifindex or name (ENODEV when there is none). */
export function delLink(link: number | string): Buffer {
  return existing(link, RTM_DELLINK).done();
}

/** Adds (`replace`: or replaces) or deletes an IPv4 address on a link. */
export function addrRequest(action: 'add' | 'replace' | 'delete', index: number, ip: number, prefix: number): Buffer {
  const type = action === 'delete' ? RTM_DELADDR : RTM_NEWADDR;
  const flags = action === 'delete' ? CHANGE : action === 'add' ? CREATE : CHANGE | NLM_F_CREATE | NLM_F_REPLACE;
  const r = new NlRequest(type, flags, IFADDRMSG);
  r.header[0] = AF_INET;
  r.header[1] = prefix;
  r.header[3] = RT_SCOPE_UNIVERSE;
  r.header.writeUInt32LE(index, 4);
  return r.ip(IFA_LOCAL, ip).ip(IFA_ADDRESS, ip).done();
}

/** `ip route add <dst> via <gw> dev <index>` in the main table. */
export function addRoute(dst: Cidr, gw: number, index: number): Buffer {
  const r = new NlRequest(RTM_NEWROUTE, CREATE, RTMSG);
  const h = r.header;
  h[0] = AF_INET;
  h[1] = dst.prefix;
  h[4] = RT_TABLE_MAIN;
  h[5] = RTPROT_BOOT;
  h[6] = RT_SCOPE_UNIVERSE;
  h[7] = RTN_UNICAST;
  if (dst.prefix > 0) r.ip(RTA_DST, dst.ip);
  return r.ip(RTA_GATEWAY, gw).u32(RTA_OIF, index).done();
}

/** A link as the kernel describes it. */
export interface LinkInfo {
  index: number;
  name: string;
  flags: number;
  mtu: number;
  mac?: string;
  /** The bridge (ifindex) it is a port of. */
  master?: number;
  kind?: string;
  /** For a bridge port: hairpin mode. */
  hairpin?: boolean;
}

/** Reads the payload of an RTM_NEWLINK message. */
/**
 * True when `m`, a message from a socket subscribed to link events, is the kernel's notice that
 * link `index` is gone: its own RTM_DELLINK (family AF_UNSPEC), not the one for its bridge port
 * (AF_BRIDGE) that comes just before.
 */
export function isLinkGone(m: NlMessage, index: number): boolean {
  return m.type === RTM_DELLINK && m.payload.length >= IFINFOMSG && m.payload[0] === AF_UNSPEC && m.payload.readInt32LE(4) === index;
}

export function parseLink(p: Buffer): LinkInfo {
  const a = parseAttrs(p.subarray(IFINFOMSG));
  const link: LinkInfo = { index: p.readInt32LE(4), flags: p.readUInt32LE(8), name: attrString(a.get(IFLA_IFNAME)) ?? '', mtu: a.get(IFLA_MTU)?.readUInt32LE(0) ?? 0 };
  const mac = a.get(IFLA_ADDRESS);
  if (mac?.length === 6) link.mac = formatMac(mac);
  const master = a.get(IFLA_MASTER);
  if (master) link.master = master.readUInt32LE(0);
  const info = a.get(IFLA_LINKINFO);
  if (info) {
    const i = parseAttrs(info);
    const kind = attrString(i.get(IFLA_INFO_KIND));
    if (kind) link.kind = kind;
    const slave = i.get(IFLA_INFO_SLAVE_DATA);
    if (slave && attrString(i.get(IFLA_INFO_SLAVE_KIND)) === 'bridge') {
      const mode = parseAttrs(slave).get(IFLA_BRPORT_MODE);
      if (mode) link.hairpin = mode[0] === 1;
    }
  }
  return link;
}

/** An IPv4 address on a link. */
export interface AddrInfo {
  index: number;
  ip: number;
  prefix: number;
}

/** Reads the payload of an RTM_NEWADDR message (IPv4 only; null for others). */
export function parseAddr(p: Buffer): AddrInfo | null {
  if (p[0] !== AF_INET) return null;
  const a = parseAttrs(p.subarray(IFADDRMSG));
  const ip = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  return ip ? { index: p.readUInt32LE(4), ip: ip.readUInt32BE(0), prefix: p[1]! } : null;
}

/** An IPv4 route, as CHECK compares it ("default" or "a.b.c.d/n", and the gateway). */
export interface RouteInfo {
  dst: string;
  gateway?: string;
  oif?: number;
  table: number;
}

/** Reads the payload of an RTM_NEWROUTE message (IPv4, unicast, universe scope; null otherwise). */
export function parseRoute(p: Buffer): RouteInfo | null {
  if (p[0] !== AF_INET || p[7] !== RTN_UNICAST || p[6] === RT_SCOPE_HOST) return null;
  const a = parseAttrs(p.subarray(RTMSG));
  const dst = a.get(RTA_DST);
  const route: RouteInfo = { dst: p[1] === 0 ? 'default' : `${formatIp(dst ? dst.readUInt32BE(0) : 0)}/${p[1]}`, table: a.get(RTA_TABLE)?.readUInt32LE(0) ?? p[4]! };
  const gw = a.get(RTA_GATEWAY);
  if (gw) route.gateway = formatIp(gw.readUInt32BE(0));
  const oif = a.get(RTA_OIF);
  if (oif) route.oif = oif.readUInt32LE(0);
  return route;
}

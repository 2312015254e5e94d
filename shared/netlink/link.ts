/**
 * Links: the requests (one link or all of them; a bridge, a veth pair with its peer born in the
 * pod's namespace, a VXLAN device; up/MTU/promisc/hairpin; deletion), the reader of the kernel's
 * link messages (pure), and `findLink`, `setMtuUp` over a socket. Layouts: linux/rtnetlink.h, linux/if_link.h, linux/veth.h.
 */
import { LinkNotFoundError } from '../errors.js';
import { AF_UNSPEC } from '../native/constants.js';
import { formatMac } from '../net/mac.js';
import { attrString, CHANGE, CREATE, DUMP, type NlMessage, type NlWriter, parseAttrs } from './message.js';
import type { RtNetlink } from './rtnetlink.js';

/** A link created or changed (a request, an answer, a notification). */
export const RTM_NEWLINK = 16;
/** A link deleted. */
export const RTM_DELLINK = 17;
/** A request for links. */
export const RTM_GETLINK = 18;

/** Interface flag: up. */
export const IFF_UP = 0x1;
/** Interface flag: promiscuous mode. */
export const IFF_PROMISC = 0x100;
/** struct ifinfomsg. */
const IFINFOMSG = 16;

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
const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_LINK = 3;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_LEARNING = 7;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_GBP = 23;

/** An ifinfomsg for link `index` (0: named by IFLA_IFNAME) with `flags` set within `change`. */
function ifinfo(w: NlWriter, h: number, index: number, flags = 0, change = 0): void {
  w.u8At(h, AF_UNSPEC).u32At(h + 4, index).u32At(h + 8, flags).u32At(h + 12, change);
}

/** Starts a request about an existing link (a change unless `type` says otherwise), named by ifindex or by name. */
function existing(w: NlWriter, link: number | string, type = RTM_NEWLINK, flags = 0, change = 0): void {
  ifinfo(w, w.start(type, CHANGE, IFINFOMSG), typeof link === 'number' ? link : 0, flags, change);
  if (typeof link === 'string') w.str(IFLA_IFNAME, link);
}

/** One link by ifindex or name (answered by a link message, or ENODEV). */
export function getLink(w: NlWriter, link: number | string): void {
  existing(w, link, RTM_GETLINK);
  w.finish();
}

/** Every link (a dump). */
export function dumpLinks(w: NlWriter): void {
  ifinfo(w, w.start(RTM_GETLINK, DUMP, IFINFOMSG), 0);
  w.finish();
}

/** `ip link add <name> address <mac> mtu <mtu> type bridge`. */
export function newBridge(w: NlWriter, name: string, mac: string, mtu: number): void {
  ifinfo(w, w.start(RTM_NEWLINK, CREATE, IFINFOMSG), 0);
  w.str(IFLA_IFNAME, name).mac(IFLA_ADDRESS, mac).u32(IFLA_MTU, mtu);
  w.nest(IFLA_LINKINFO);
  w.str(IFLA_INFO_KIND, 'bridge');
  w.end().finish();
}

/** A veth pair to create. */
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
export function newVeth(w: NlWriter, v: VethSpec): void {
  ifinfo(w, w.start(RTM_NEWLINK, CREATE, IFINFOMSG), 0);
  w.str(IFLA_IFNAME, v.hostName).mac(IFLA_ADDRESS, v.hostMac).u32(IFLA_MTU, v.mtu).u32(IFLA_MASTER, v.master);
  w.nest(IFLA_LINKINFO);
  w.str(IFLA_INFO_KIND, 'veth');
  w.nest(IFLA_INFO_DATA);
  ifinfo(w, w.nest(VETH_INFO_PEER, IFINFOMSG), 0);
  w.str(IFLA_IFNAME, v.peerName).mac(IFLA_ADDRESS, v.peerMac).u32(IFLA_MTU, v.mtu).u32(IFLA_NET_NS_FD, v.peerNetnsFd);
  w.end().end().end().finish();
}

/** A VXLAN device's settings, as `ip -d link show` lists them. */
export interface VxlanInfo {
  /** The VNI. */
  id: number;
  /** The source address of its packets (IPv4 as a number), if set. */
  local?: number;
  /** The device its packets leave by (ifindex), if set. */
  link?: number;
  /** Its UDP destination port. */
  port?: number;
  /** Whether it learns remote MACs from the packets it receives. */
  learning: boolean;
  /** Group Based Policy extension on. */
  gbp: boolean;
}

/** A VXLAN device to create. */
export interface VxlanSpec {
  name: string;
  mac: string;
  mtu: number;
  id: number;
  local: number;
  /** The device its packets leave by (ifindex). */
  link: number;
  port: number;
  gbp: boolean;
  /** Learn remote MACs from traffic (`learning`); default off (`nolearning`). */
  learning?: boolean;
}

/**
 * `ip link add <name> address <mac> mtu <mtu> type vxlan id <id> local <local> dev <link>
 * dstport <port> [no]learning [gbp]`, with the attributes iproute2 sends for it (and only those:
 * the kernel's defaults for the rest).
 */
export function newVxlan(w: NlWriter, v: VxlanSpec): void {
  ifinfo(w, w.start(RTM_NEWLINK, CREATE, IFINFOMSG), 0);
  w.mac(IFLA_ADDRESS, v.mac).u32(IFLA_MTU, v.mtu).str(IFLA_IFNAME, v.name);
  w.nest(IFLA_LINKINFO);
  w.str(IFLA_INFO_KIND, 'vxlan');
  w.nest(IFLA_INFO_DATA);
  w.u32(IFLA_VXLAN_LINK, v.link);
  if (v.gbp) w.flag(IFLA_VXLAN_GBP);
  w.u32(IFLA_VXLAN_ID, v.id).ip(IFLA_VXLAN_LOCAL, v.local).u8(IFLA_VXLAN_LEARNING, v.learning ? 1 : 0).be16(IFLA_VXLAN_PORT, v.port);
  w.end().end().finish();
}

/** `ip link set dev <link> type bridge_slave hairpin on|off`. */
export function setHairpin(w: NlWriter, link: number | string, on: boolean): void {
  existing(w, link);
  w.nest(IFLA_LINKINFO);
  w.str(IFLA_INFO_SLAVE_KIND, 'bridge');
  w.nest(IFLA_INFO_SLAVE_DATA);
  w.u8(IFLA_BRPORT_MODE, on ? 1 : 0);
  w.end().end().finish();
}

/** Sets (`on`) or clears interface flags, e.g. IFF_UP, IFF_PROMISC. */
export function setFlags(w: NlWriter, link: number | string, flags: number, on: boolean): void {
  existing(w, link, RTM_NEWLINK, on ? flags : 0, flags);
  w.finish();
}

/** `ip link set dev <link> mtu <mtu>`. */
export function setMtu(w: NlWriter, link: number | string, mtu: number): void {
  existing(w, link);
  w.u32(IFLA_MTU, mtu).finish();
}

/** Deletes a link by ifindex or name (ENODEV when there is none). */
export function delLink(w: NlWriter, link: number | string): void {
  existing(w, link, RTM_DELLINK);
  w.finish();
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
  /** For a VXLAN device: its settings. */
  vxlan?: VxlanInfo;
}

/**
 * True when `m`, a message from a socket subscribed to link events, is the kernel's notice that
 * link `index` is gone: its own RTM_DELLINK (family AF_UNSPEC), not the one for its bridge port
 * (AF_BRIDGE) that comes just before.
 */
export function isLinkGone(m: NlMessage, index: number): boolean {
  return m.type === RTM_DELLINK && m.payload.length >= IFINFOMSG && m.payload[0] === AF_UNSPEC && m.payload.readInt32LE(4) === index;
}

/** Reads a VXLAN device's IFLA_INFO_DATA. */
function parseVxlan(data: Buffer): VxlanInfo {
  const a = parseAttrs(data);
  const v: VxlanInfo = { id: a.get(IFLA_VXLAN_ID)?.readUInt32LE(0) ?? 0, learning: a.get(IFLA_VXLAN_LEARNING)?.[0] !== 0, gbp: a.has(IFLA_VXLAN_GBP) };
  const local = a.get(IFLA_VXLAN_LOCAL);
  if (local?.length === 4) v.local = local.readUInt32BE(0);
  const link = a.get(IFLA_VXLAN_LINK);
  if (link) v.link = link.readUInt32LE(0);
  const port = a.get(IFLA_VXLAN_PORT);
  if (port) v.port = port.readUInt16BE(0);
  return v;
}

/** Reads the payload of an RTM_NEWLINK message. */
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
    const data = i.get(IFLA_INFO_DATA);
    if (kind === 'vxlan' && data) link.vxlan = parseVxlan(data);
    const slave = i.get(IFLA_INFO_SLAVE_DATA);
    if (slave && attrString(i.get(IFLA_INFO_SLAVE_KIND)) === 'bridge') {
      const mode = parseAttrs(slave).get(IFLA_BRPORT_MODE);
      if (mode) link.hairpin = mode[0] === 1;
    }
  }
  return link;
}

/** Link `link` (ifindex or name) as the kernel describes it, or null when there is none. */
export function findLink(nl: RtNetlink, link: number | string): LinkInfo | null {
  try {
    const [a] = nl.perform([[`reading link ${link}`, (w) => getLink(w, link)]]);
    return parseLink(a!.messages[0]!.payload);
  } catch (e) {
    if (e instanceof LinkNotFoundError) return null;
    throw e;
  }
}

/** `ip link set dev <name> mtu <mtu> up`. */
export function setMtuUp(nl: RtNetlink, name: string, mtu: number): void {
  nl.perform([[`setting the MTU of ${name} to ${mtu}`, (w) => setMtu(w, name, mtu)], [`bringing ${name} up`, (w) => setFlags(w, name, IFF_UP, true)]]);
}

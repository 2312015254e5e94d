/**
 * IPv4 routes, pure: the requests (add, replace or delete one; dump all) and the reader of the
 * kernel's route messages. Layouts: linux/rtnetlink.h.
 */
import { type Cidr, formatIp } from '../ip/cidr.js';
import { AF_INET } from '../native/constants.js';
import { CHANGE, CREATE, DUMP, type NlWriter, parseAttrs, REPLACE } from './message.js';

/** A route added (a request, an answer). */
export const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;

/** The main routing table (`ip route` without `table`). */
export const RT_TABLE_MAIN = 254;
/** Scope of a route or address: anywhere. */
export const RT_SCOPE_UNIVERSE = 0;
/** Scope of a route or address: this host only (a loopback address, a local route). */
export const RT_SCOPE_HOST = 254;
/** In a deletion: a route of any scope. */
const RT_SCOPE_NOWHERE = 255;
/** Route type: an ordinary route to a gateway or a link. */
const RTN_UNICAST = 1;
/** What `ip route add` writes as the protocol. */
export const RTPROT_BOOT = 3;
/** The protocol number marking the routes twill owns, so reconcile never touches anyone else's. */
export const TWILL_RTPROT = 116;
const RTNH_F_ONLINK = 4;
/** struct rtmsg. */
const RTMSG = 12;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;

/** A route to write: to `dst` via the gateway `via` (`onlink`: without checking that it is on the link). */
export interface Route {
  readonly dst: Cidr;
  readonly via: number;
  readonly onlink?: boolean;
}

/**
 * `ip route add|replace <dst> via <via> dev <oif> [onlink] proto <protocol>` in the main table, or
 * `ip route del <dst> proto <protocol>` (a route to `dst` with that protocol, any scope).
 */
export function routeRequest(w: NlWriter, action: 'add' | 'replace' | 'delete', r: Route, oif: number, protocol: number): void {
  const del = action === 'delete';
  const h = w.start(del ? RTM_DELROUTE : RTM_NEWROUTE, del ? CHANGE : action === 'add' ? CREATE : REPLACE, RTMSG);
  w.u8At(h, AF_INET).u8At(h + 1, r.dst.prefix).u8At(h + 4, RT_TABLE_MAIN).u8At(h + 5, protocol);
  w.u8At(h + 6, del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE).u8At(h + 7, del ? 0 : RTN_UNICAST).u32At(h + 8, !del && r.onlink ? RTNH_F_ONLINK : 0);
  if (r.dst.prefix > 0) w.ip(RTA_DST, r.dst.ip);
  if (!del) w.ip(RTA_GATEWAY, r.via).u32(RTA_OIF, oif);
  w.finish();
}

/** Every IPv4 route, of every table (a dump). */
export function dumpRoutes(w: NlWriter): void {
  w.u8At(w.start(RTM_GETROUTE, DUMP, RTMSG), AF_INET);
  w.finish();
}

/** `ip route get <dst>`: the route the kernel would take to one address (answered with one RTM_NEWROUTE). */
export function getRoute(w: NlWriter, dst: number): void {
  const h = w.start(RTM_GETROUTE, CHANGE, RTMSG);
  w.u8At(h, AF_INET).u8At(h + 1, 32);
  w.ip(RTA_DST, dst);
  w.finish();
}

/** An IPv4 route as the kernel describes it. */
export interface RouteMessage {
  dst: Cidr;
  gateway?: number;
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  onlink: boolean;
  /** The source address the kernel prefers on this route. */
  prefsrc?: number;
}

/** Reads the payload of an RTM_NEWROUTE message (null when it is not IPv4). */
export function readRoute(p: Buffer): RouteMessage | null {
  if (p[0] !== AF_INET) return null;
  const a = parseAttrs(p.subarray(RTMSG));
  const dst = a.get(RTA_DST);
  const r: RouteMessage = {
    dst: { ip: dst ? dst.readUInt32BE(0) : 0, prefix: p[1]! }, table: a.get(RTA_TABLE)?.readUInt32LE(0) ?? p[4]!,
    protocol: p[5]!, scope: p[6]!, type: p[7]!, onlink: (p.readUInt32LE(8) & RTNH_F_ONLINK) !== 0,
  };
  const gw = a.get(RTA_GATEWAY);
  if (gw) r.gateway = gw.readUInt32BE(0);
  const oif = a.get(RTA_OIF);
  if (oif) r.oif = oif.readUInt32LE(0);
  const src = a.get(RTA_PREFSRC);
  if (src?.length === 4) r.prefsrc = src.readUInt32BE(0);
  return r;
}

/** An IPv4 route, as CHECK compares it ("default" or "a.b.c.d/n", and the gateway). */
export interface RouteInfo {
  dst: string;
  gateway?: string;
  oif?: number;
  table: number;
}

/** Reads the payload of an RTM_NEWROUTE message in CHECK's form (IPv4, unicast, not host scope; null otherwise). */
export function parseRoute(p: Buffer): RouteInfo | null {
  const r = readRoute(p);
  if (!r || r.type !== RTN_UNICAST || r.scope === RT_SCOPE_HOST) return null;
  const route: RouteInfo = { dst: r.dst.prefix === 0 ? 'default' : `${formatIp(r.dst.ip)}/${r.dst.prefix}`, table: r.table };
  if (r.gateway !== undefined) route.gateway = formatIp(r.gateway);
  if (r.oif !== undefined) route.oif = r.oif;
  return route;
}

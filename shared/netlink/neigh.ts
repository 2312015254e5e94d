/**
 * Neighbour entries, pure: IPv4 neighbours (address → MAC on a device) and a VXLAN device's
 * forwarding database (MAC → remote address: the AF_BRIDGE neighbours of the device itself); the
 * requests (replace or delete one, dump all) and the reader of the kernel's neighbour messages.
 * Layouts: linux/neighbour.h.
 */
import { AF_BRIDGE, AF_INET } from '../native/constants.js';
import { CHANGE, DUMP, type NlWriter, parseAttrs, REPLACE } from './message.js';

const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_GETNEIGH = 30;
/** A neighbour entry that never expires and is never replaced by what the kernel learns. */
export const NUD_PERMANENT = 0x80;
/** An FDB entry of the device itself (a VXLAN device's), not of the bridge it is a port of. */
const NTF_SELF = 0x02;
/** struct ndmsg. */
const NDMSG = 12;
const NDA_DST = 1;
const NDA_LLADDR = 2;

/** An IPv4 neighbour: address → MAC (a 48-bit number, as macNumber gives it). */
export interface Neigh {
  readonly ip: number;
  readonly mac: number;
}

/** An FDB entry: MAC (a 48-bit number) → the remote (VTEP) address packets for it go to. */
export interface Fdb {
  readonly mac: number;
  readonly dst: number;
}

/** Starts a neighbour request for a permanent entry on device `ifindex`. */
function start(w: NlWriter, replace: boolean, family: number, ifindex: number, flags: number): void {
  const h = w.start(replace ? RTM_NEWNEIGH : RTM_DELNEIGH, replace ? REPLACE : CHANGE, NDMSG);
  w.u8At(h, family).u32At(h + 4, ifindex).u8At(h + 10, flags);
  w.u8At(h + 8, NUD_PERMANENT); // ndm_state, 16 bits: the high byte stays 0
}

/** `ip neigh replace <ip> lladdr <mac> dev <ifindex> nud permanent`, or `ip neigh del <ip> dev <ifindex>`. */
export function neighRequest(w: NlWriter, action: 'replace' | 'delete', ifindex: number, n: Neigh): void {
  start(w, action === 'replace', AF_INET, ifindex, 0);
  w.ip(NDA_DST, n.ip);
  if (action === 'replace') w.mac(NDA_LLADDR, n.mac);
  w.finish();
}

/** `bridge fdb replace <mac> dev <ifindex> dst <dst> self permanent`, or `bridge fdb del <mac> dev <ifindex> self`. */
export function fdbRequest(w: NlWriter, action: 'replace' | 'delete', ifindex: number, f: Fdb): void {
  start(w, action === 'replace', AF_BRIDGE, ifindex, NTF_SELF);
  w.mac(NDA_LLADDR, f.mac).ip(NDA_DST, f.dst).finish();
}

/** Every neighbour of `family`: AF_INET for IPv4 neighbours, AF_BRIDGE for FDB entries (a dump). */
export function dumpNeighs(w: NlWriter, family: number): void {
  w.u8At(w.start(RTM_GETNEIGH, DUMP, NDMSG), family);
  w.finish();
}

/** A neighbour or FDB entry as the kernel describes it. */
export interface NeighMessage {
  family: number;
  /** Its device. */
  index: number;
  /** NUD_* bits. */
  state: number;
  /** An IPv4 neighbour's address, an FDB entry's remote IPv4 address (NDA_DST). */
  ip?: number;
  /** The MAC (NDA_LLADDR) as a 48-bit number. */
  mac?: number;
}

/** Reads the payload of an RTM_NEWNEIGH message. */
export function parseNeigh(p: Buffer): NeighMessage {
  const a = parseAttrs(p.subarray(NDMSG));
  const n: NeighMessage = { family: p[0]!, index: p.readInt32LE(4), state: p.readUInt16LE(8) };
  const dst = a.get(NDA_DST);
  if (dst?.length === 4) n.ip = dst.readUInt32BE(0);
  const mac = a.get(NDA_LLADDR);
  if (mac?.length === 6) n.mac = mac.readUIntBE(0, 6);
  return n;
}

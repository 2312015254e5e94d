/**
 * The udp relay's view of the other hosts, rebuilt from the leases on every change:
 * - route(dst): the UDP address (PublicIP:Port, as a ready sockaddr_in) of the host whose subnet
 *   holds an inner destination, longest prefix first (all leases share SubnetLen in practice);
 * - admits(sender, src): whether an inner source belongs to a subnet leased by the host the
 *   datagram came from; anything else is spoofed (or from a host without a lease) and dropped.
 * Lookups allocate nothing: they run once per packet.
 */
import { maskOf } from '../../../shared/ip/cidr.js';
import { AF_INET } from '../../../shared/native/constants.js';

/** One remote lease as the relay needs it. */
export interface Peer {
  subnet: number;
  prefix: number;
  publicIp: number;
}

/** A `struct sockaddr_in` for ip:port (16 bytes, family in host order, port and address in network order). */
export function sockaddrIn(ip: number, port: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  sa.writeUInt32BE(ip >>> 0, 4);
  return sa;
}

interface PrefixRoutes {
  mask: number;
  bySubnet: Map<number, Buffer>;
}

export class PeerTable {
  /** Route maps per prefix length, longest prefix first. */
  private readonly routes: PrefixRoutes[] = [];
  /** PublicIP → [subnet, mask, subnet, mask, …] of that host's leases. */
  private readonly owned = new Map<number, number[]>();
  readonly size: number;

  constructor(peers: readonly Peer[], port: number) {
    const byPrefix = new Map<number, PrefixRoutes>();
    for (const p of peers) {
      const mask = maskOf(p.prefix);
      const net = (p.subnet & mask) >>> 0;
      let r = byPrefix.get(p.prefix);
      if (!r) byPrefix.set(p.prefix, (r = { mask, bySubnet: new Map() }));
      r.bySubnet.set(net, sockaddrIn(p.publicIp, port));
      const list = this.owned.get(p.publicIp >>> 0) ?? [];
      list.push(net, mask);
      this.owned.set(p.publicIp >>> 0, list);
    }
    for (const prefix of [...byPrefix.keys()].sort((a, b) => b - a)) this.routes.push(byPrefix.get(prefix)!);
    this.size = peers.length;
  }

  /** The sockaddr to send a packet for `dst` to, or undefined when no lease holds it. */
  route(dst: number): Buffer | undefined {
    for (const r of this.routes) {
      const sa = r.bySubnet.get((dst & r.mask) >>> 0);
      if (sa) return sa;
    }
    return undefined;
  }

  /** True when `sender` (an outer source address) holds a lease; false for unknown senders. */
  knows(sender: number): boolean {
    return this.owned.has(sender);
  }

  /** True when the inner source `src` lies in a subnet leased by `sender`. */
  admits(sender: number, src: number): boolean {
    const list = this.owned.get(sender);
    if (!list) return false;
    for (let i = 0; i < list.length; i += 2) if (((src & list[i + 1]!) >>> 0) === list[i]) return true;
    return false;
  }
}

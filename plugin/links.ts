/**
 * The per-pod kernel work, over rtnetlink in this process (no child processes): the host bridge with
 * its gateway address, the veth pair (host side named from the container ID and interface name, so
 * DEL needs no state; the peer is created inside the pod's namespace), and the pod side's address
 * and routes through a socket opened in the pod's namespace. Refusals come as typed errors
 * (rtnetlink.ts `refusal`).
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { KernelError, LinkNotFoundError } from '../shared/errors.js';
import { type Cidr, containsCidr, parseCidr, parseIp } from '../shared/ip/cidr.js';
import { EEXIST, ENODEV } from '../shared/native/constants.js';
import { addrRequest, addressChanges, type AddrInfo, dumpAddrs, parseAddr } from '../shared/netlink/addr.js';
import { delLink, dumpLinks, getLink, IFF_PROMISC, IFF_UP, type LinkInfo, newBridge, newVeth, parseLink, setFlags, setHairpin, setMtu } from '../shared/netlink/link.js';
import type { Request } from '../shared/netlink/message.js';
import { dumpRoutes, parseRoute, type RouteInfo, routeRequest, RT_TABLE_MAIN, RTPROT_BOOT } from '../shared/netlink/route.js';
import { refusal, RtNetlink } from '../shared/netlink/rtnetlink.js';
import { randomMac } from '../shared/net/mac.js';

export { hostVethName } from '../shared/net/attachment-hash.js';

/** A link with its IPv4 addresses. */
export interface Link extends LinkInfo {
  addrs: AddrInfo[];
}

let hostSocket: RtNetlink | undefined;
/** The socket in the plugin's own (the host's) namespace, or in `netns`. */
function sock(netns?: string): RtNetlink {
  return netns ? RtNetlink.inNetns(netns) : (hostSocket ??= new RtNetlink());
}

function withSocket<T>(netns: string | undefined, f: (nl: RtNetlink) => T): T {
  const nl = sock(netns);
  try {
    return f(nl);
  } finally {
    if (netns) nl.close();
  }
}

/** The link and its addresses in one exchange (the plugin's hot path: no separate findLink). */
function lookup(nl: RtNetlink, name: string, withAddrs: boolean): Link | null {
  const [link, addrs] = nl.transact(withAddrs ? [(w) => getLink(w, name), dumpAddrs] : [(w) => getLink(w, name)]);
  if (link!.errno === ENODEV) return null;
  if (link!.errno) throw refusal(`reading link ${name}`, link!.errno);
  const info = parseLink(link!.messages[0]!.payload);
  return { ...info, addrs: (addrs?.messages ?? []).map((m) => parseAddr(m.payload)).filter((a): a is AddrInfo => a?.index === info.index) };
}

/**
 * One link (in `netns` when given), or null when it does not exist; with its IPv4 addresses unless
 * `withAddrs` is false (then `addrs` is empty and no address dump is made).
 */
export function readLink(name: string, netns?: string, withAddrs = true): Link | null {
  return withSocket(netns, (nl) => lookup(nl, name, withAddrs));
}

/**
 * Ensures the bridge exists, is up, has `mtu` and carries the gateway address. IPv4 addresses of an
 * older subnet of the same cluster network are replaced (flannel's classic "cni0 already has an IP
 * address different from" failure). Safe to run concurrently.
 */
export function ensureBridge(name: string, gateway: string, subnet: Cidr, network: Cidr, mtu: number, promisc: boolean, known?: Link | null): Link {
  const nl = sock();
  let link = known === undefined ? lookup(nl, name, true) : known;
  if (!link) {
    // A fixed MAC: otherwise a bridge takes its lowest port's MAC, which changes as pods come and go.
    const [created] = nl.transact([(w) => newBridge(w, name, randomMac(), mtu)]);
    if (created!.errno && created!.errno !== EEXIST) throw refusal(`creating bridge ${name}`, created!.errno);
    link = lookup(nl, name, true);
    if (!link) throw new KernelError(`bridge ${name} vanished while being created`);
  }
  if (link.kind !== 'bridge') throw new KernelError(`${name} exists and is not a bridge`);
  const index = link.index;
  const changes = addressChanges(index, name, link.addrs, { ip: parseIp(gateway), prefix: subnet.prefix }, (a) => containsCidr(network, a));
  if (link.mtu !== mtu) changes.push([`setting the MTU of ${name} to ${mtu}`, (w) => setMtu(w, index, mtu)]);
  if (!(link.flags & IFF_UP)) changes.push([`bringing ${name} up`, (w) => setFlags(w, index, IFF_UP, true)]);
  if (promisc && !(link.flags & IFF_PROMISC)) changes.push([`turning on promiscuous mode of ${name}`, (w) => setFlags(w, index, IFF_PROMISC, true)]);
  if (changes.length) nl.perform(changes);
  return link;
}

/**
 * Creates the veth pair: the host side on the bridge (ifindex `master`), the peer born inside the
 * pod's namespace as `ifName`; then the host side up (and hairpin). Throws a KernelError with errno
 * EEXIST when either name is taken. The pod side comes up in configurePod.
 */
export function createVeth(o: {
  hostName: string; hostMac: string; ifName: string; podMac: string; mtu: number; netns: string; master: number; hairpin: boolean;
}): void {
  const nsFd = openSync(o.netns, 'r');
  try {
    const veth = { hostName: o.hostName, hostMac: o.hostMac, master: o.master, peerName: o.ifName, peerMac: o.podMac, mtu: o.mtu, peerNetnsFd: nsFd };
    const requests: Array<[string, Request]> = [[`creating veth ${o.hostName} with peer ${o.ifName} in ${o.netns}`, (w) => newVeth(w, veth)]];
    if (o.hairpin) requests.push([`turning on hairpin mode of ${o.hostName}`, (w) => setHairpin(w, o.hostName, true)]);
    requests.push([`bringing ${o.hostName} up`, (w) => setFlags(w, o.hostName, IFF_UP, true)]);
    sock().perform(requests);
  } finally {
    closeSync(nsFd);
  }
}

/** Inside the pod: loopback up, the interface up, its address, the routes. */
export function configurePod(netns: string, ifName: string, address: string, routes: Array<{ dst: string; gw: string }>): void {
  withSocket(netns, (nl) => {
    const link = lookup(nl, ifName, false);
    if (!link) throw new LinkNotFoundError(`${ifName} is missing in ${netns}`);
    const addr = parseCidr(address);
    nl.perform([
      ['bringing lo up', (w) => setFlags(w, 1, IFF_UP, true)], // loopback is ifindex 1 in every namespace
      [`bringing ${ifName} up`, (w) => setFlags(w, link.index, IFF_UP, true)],
      [`adding ${address} to ${ifName}`, (w) => addrRequest(w, 'add', link.index, addr.ip, addr.prefix)],
      ...routes.map((r): [string, Request] => [`adding route ${r.dst} via ${r.gw}`, (w) => routeRequest(w, 'add', { dst: parseCidr(r.dst), via: parseIp(r.gw) }, link.index, RTPROT_BOOT)]),
    ]);
  });
}

/** Deletes a link (in `netns` when given); absent is fine. Returns whether it existed. */
export function deleteLink(name: string, netns?: string): boolean {
  return withSocket(netns, (nl) => {
    const [a] = nl.transact([(w) => delLink(w, name)]);
    if (a!.errno === ENODEV) return false;
    if (a!.errno) throw refusal(`deleting ${name}`, a!.errno);
    return true;
  });
}

/** Turns on IPv4 forwarding in the current (host) namespace. */
export function enableIpForward(): void {
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

/** The main table's IPv4 routes through `ifName` inside the pod, for CHECK. */
export function readPodRoutes(netns: string, ifName: string): RouteInfo[] {
  return withSocket(netns, (nl) => {
    const link = lookup(nl, ifName, false);
    if (!link) return [];
    const routes: RouteInfo[] = [];
    nl.dump(`reading routes in ${netns}`, dumpRoutes, (m) => {
      const r = parseRoute(m.payload);
      if (r?.oif === link.index && r.table === RT_TABLE_MAIN) routes.push(r);
    });
    return routes;
  });
}

/** The names of the links attached to `bridge` (for GC); none when there is no bridge. */
export function bridgePorts(bridge: string): string[] {
  const nl = sock();
  const br = lookup(nl, bridge, false);
  if (!br) return [];
  const ports: string[] = [];
  nl.dump('reading links', dumpLinks, (m) => {
    const l = parseLink(m.payload);
    if (l.master === br.index) ports.push(l.name);
  });
  return ports;
}

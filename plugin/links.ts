/**
 * The per-pod kernel work, over rtnetlink in this process (no child processes): the host bridge with
 * its gateway address, the veth pair (host side named from the container ID and interface name, so
 * DEL needs no state; the peer is created inside the pod's namespace), and the pod side's address
 * and routes through a socket opened in the pod's namespace. Failures become typed errors here.
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { KernelError, LinkNotFoundError } from '../shared/errors.js';
import { type Cidr, containsCidr, formatIp, parseCidr, parseIp } from '../shared/ip/cidr.js';
import { sysError } from '../shared/native/libc.js';
import {
  addrRequest, addRoute, type AddrInfo, delLink, dumpAddrs, dumpLinks, dumpRoutes, getLink, IFF_PROMISC, IFF_UP, type LinkInfo,
  newBridge, newVeth, parseAddr, parseLink, parseRoute, RT_TABLE_MAIN, type RouteInfo, setFlags, setHairpin, setMtu,
} from '../shared/netlink/link-messages.js';
import { type NlAnswer, RtNetlink } from '../shared/netlink/rtnetlink.js';
import { ENODEV } from '../shared/netlink/rtnl-messages.js';
import { randomMac } from '../shared/net/mac.js';

const EEXIST = 17;

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

/** A kernel refusal as a typed error: LinkNotFoundError for "no such device". */
function refusal(what: string, errno: number): KernelError | LinkNotFoundError {
  const e = sysError(what, errno);
  return errno === ENODEV ? new LinkNotFoundError(e.message) : e;
}

/** Runs requests, throwing for the first refused one (`what` names each request). */
function run(nl: RtNetlink, requests: Array<[string, Buffer]>): NlAnswer[] {
  const answers = nl.transact(requests.map(([, r]) => r));
  answers.forEach((a, i) => {
    if (a.errno) throw refusal(requests[i]![0], a.errno);
  });
  return answers;
}

function withSocket<T>(netns: string | undefined, f: (nl: RtNetlink) => T): T {
  const nl = sock(netns);
  try {
    return f(nl);
  } finally {
    if (netns) nl.close();
  }
}

function lookup(nl: RtNetlink, name: string, withAddrs: boolean): Link | null {
  const [link, addrs] = nl.transact(withAddrs ? [getLink(name), dumpAddrs()] : [getLink(name)]);
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
    const [created] = nl.transact([newBridge(name, randomMac(), mtu)]);
    if (created!.errno && created!.errno !== EEXIST) throw refusal(`creating bridge ${name}`, created!.errno);
    link = lookup(nl, name, true);
    if (!link) throw new KernelError(`bridge ${name} vanished while being created`);
  }
  if (link.kind !== 'bridge') throw new KernelError(`${name} exists and is not a bridge`);
  const gw = parseIp(gateway);
  const changes: Array<[string, Buffer]> = [];
  for (const a of link.addrs) {
    if (a.ip === gw && a.prefix === subnet.prefix) continue;
    if (containsCidr(network, { ip: a.ip, prefix: a.prefix })) changes.push([`removing ${formatIp(a.ip)}/${a.prefix} from ${name}`, addrRequest('delete', link.index, a.ip, a.prefix)]);
  }
  if (!link.addrs.some((a) => a.ip === gw && a.prefix === subnet.prefix)) changes.push([`adding ${gateway}/${subnet.prefix} to ${name}`, addrRequest('replace', link.index, gw, subnet.prefix)]);
  if (link.mtu !== mtu) changes.push([`setting the MTU of ${name} to ${mtu}`, setMtu(link.index, mtu)]);
  if (!(link.flags & IFF_UP)) changes.push([`bringing ${name} up`, setFlags(link.index, IFF_UP, true)]);
  if (promisc && !(link.flags & IFF_PROMISC)) changes.push([`turning on promiscuous mode of ${name}`, setFlags(link.index, IFF_PROMISC, true)]);
  if (changes.length) run(nl, changes);
  return link;
}

/**
 * Creates the veth pair: the host side on the bridge (ifindex `master`), the peer born inside the
 * pod's namespace as `ifName`; then the host side up (and hairpin). Throws a KernelError "... File
 * exists" when either name is taken. The pod side comes up in configurePod.
 */
export function createVeth(o: {
  hostName: string; hostMac: string; ifName: string; podMac: string; mtu: number; netns: string; master: number; hairpin: boolean;
}): void {
  const nsFd = openSync(o.netns, 'r');
  try {
    run(sock(), [
      [`creating veth ${o.hostName} with peer ${o.ifName} in ${o.netns}`,
        newVeth({ hostName: o.hostName, hostMac: o.hostMac, master: o.master, peerName: o.ifName, peerMac: o.podMac, mtu: o.mtu, peerNetnsFd: nsFd })],
      ...(o.hairpin ? [[`turning on hairpin mode of ${o.hostName}`, setHairpin(o.hostName, true)] as [string, Buffer]] : []),
      [`bringing ${o.hostName} up`, setFlags(o.hostName, IFF_UP, true)],
    ]);
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
    run(nl, [
      ['bringing lo up', setFlags(1, IFF_UP, true)], // loopback is ifindex 1 in every namespace
      [`bringing ${ifName} up`, setFlags(link.index, IFF_UP, true)],
      [`adding ${address} to ${ifName}`, addrRequest('add', link.index, addr.ip, addr.prefix)],
      ...routes.map((r): [string, Buffer] => [`adding route ${r.dst} via ${r.gw}`, addRoute(parseCidr(r.dst), parseIp(r.gw), link.index)]),
    ]);
  });
}

/** Deletes a link (in `netns` when given); absent is fine. Returns whether it existed. */
export function deleteLink(name: string, netns?: string): boolean {
  return withSocket(netns, (nl) => {
    const [a] = nl.transact([delLink(name)]);
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
    const [dump] = nl.transact([dumpRoutes()]);
    if (dump!.errno) throw refusal(`reading routes in ${netns}`, dump!.errno);
    return dump!.messages.map((m) => parseRoute(m.payload)).filter((r): r is RouteInfo => r?.oif === link.index && r.table === RT_TABLE_MAIN);
  });
}

/** The names of the links attached to `bridge` (for GC); none when there is no bridge. */
export function bridgePorts(bridge: string): string[] {
  const nl = sock();
  const br = lookup(nl, bridge, false);
  if (!br) return [];
  const [dump] = nl.transact([dumpLinks()]);
  if (dump!.errno) throw refusal('reading links', dump!.errno);
  return dump!.messages.map((m) => parseLink(m.payload)).filter((l) => l.master === br.index).map((l) => l.name);
}

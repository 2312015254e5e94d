/**
 * The per-pod kernel work, through iproute2 (argument arrays, one batch per namespace where it
 * can): the host bridge with its gateway address, the veth pair (host side named from the
 * container ID and interface name, so DEL needs no state), and the pod side's address and routes.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { KernelError, LinkNotFoundError } from '../shared/errors.js';
import { type Cidr, containsCidr, parseCidr } from '../shared/ip/cidr.js';
import { ip, ipJson, runBatch } from '../shared/netlink/ip-command.js';
import { randomMac } from '../shared/net/mac.js';

/** Host-side veth name: "veth" + 11 hex digits of sha256(containerID, ifName). */
export function hostVethName(containerID: string, ifName: string): string {
  return 'veth' + createHash('sha256').update(`${containerID}\u0000${ifName}`).digest('hex').slice(0, 11);
}

export interface JsonLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
  master?: string;
  flags?: string[];
  operstate?: string;
  linkinfo?: { info_kind?: string; info_slave_data?: { hairpin?: boolean } };
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

/** One link with addresses, or null when it does not exist. */
export async function readLink(name: string, netns?: string): Promise<JsonLink | null> {
  try {
    return (await ipJson<JsonLink>(['-details', 'addr', 'show', 'dev', name], netns ? { netns } : {}))[0] ?? null;
  } catch (e) {
    if (e instanceof LinkNotFoundError) return null;
    throw e;
  }
}

/**
 * Ensures the bridge exists, is up, has `mtu` and carries the gateway address. IPv4 addresses of an
 * older subnet of the same cluster network are replaced (flannel's classic "cni0 already has an IP
 * address different from" failure). Safe to run concurrently.
 */
export async function ensureBridge(name: string, gateway: string, subnet: Cidr, network: Cidr, mtu: number, promisc: boolean, known?: JsonLink | null): Promise<JsonLink> {
  let link = known === undefined ? await readLink(name) : known;
  if (!link) {
    try {
      // A fixed MAC: otherwise a bridge takes its lowest port's MAC, which changes as pods come and go.
      await ip(['link', 'add', name, 'address', randomMac(), 'mtu', String(mtu), 'type', 'bridge']);
    } catch (e) {
      if (!/File exists/.test((e as Error).message)) throw e;
    }
    link = await readLink(name);
    if (!link) throw new KernelError(`bridge ${name} vanished while being created`);
  }
  if (link.linkinfo?.info_kind !== 'bridge') throw new KernelError(`${name} exists and is not a bridge`);
  const want = `${gateway}/${subnet.prefix}`;
  const lines: string[] = [];
  for (const a of link.addr_info ?? []) {
    if (a.family !== 'inet' || `${a.local}/${a.prefixlen}` === want) continue;
    if (containsCidr(network, parseCidr(`${a.local}/${a.prefixlen}`))) lines.push(`addr del ${a.local}/${a.prefixlen} dev ${name}`);
  }
  if (!(link.addr_info ?? []).some((a) => a.family === 'inet' && `${a.local}/${a.prefixlen}` === want)) lines.push(`addr replace ${want} dev ${name}`);
  if (link.mtu !== mtu) lines.push(`link set dev ${name} mtu ${mtu}`);
  if (!(link.flags ?? []).includes('UP')) lines.push(`link set dev ${name} up`);
  if (promisc && !(link.flags ?? []).includes('PROMISC')) lines.push(`link set dev ${name} promisc on`);
  if (lines.length) await runBatch('ip', lines);
  return link;
}

/** Creates the veth pair, moving the peer into `netns` as `ifName`, and attaches the host side. */
export async function createVeth(o: {
  hostName: string; hostMac: string; ifName: string; podMac: string; mtu: number; netns: string; bridge: string; hairpin: boolean;
}): Promise<void> {
  // One process: create the pair (the peer straight into the pod's namespace), then attach it.
  await runBatch('ip', [
    `link add ${o.hostName} mtu ${o.mtu} address ${o.hostMac} type veth peer name ${o.ifName} mtu ${o.mtu} address ${o.podMac} netns ${o.netns}`,
    `link set dev ${o.hostName} master ${o.bridge}`,
    ...(o.hairpin ? [`link set dev ${o.hostName} type bridge_slave hairpin on`] : []),
    `link set dev ${o.hostName} up`,
  ]);
}

/** Inside the pod: loopback up, the address, the interface up, the routes. */
export async function configurePod(netns: string, ifName: string, address: string, routes: Array<{ dst: string; gw: string }>): Promise<void> {
  await runBatch('ip', [
    'link set dev lo up',
    `addr add ${address} dev ${ifName}`,
    `link set dev ${ifName} up`,
    ...routes.map((r) => `route add ${r.dst} via ${r.gw} dev ${ifName}`),
  ], { netns });
}

/** Deletes a link in the current namespace; absent is fine. Returns whether it existed. */
export async function deleteLink(name: string, netns?: string): Promise<boolean> {
  try {
    await ip(['link', 'del', 'dev', name], netns ? { netns } : {});
    return true;
  } catch (e) {
    if (e instanceof LinkNotFoundError) return false;
    throw e;
  }
}

/** Turns on IPv4 forwarding in the current (host) namespace. */
export function enableIpForward(): void {
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

/** Routes inside the pod, for CHECK. */
export async function readPodRoutes(netns: string, ifName: string): Promise<Array<{ dst: string; gateway?: string }>> {
  return ipJson<{ dst: string; gateway?: string }>(['-4', 'route', 'show', 'dev', ifName], { netns });
}

/** The veth links attached to `bridge` (for GC). */
export async function bridgePorts(bridge: string): Promise<string[]> {
  try {
    const links = await ipJson<JsonLink>(['link', 'show', 'master', bridge]);
    return links.map((l) => l.ifname);
  } catch (e) {
    if (e instanceof LinkNotFoundError) return [];
    throw e;
  }
}

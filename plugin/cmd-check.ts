/**
 * CHECK: the attachment still matches prevResult: the address is still allocated to it by the
 * daemon, the host veth is on the bridge, and inside the pod the interface has the address, the
 * MTU and the routes twill put there.
 */
import { CNI_ERR, CniError } from './cni/cni-error.js';
import { DaemonApi } from './daemon-api.js';
import { formatCidr } from '../shared/ip/cidr.js';
import { hostVethName, readLink, readPodRoutes } from './links.js';
import { assertNetns } from './netns.js';
import type { CmdArgs } from './skel.js';

function fail(msg: string): never {
  throw new CniError(CNI_ERR.CHECK_FAILED, msg);
}

export async function cmdCheck(a: CmdArgs): Promise<void> {
  const conf = a.conf;
  const prev = a.prevResult; // checked and read by skel
  if (!prev) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'Required prevResult missing');
  const idx = (prev.interfaces ?? []).findIndex((i) => i.name === a.ifName && i.sandbox === a.netns);
  const ipConf = (prev.ips ?? []).find((ip) => (idx >= 0 ? ip.interface === idx : true) && !ip.address.includes(':'));
  if (!ipConf) fail(`prevResult has no IPv4 address for ${a.ifName}`);
  assertNetns(a.netns);

  const client = new DaemonApi(conf.socket);
  const lease = client.call('GET /v1/lease');
  const allocs = client.call('GET /v1/ipam/allocations');
  const address = ipConf.address.split('/')[0];
  const mine = allocs.find((x) => x.containerID === a.containerID && x.ifName === a.ifName);
  if (!mine) fail(`twilld has no address allocated to ${a.containerID}/${a.ifName}`);
  if (mine.address !== address) fail(`twilld allocated ${mine.address} to ${a.containerID}/${a.ifName}, prevResult says ${address}`);

  const hostName = hostVethName(a.containerID, a.ifName);
  const host = readLink(hostName, undefined, false);
  if (!host) fail(`host veth ${hostName} is missing`);
  const bridge = readLink(conf.bridge, undefined, false);
  if (!bridge || host.master !== bridge.index) fail(`host veth ${host.name} is not attached to bridge ${conf.bridge}`);

  const pod = readLink(a.ifName, a.netns);
  if (!pod) fail(`interface ${a.ifName} is missing in ${a.netns}`);
  if (!pod.addrs.some((x) => formatCidr(x) === ipConf.address)) fail(`${a.ifName} does not have address ${ipConf.address}`);
  const mtu = conf.mtu || lease.mtu;
  if (pod.mtu !== mtu) fail(`${a.ifName} has MTU ${pod.mtu}, expected ${mtu}`);
  const routes = readPodRoutes(a.netns, a.ifName);
  const wantDst = conf.isDefaultGateway ? 'default' : lease.network;
  if (!routes.some((r) => r.dst === wantDst && r.gateway === ipConf.gateway)) fail(`route ${wantDst} via ${ipConf.gateway} is missing in ${a.netns}`);
}

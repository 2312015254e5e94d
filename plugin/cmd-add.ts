/**
 * ADD: address from the daemon → bridge → veth pair → pod address and routes → forwarding on,
 * the kernel work over rtnetlink in this process (links.ts).
 * Every step that changed something pushes its undo; any failure runs the undos in reverse, so a
 * failed ADD leaves no veth and no allocation behind.
 */
import { CNI_ERR, CniError } from './cni/cni-error.js';
import { convertResult } from './cni/convert.js';
import type { CniResult } from './cni/types.js';
import { KernelError } from '../shared/errors.js';
import { parseCidr } from '../shared/ip/cidr.js';
import { MAX_CONTAINER_ID_LENGTH } from '../shared/protocol/api.js';
import { EEXIST } from '../shared/native/constants.js';
import { DaemonApi } from './daemon-api.js';
import { randomMac } from '../shared/net/mac.js';
import type { Link } from './links.js';
import { assertNetns } from './netns.js';
import { attachmentArgs } from './plugin-conf.js';
import type { CmdArgs } from './skel.js';

export async function cmdAdd(a: CmdArgs): Promise<Record<string, unknown>> {
  const conf = a.conf;
  if (a.containerID.length > MAX_CONTAINER_ID_LENGTH) {
    throw new CniError(CNI_ERR.INVALID_ENV, `CNI_CONTAINERID is longer than ${MAX_CONTAINER_ID_LENGTH} characters (${a.containerID.length})`);
  }
  const want = attachmentArgs(conf, a.args);
  assertNetns(a.netns);
  const client = new DaemonApi(conf.socket);
  const undo: Array<() => Promise<unknown>> = [];
  const attachment = { containerID: a.containerID, ifName: a.ifName };
  try {
    const pending = client.start('POST /v1/ipam/allocate', want.ip ? { ...attachment, network: conf.name, ip: want.ip } : { ...attachment, network: conf.name });
    // While the daemon allocates: load the netlink code, read the bridge, name the host veth. A
    // failure there is thrown once the allocation is known, so that the address is released.
    let prepared: { links: typeof import('./links.js'); current: Link | null; hostName: string } | undefined;
    let unprepared: unknown;
    try {
      const links = await import('./links.js');
      prepared = { links, current: links.readLink(conf.bridge), hostName: links.hostVethName(a.containerID, a.ifName) };
    } catch (e) {
      unprepared = e;
    }
    const alloc = pending.answer();
    undo.push(async () => client.call('POST /v1/ipam/release', attachment));
    if (!prepared) throw unprepared;
    const { links, current, hostName } = prepared;
    const { configurePod, createVeth, deleteLink, enableIpForward, ensureBridge, readLink } = links;
    const lease = alloc.lease;
    const mtu = conf.mtu || lease.mtu;
    const bridge = ensureBridge(conf.bridge, alloc.gateway, parseCidr(lease.subnet), parseCidr(lease.network), mtu, conf.promiscMode, current);

    const hostMac = randomMac();
    const podMac = want.mac ?? randomMac();
    const veth = { hostName, hostMac, ifName: a.ifName, podMac, mtu, netns: a.netns, master: bridge.index, hairpin: conf.hairpinMode };
    try {
      createVeth(veth);
    } catch (e) {
      if (!(e instanceof KernelError) || e.errno !== EEXIST) throw e;
      if (!readLink(hostName, undefined, false)) throw new CniError(CNI_ERR.IFACE_EXISTS, `interface ${a.ifName} already exists in ${a.netns}`);
      // A host veth of this very attachment survived an interrupted ADD: replace it.
      deleteLink(hostName);
      createVeth(veth);
    }
    undo.push(async () => deleteLink(hostName));

    const routes = conf.isDefaultGateway ? [{ dst: '0.0.0.0/0', gw: alloc.gateway }] : [{ dst: lease.network, gw: alloc.gateway }];
    configurePod(a.netns, a.ifName, alloc.address, routes);
    enableIpForward();

    const prev: CniResult = a.prevResult ?? { cniVersion: conf.cniVersion }; // checked and read by skel
    const base = prev.interfaces?.length ?? 0;
    const result: CniResult = {
      cniVersion: conf.cniVersion,
      interfaces: [
        ...(prev.interfaces ?? []),
        { name: conf.bridge, ...(bridge.mac ? { mac: bridge.mac } : {}) },
        { name: hostName, mac: hostMac },
        { name: a.ifName, mac: podMac, mtu, sandbox: a.netns },
      ],
      ips: [...(prev.ips ?? []), { address: alloc.address, gateway: alloc.gateway, interface: base + 2 }],
      routes: [...(prev.routes ?? []), ...routes.map((r) => ({ dst: r.dst, gw: r.gw }))],
      dns: prev.dns ?? {},
    };
    return convertResult(result, conf.cniVersion);
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    throw e;
  }
}

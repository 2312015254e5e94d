/**
 * The socket API's handlers, one per route of shared/protocol/api.ts (`satisfies ApiHandlers`: a
 * route without a handler, or a handler answering another shape, does not compile). A request
 * goes straight from here to the IPAM allocator (after the attachment's queued release, if any)
 * and the link deleter.
 */
import { describeError } from '../../shared/errors.js';
import { type Cidr, formatCidr, formatIp, gatewayOf } from '../../shared/ip/cidr.js';
import { hostVethName } from '../../shared/net/attachment-hash.js';
import type { Attachment, LeaseInfo } from '../../shared/protocol/api.js';
import type { AddressAllocator } from '../ipam/address-allocator.js';
import type { PendingReleases } from '../ipam/pending-releases.js';
import type { LinkDeleter } from '../link-deleter.js';
import type { Logger } from '../logger.js';
import type { OwnLease } from '../subnet/lease-keeper.js';
import type { ApiHandlers } from './api-server.js';

/** What the handlers answer from and act on. */
export interface ApiDeps {
  /** The pod network (the config's Network). */
  network: Cidr;
  /** The config's Backend.Type. */
  backendType: string;
  /** The pods' MTU (FLANNEL_MTU). */
  mtu: number;
  ipMasq: boolean;
  lease: OwnLease;
  ipam: AddressAllocator;
  /** The releases the plugin queued; an attachment's own is applied before it gets an address. */
  pending: Pick<PendingReleases, 'takeFor'>;
  links: Pick<LinkDeleter, 'delete'>;
  log: Logger;
}

/** GET /v1/lease: this host's lease and what a pod needs of it. */
function leaseInfo(d: ApiDeps): LeaseInfo {
  const l = d.lease.current;
  return {
    network: formatCidr(d.network),
    subnet: formatCidr(l.subnet),
    gateway: formatIp(gatewayOf(l.subnet)),
    mtu: d.mtu,
    backendType: d.backendType,
    publicIp: l.attrs.PublicIP,
    ipMasq: d.ipMasq,
  };
}

/** The handler of every route. */
export function apiHandlers(d: ApiDeps): ApiHandlers {
  /** Releases an attachment's address; whether it had one. */
  const release = (a: Attachment): boolean => {
    const ip = d.ipam.release(a);
    if (ip !== null) d.log.info({ containerID: a.containerID, ifName: a.ifName, address: formatIp(ip) }, 'address released');
    return ip !== null;
  };
  return {
    'GET /v1/lease': () => leaseInfo(d),
    'GET /v1/healthz': () => ({ ok: d.lease.held, free: d.ipam.capacity - d.ipam.used, total: d.ipam.capacity }),
    'GET /v1/ipam/allocations': () => d.ipam.list(),
    'POST /v1/ipam/allocate': (r) => {
      const a = { containerID: r.containerID, ifName: r.ifName };
      // A release queued before this request frees what the attachment held before it, not what it gets now.
      d.pending.takeFor(a);
      const ip = d.ipam.allocate(a, { network: r.network, ip: r.ip });
      d.log.info({ containerID: a.containerID, ifName: a.ifName, network: r.network, address: formatIp(ip) }, 'address allocated');
      return { address: d.ipam.addressText(ip), gateway: formatIp(gatewayOf(d.lease.current.subnet)), lease: leaseInfo(d) };
    },
    'POST /v1/ipam/release': (a) => ({ released: release(a) }),
    'POST /v1/ipam/gc': (r) => {
      const { released, adopted } = d.ipam.gc(r.network, r.valid);
      if (adopted.length) d.log.info({ network: r.network, adopted: adopted.length }, 'allocations without a network given to the network collected');
      if (released.length) d.log.info({ network: r.network, released: released.length, kept: r.valid.length }, 'addresses garbage-collected');
      return { released, held: d.ipam.list().map((e) => ({ containerID: e.containerID, ifName: e.ifName })) };
    },
    'POST /v1/attachments/delete': (r) => {
      // The veth first: the kernel unlists it while the address is released. The release happens
      // whatever becomes of the veth; one that cannot be deleted here is left to the caller.
      const name = hostVethName(r.containerID, r.ifName);
      let link: ReturnType<LinkDeleter['delete']>;
      try {
        link = d.links.delete(r.netns, name);
      } catch (e) {
        d.log.warn({ link: name, err: describeError(e) }, 'link deletion failed; the caller deletes it');
        link = { deleting: false };
      }
      return { released: release({ containerID: r.containerID, ifName: r.ifName }), ...link };
    },
  } satisfies ApiHandlers;
}

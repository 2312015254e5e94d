/**
 * A plain route to a remote subnet via its host's PublicIP, for a host on our L2 segment: what
 * host-gw does for every lease and vxlan's DirectRouting for the leases it can.
 */
import { contains, parseIp } from '../../shared/ip/cidr.js';
import type { Lease } from '../subnet/lease.js';
import type { ExternalInterface } from './backend.js';
import { type KernelEntry, routeEntry } from './kernel-plan.js';

/**
 * The route for one remote lease, or null when its PublicIP is not on the external interface's
 * directly connected subnet (it cannot be routed directly).
 */
export function directRoute(ext: ExternalInterface, lease: Lease): KernelEntry | null {
  const via = parseIp(lease.attrs.PublicIP);
  if (!contains({ ip: parseIp(ext.ifaceIp), prefix: ext.ifacePrefix }, via)) return null;
  return routeEntry(lease.subnet, via, ext.name, false);
}

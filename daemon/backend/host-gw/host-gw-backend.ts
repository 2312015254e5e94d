/**
 * host-gw (flannel pkg/backend/hostgw): no encapsulation. Each remote subnet is routed via the
 * remote host's PublicIP on the external interface, which only works when all hosts share one L2
 * segment; a lease whose PublicIP is not on our segment is reported as unroutable, not ignored.
 * As in flannel, a PublicIP other than the interface's own address (a host behind NAT) is refused:
 * peers would route to an address that is not on their segment.
 */
import { InvalidConfigError } from '../../../shared/errors.js';
import { formatCidr } from '../../../shared/ip/cidr.js';
import type { Lease } from '../../subnet/lease.js';
import type { Backend, BackendDeps, BackendPrepared, ReconcileReport } from '../backend.js';
import { directRoute } from '../direct-route.js';
import type { KernelEntry } from '../kernel-plan.js';
import { readOwnedRoutes } from '../kernel-state.js';
import { OwnedState } from '../owned-state.js';

export class HostGwBackend implements Backend {
  readonly type = 'host-gw';
  private readonly state: OwnedState;
  constructor(private readonly deps: BackendDeps) {
    const { publicIp, ifaceIp, name } = deps.ext;
    if (publicIp !== ifaceIp) {
      throw new InvalidConfigError(
        `--public-ip ${publicIp} differs from ${name}'s address ${ifaceIp}: host-gw cannot work behind NAT (peers route to the public IP directly)`,
        'public-ip', { hint: 'drop --public-ip, or use the vxlan backend' });
    }
    this.state = new OwnedState(readOwnedRoutes, undefined, deps.kernelResyncMs);
  }

  async prepare(): Promise<BackendPrepared> {
    return { backendData: null, mtu: this.deps.ext.mtu };
  }

  async configure(): Promise<void> {}

  async reconcile(remote: readonly Lease[]): Promise<ReconcileReport> {
    const desired: KernelEntry[] = [];
    const unroutable: string[] = [];
    for (const l of remote) {
      const r = directRoute(this.deps.ext, l);
      if (r) desired.push(r);
      else unroutable.push(`${formatCidr(l.subnet)} via ${l.attrs.PublicIP}`);
    }
    return this.state.reconcile(desired, unroutable);
  }

  async teardown(): Promise<void> {
    await this.state.clear();
  }
}

/**
 * The one place that maps a Backend.Type to its implementation. Adding a type without a factory
 * fails to compile.
 */
import type { BackendType } from '../../shared/config/net-config.js';
import type { Backend, BackendDeps, BackendFactory, BackendPrepared, ReconcileReport } from './backend.js';
import { HostGwBackend } from './host-gw-backend.js';
import { UdpBackend } from './udp/udp-backend.js';
import { VxlanBackend } from './vxlan-backend.js';

/** alloc: the lease only, no data plane (flannel pkg/backend/alloc). */
class AllocBackend implements Backend {
  readonly type = 'alloc' as const;
  constructor(private readonly deps: BackendDeps) {}
  async prepare(): Promise<BackendPrepared> {
    return { backendData: null, mtu: this.deps.ext.mtu };
  }
  async configure(): Promise<void> {}
  async reconcile(): Promise<ReconcileReport> {
    return { added: 0, removed: 0, failed: [], unroutable: [] };
  }
  async teardown(): Promise<void> {}
}

const backendFactories = {
  vxlan: (d) => new VxlanBackend(d),
  'host-gw': (d) => new HostGwBackend(d),
  alloc: (d) => new AllocBackend(d),
  udp: (d) => new UdpBackend(d),
} satisfies Record<BackendType, BackendFactory>;

/** Creates the backend for the config's Backend.Type. */
export function createBackend(type: BackendType, deps: BackendDeps): Backend {
  return backendFactories[type](deps);
}

/** alloc (flannel pkg/backend/alloc): the lease only, no data plane. */
import type { Backend, BackendDeps, BackendPrepared, ReconcileReport } from '../backend.js';

export class AllocBackend implements Backend {
  readonly type = 'alloc';
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

/**
 * One host's side of the network, start to stop, in four steps:
 * 1. prepare: the data dir, the external interface, the network config, the backend's devices;
 * 2. acquire: this host's lease (the same subnet as before when it is free);
 * 3. start: the local device, subnet.env, masquerade, pod addresses, the API socket and healthz;
 * 4. serve, until a signal or a failure: watch leases and reconcile the kernel, keep the lease,
 *    apply queued releases, re-read the kernel now and then, say when the network config changes.
 * Each step that sets something up pushes its undo; on the way out the undos run in reverse.
 */
import type { NetConfig } from './config/net-config.js';
import { AppError, describeError } from '../shared/errors.js';
import { type Cidr, formatCidr } from '../shared/ip/cidr.js';
import { ApiServer } from './api/api-server.js';
import { apiHandlers } from './api/handlers.js';
import { HealthzServer } from './api/healthz-server.js';
import type { ExternalInterface } from './backend/backend.js';
import { createBackend } from './backend/backends.js';
import { DataPlane } from './data-plane.js';
import { prepareDataDir } from './data-dir.js';
import { findExternalInterface } from './external-interface.js';
import { AddressAllocator } from './ipam/address-allocator.js';
import { FileAllocationStore } from './ipam/allocation-store.js';
import { PendingReleases } from './ipam/pending-releases.js';
import { syncLeases } from './lease-sync.js';
import { LinkDeleter } from './link-deleter.js';
import type { Logger } from './logger.js';
import type { DaemonSettings } from './options.js';
import { Reconciler } from './reconciler.js';
import { readPreviousSubnet, writeSubnetFile } from './subnet-file.js';
import { LeaseKeeper } from './subnet/lease-keeper.js';
import type { LeaseWatcher } from './subnet/lease-watcher.js';
import type { LeaseSnapshot } from './subnet/registry.js';
import type { LocalSubnetManager } from './subnet/subnet-manager.js';

/** Why the daemon stopped; exit status 0 only for 'signal'. */
export type StopReason = 'signal' | 'lease-lost' | 'fatal';

/** The daemon's way out: the signal every step and loop stops on, and why it fired. */
interface Stopping {
  readonly signal: AbortSignal;
  fail(reason: StopReason): void;
}

/** Undo steps, run last first when the daemon stops. */
type Undo = Array<() => Promise<void>>;

/** What step 1 sets up. */
interface Prepared {
  ext: ExternalInterface;
  cfg: NetConfig;
  dataPlane: DataPlane;
  /** The pods' MTU. */
  mtu: number;
  /** The backend's part of the lease (e.g. the VTEP MAC). */
  backendData: unknown;
}

/** What step 2 sets up: the lease, and the watch of every lease, which starts from the listing the lease was chosen on. */
interface Leases {
  keeper: LeaseKeeper;
  watcher: LeaseWatcher;
}

/** What step 4 runs. */
interface Running extends Prepared, Leases {
  ipam: AddressAllocator;
  pending: PendingReleases;
}

/** twilld's daemon: `run` is its whole life. */
export class Daemon {
  constructor(private readonly settings: DaemonSettings, private readonly subnets: LocalSubnetManager, private readonly log: Logger) {}

  /** Runs until `signal` aborts or the daemon fails; returns why it stopped. */
  async run(signal: AbortSignal): Promise<StopReason> {
    const inner = new AbortController();
    let reason: StopReason = 'signal';
    const stopping: Stopping = { signal: inner.signal, fail: (r) => ((reason = r), inner.abort()) };
    const onAbort = (): void => inner.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const undo: Undo = [];
    let leases: Leases | undefined;
    try {
      const prepared = await this.prepare(stopping, undo);
      leases = await this.acquire(prepared, inner.signal);
      const running = await this.start(prepared, leases, undo);
      if (!inner.signal.aborted) await this.serve(running, stopping);
    } catch (e) {
      if (!inner.signal.aborted) {
        this.log.fatal({ err: describeError(e), code: (e as AppError).code, hint: (e as AppError).hint }, 'daemon failed');
        reason = 'fatal';
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      inner.abort(); // after a failure, the loops still running end too
      for (const u of undo.reverse()) await u();
      if (leases) this.log.info({ reason, subnet: formatCidr(leases.keeper.current.subnet) }, 'stopped; lease kept for reuse');
      else this.log.info({ reason }, 'stopped');
    }
    return reason;
  }

  /** Step 1: the data dir, the external interface, the network config, the backend's devices. */
  private async prepare(stopping: Stopping, undo: Undo): Promise<Prepared> {
    for (const w of this.settings.warnings) this.log.warn(w);
    prepareDataDir(this.settings.dataDir, this.log);
    const ext = await findExternalInterface(this.settings);
    const ifaceIp = `${ext.ifaceIp}/${ext.ifacePrefix}`;
    this.log.info({ iface: ext.name, ifaceIp, publicIp: ext.publicIp, mtu: ext.mtu }, 'external interface selected');
    const cfg = await this.subnets.getNetworkConfig(stopping.signal);
    this.log.info({ network: formatCidr(cfg.network), subnetLen: cfg.subnetLen, backend: cfg.backendType }, 'network config read');
    const backend = await createBackend(cfg.backendType, {
      cfg, ext, dataDir: this.settings.dataDir, kernelResyncMs: this.settings.kernelResyncS * 1000,
      log: this.log.child({ component: cfg.backendType }),
      onFatal: (e) => {
        this.log.fatal({ err: describeError(e), code: (e as AppError).code }, 'data plane failed');
        stopping.fail('fatal');
      },
    });
    const dataPlane = new DataPlane(backend, this.log);
    if (this.settings.cleanupOnExit) undo.push(() => dataPlane.remove());
    const { mtu, backendData } = await backend.prepare();
    return { ext, cfg, dataPlane, mtu, backendData };
  }

  /** Step 2: this host's lease, retried while etcd is away or the network is full. */
  private async acquire(p: Prepared, signal: AbortSignal): Promise<Leases> {
    const attrs = { PublicIP: p.ext.publicIp, BackendType: p.cfg.backendType, BackendData: p.backendData };
    let listing: LeaseSnapshot | null = null;
    const previous = readPreviousSubnet(this.settings.subnetFile);
    const lease = await this.subnets.acquireLeaseRetrying(p.cfg, attrs, previous, signal, (s) => (listing = s));
    const keeper = new LeaseKeeper(this.subnets, p.cfg, lease, this.log.child({ component: 'lease' }));
    const self = (): { publicIp: string; subnet: Cidr } => ({ publicIp: p.ext.publicIp, subnet: keeper.current.subnet });
    const watcher = this.subnets.watchLeases(p.cfg, self, listing, this.log.child({ component: 'watch' }));
    return { keeper, watcher };
  }

  /** Step 3: the local side of the lease, and the services the plugin and the probes use. */
  private async start(p: Prepared, l: Leases, undo: Undo): Promise<Running> {
    const { cfg } = p;
    const subnet = l.keeper.current.subnet;
    await p.dataPlane.backend.configure(l.keeper.current);
    writeSubnetFile(this.settings.subnetFile, { network: cfg.network, subnet, mtu: p.mtu, ipMasq: this.settings.ipMasq });
    this.log.info({ file: this.settings.subnetFile, subnet: formatCidr(subnet), mtu: p.mtu }, 'subnet file written');
    if (this.settings.ipMasq) await p.dataPlane.masquerade(this.settings.masqMode, cfg.network, subnet);
    const ipam = new AddressAllocator(subnet, new FileAllocationStore(this.settings.dataDir, subnet));
    const pending = new PendingReleases(this.settings.dataDir, ipam, this.log);
    pending.applyAll();
    const links = new LinkDeleter(this.log.child({ component: 'links' }));
    undo.push(() => links.settle());
    const handlers = apiHandlers({
      network: cfg.network, backendType: cfg.backendType, mtu: p.mtu, ipMasq: this.settings.ipMasq, lease: l.keeper, ipam, pending, links, log: this.log,
    });
    const api = new ApiServer(this.settings.socketPath, handlers, this.log.child({ component: 'api' }));
    undo.push(() => api.close().catch(() => undefined));
    await api.listen();
    if (this.settings.healthzPort > 0) {
      const healthz = await HealthzServer.listen(this.settings.healthzIp, this.settings.healthzPort, () => l.keeper.held, this.log);
      undo.push(() => healthz.close());
    }
    return { ...p, ...l, ipam, pending };
  }

  /** Step 4: the daemon's loops, until `stopping` fires. */
  private async serve(r: Running, stopping: Stopping): Promise<void> {
    const sig = stopping.signal;
    const reconciler = new Reconciler(r.dataPlane.backend, r.watcher, this.log.child({ component: r.dataPlane.backend.type }));
    await Promise.all([
      syncLeases({ watcher: r.watcher, reconciler, keeper: r.keeper, log: this.log }, sig),
      r.keeper.keep(sig).then((end) => end === 'lost' && stopping.fail('lease-lost')),
      r.pending.poll(sig),
      reconciler.resyncEvery(this.settings.kernelResyncS * 1000, sig),
      this.subnets.watchConfigChanges(r.cfg, sig),
    ]);
  }
}

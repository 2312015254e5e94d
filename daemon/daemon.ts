/**
 * One host's side of the network, start to stop: external interface → network config → backend
 * devices → lease → local device config, subnet.env, masquerade → API socket → watch leases and
 * reconcile the kernel, renew the lease, re-acquire it if it is lost.
 */
import { createServer, type Server } from 'node:http';
import type { NetConfig } from '../shared/config/net-config.js';
import { AppError, describeError, LeaseLostError } from '../shared/errors.js';
import { cidrEquals, formatCidr, formatIp, gatewayOf } from '../shared/ip/cidr.js';
import type { AllocateRequest, Attachment, AttachmentDeleteRequest, GcRequest, LeaseInfo } from '../shared/protocol/api.js';
import { hostVethName } from '../shared/net/attachment-hash.js';
import { readPendingReleases } from '../shared/protocol/pending-release.js';
import { ApiServer } from './api/api-server.js';
import type { Backend, ExternalInterface } from './backend/backend.js';
import { createBackend } from './backend/backends.js';
import { findExternalInterface, type IfaceSelection } from './external-interface.js';
import { AddressAllocator } from './ipam/address-allocator.js';
import { FileAllocationStore } from './ipam/allocation-store.js';
import { LinkDeleter } from './link-deleter.js';
import type { Logger } from './logger.js';
import { applyMasquerade, detectMasqMode, removeMasquerade, type MasqMode } from './masq/masquerade.js';
import { notifyReady } from './notify.js';
import { Reconciler } from './reconciler.js';
import { Backoff, sleep } from './sleep.js';
import { readPreviousSubnet, writeSubnetFile } from './subnet-file.js';
import type { Lease, LeaseAttrs } from './subnet/lease.js';
import { type LeaseEvent, LeaseWatcher } from './subnet/lease-watcher.js';
import type { LocalSubnetManager } from './subnet/subnet-manager.js';
import type { LeaseSnapshot } from './subnet/registry.js';

export interface DaemonSettings extends IfaceSelection {
  subnetFile: string;
  socketPath: string;
  dataDir: string;
  ipMasq: boolean;
  healthzIp: string;
  healthzPort: number;
  /** Remove masquerade rules and the data plane on a clean exit (the lease is kept either way). */
  cleanupOnExit: boolean;
  masqMode: MasqMode | 'auto';
  /** Seconds between re-reads of the kernel state twill owns. */
  kernelResyncS: number;
}

/** Why the daemon stopped; exit status 0 only for 'signal'. */
export type StopReason = 'signal' | 'lease-lost' | 'fatal';

/** Batches up to this many lease events are logged event by event at info level. */
export const LOG_EACH_LEASE_MAX = 20;

function countEvents(batch: readonly LeaseEvent[]): Record<string, number> {
  const n = { added: 0, changed: 0, removed: 0 };
  for (const ev of batch) n[ev.type]++;
  return n;
}

export class Daemon {
  private lease: Lease | null = null;
  private cfg: NetConfig | null = null;
  private ext: ExternalInterface | null = null;
  private backend: Backend | null = null;
  private ipam: AddressAllocator | null = null;
  private mtu = 0;
  private masqMode: MasqMode | null = null;
  private api: ApiServer | null = null;
  private links: LinkDeleter | null = null;
  private healthz: Server | null = null;
  private watcher: LeaseWatcher | null = null;
  private reconciler: Reconciler | null = null;
  private stopReason: StopReason = 'signal';
  private readonly inner = new AbortController();

  constructor(private readonly s: DaemonSettings, private readonly subnets: LocalSubnetManager, private readonly log: Logger) {}

  /** Runs until `signal` aborts or the daemon fails; returns why it stopped. */
  async run(signal: AbortSignal): Promise<StopReason> {
    const onAbort = (): void => this.inner.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const sig = this.inner.signal;
    try {
      await this.start(sig);
      if (sig.aborted) return this.stopReason;
      await Promise.all([this.watchLoop(sig), this.renewLoop(sig), this.pendingLoop(sig), this.resyncLoop(sig)]);
    } catch (e) {
      if (!sig.aborted) {
        this.log.fatal({ err: describeError(e), code: (e as AppError).code, hint: (e as AppError).hint }, 'daemon failed');
        this.stopReason = 'fatal';
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await this.stop();
    }
    return this.stopReason;
  }

  private fail(reason: StopReason): void {
    this.stopReason = reason;
    this.inner.abort();
  }

  private attrs(backendData: unknown): LeaseAttrs {
    return { PublicIP: this.ext!.publicIp, BackendType: this.cfg!.backendType, BackendData: backendData };
  }

  private async start(sig: AbortSignal): Promise<void> {
    const ext = (this.ext = await findExternalInterface(this.s));
    this.log.info({ iface: ext.name, ifaceIp: `${ext.ifaceIp}/${ext.ifacePrefix}`, publicIp: ext.publicIp, mtu: ext.mtu }, 'external interface selected');
    const cfg = (this.cfg = await this.subnets.getNetworkConfig(sig));
    this.log.info({ network: formatCidr(cfg.network), subnetLen: cfg.subnetLen, backend: cfg.backendType }, 'network config read');
    const backend = (this.backend = createBackend(cfg.backendType, {
      cfg, ext, dataDir: this.s.dataDir, kernelResyncMs: this.s.kernelResyncS * 1000, log: this.log.child({ component: cfg.backendType }),
      onFatal: (e) => {
        this.log.fatal({ err: describeError(e), code: (e as AppError).code }, 'data plane failed');
        this.fail('fatal');
      },
    }));
    const prepared = await backend.prepare();
    this.mtu = prepared.mtu;
    const previous = readPreviousSubnet(this.s.subnetFile);
    const lease = (this.lease = await this.subnets.acquireLeaseRetrying(cfg, this.attrs(prepared.backendData), previous, sig, (s) => (this.initialSnapshot = s)));
    await backend.configure(lease);
    writeSubnetFile(this.s.subnetFile, { network: cfg.network, subnet: lease.subnet, mtu: this.mtu, ipMasq: this.s.ipMasq });
    this.log.info({ file: this.s.subnetFile, subnet: formatCidr(lease.subnet), mtu: this.mtu }, 'subnet file written');
    if (this.s.ipMasq) {
      this.masqMode = this.s.masqMode === 'auto' ? await detectMasqMode() : this.s.masqMode;
      await applyMasquerade(this.masqMode, cfg.network, lease.subnet);
      this.log.info({ mode: this.masqMode }, 'masquerade rules applied');
    }
    this.ipam = new AddressAllocator(lease.subnet, new FileAllocationStore(this.s.dataDir, lease.subnet));
    this.drainPendingReleases();
    this.links = new LinkDeleter(this.log.child({ component: 'links' }));
    this.api = new ApiServer(this.s.socketPath, this.apiHandlers(), this.log.child({ component: 'api' }));
    await this.api.listen();
    if (this.s.healthzPort > 0) await this.listenHealthz();
  }

  private leaseInfo(): LeaseInfo {
    const l = this.lease!;
    return {
      network: formatCidr(this.cfg!.network),
      subnet: formatCidr(l.subnet),
      gateway: formatIp(gatewayOf(l.subnet)),
      mtu: this.mtu,
      backendType: this.cfg!.backendType,
      publicIp: l.attrs.PublicIP,
      ipMasq: this.s.ipMasq,
    };
  }

  /** Releases an attachment's address; whether it had one. */
  private release(a: Attachment): boolean {
    const ip = this.ipam!.release(a);
    if (ip !== null) this.log.info({ containerID: a.containerID, ifName: a.ifName, address: formatIp(ip) }, 'address released');
    return ip !== null;
  }

  private apiHandlers() {
    return {
      lease: () => this.leaseInfo(),
      health: () => {
        const ipam = this.ipam!;
        const free = ipam.capacity - ipam.used;
        return { ok: this.lease !== null, body: { ok: this.lease !== null, free, total: ipam.capacity } };
      },
      allocate: (r: AllocateRequest) => {
        const a = { containerID: r.containerID, ifName: r.ifName };
        const ip = this.ipam!.allocate(a, r.ip);
        this.log.info({ containerID: a.containerID, ifName: a.ifName, address: formatIp(ip) }, 'address allocated');
        return { address: this.ipam!.addressText(ip), gateway: formatIp(gatewayOf(this.lease!.subnet)), lease: this.leaseInfo() };
      },
      release: (a: Attachment) => ({ released: this.release(a) }),
      gc: (r: GcRequest) => {
        const released = this.ipam!.gc(r.valid);
        if (released.length) this.log.info({ released: released.length, kept: r.valid.length }, 'addresses garbage-collected');
        return { released };
      },
      allocations: () => this.ipam!.list(),
      deleteAttachment: (r: AttachmentDeleteRequest) => {
        // The veth first: the kernel unlists it while the address is released.
        const link = this.links!.delete(r.netns, hostVethName(r.containerID, r.ifName));
        return { released: this.release({ containerID: r.containerID, ifName: r.ifName }), ...link };
      },
    };
  }

  private listenHealthz(): Promise<void> {
    const server = createServer((req, res) => {
      const ok = req.url === '/healthz' && this.lease !== null;
      res.writeHead(ok ? 200 : req.url === '/healthz' ? 503 : 404, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
    });
    this.healthz = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.s.healthzPort, this.s.healthzIp, () => {
        this.log.info({ ip: this.s.healthzIp, port: this.s.healthzPort }, 'healthz listening');
        resolve();
      });
    });
  }

  private drainPendingReleases(): void {
    for (const p of readPendingReleases(this.s.dataDir)) {
      const ip = this.ipam!.release(p.attachment);
      p.remove();
      this.log.info({ ...p.attachment, address: ip === null ? null : formatIp(ip) }, 'queued release applied');
    }
  }

  private async pendingLoop(sig: AbortSignal): Promise<void> {
    while (!sig.aborted) {
      await sleep(2000, sig);
      if (!sig.aborted) this.drainPendingReleases();
    }
  }

  /** A pass now and then even without lease events, so the kernel is re-read and drift is healed. */
  private async resyncLoop(sig: AbortSignal): Promise<void> {
    while (!sig.aborted) {
      await sleep(this.s.kernelResyncS * 1000, sig);
      if (!sig.aborted && this.reconciler) await this.reconciler.request();
    }
  }

  private remoteLeases(): Lease[] {
    const own = this.lease!.subnet;
    return this.watcher!.leases().filter((l) => !cidrEquals(l.subnet, own));
  }

  private async watchLoop(sig: AbortSignal): Promise<void> {
    this.watcher = new LeaseWatcher(this.subnets.registry, this.cfg!, this.log.child({ component: 'watch' }), () => ({ publicIp: this.ext!.publicIp, subnet: this.lease!.subnet }));
    this.reconciler = new Reconciler(this.backend!, () => this.remoteLeases(), this.log.child({ component: this.backend!.type }));
    let first = true;
    this.watcher.startFrom(this.initialSnapshot);
    this.initialSnapshot = null; // the watcher keeps what it needs
    for await (const batch of this.watcher.watch(sig)) {
      const own = this.lease!.subnet;
      // A few events are logged one by one; a snapshot of thousands as one line (each at debug).
      const each = batch.length <= LOG_EACH_LEASE_MAX ? 'info' : 'debug';
      if (each === 'debug') this.log.info(countEvents(batch), 'leases changed');
      for (const ev of batch) {
        const mine = cidrEquals(ev.lease.subnet, own);
        if (!mine) {
          this.log[each]({ event: ev.type, subnet: formatCidr(ev.lease.subnet), publicIp: ev.lease.attrs.PublicIP }, 'lease ' + ev.type);
          continue;
        }
        if (ev.type === 'removed') void this.reacquire(sig);
        else if (ev.lease.attrs.PublicIP !== this.ext!.publicIp) {
          this.log.error({ subnet: formatCidr(own), publicIp: ev.lease.attrs.PublicIP }, 'our lease was overwritten by another host');
        }
      }
      await this.reconciler.request();
      if (first) {
        first = false;
        this.log.info({ subnet: formatCidr(own), remote: this.remoteLeases().length }, 'ready');
        await notifyReady(this.log, `lease ${formatCidr(own)}`);
      }
    }
  }

  private reacquiring: Promise<void> | null = null;
  /** The lease listing the acquisition was decided on: the watcher starts from it (one range read less). */
  private initialSnapshot: LeaseSnapshot | null = null;

  /**
   * Our key vanished (expired during an outage, deleted) or is no longer ours: take it back, the
   * same subnet if it is still free. Concurrent callers (watch, renewal) share one attempt.
   */
  private reacquire(sig: AbortSignal): Promise<void> {
    if (sig.aborted) return Promise.resolve();
    this.reacquiring ??= this.doReacquire(sig).finally(() => (this.reacquiring = null));
    return this.reacquiring;
  }

  private async doReacquire(sig: AbortSignal): Promise<void> {
    const old = this.lease!;
    this.log.warn({ subnet: formatCidr(old.subnet) }, 'our lease disappeared, re-acquiring');
    try {
      const lease = await this.subnets.acquireLeaseRetrying(this.cfg!, old.attrs, old.subnet, sig);
      if (!cidrEquals(lease.subnet, old.subnet)) {
        this.log.fatal({ old: formatCidr(old.subnet), new: formatCidr(lease.subnet) }, 'lease lost: our subnet went to another host; restarting is required');
        this.lease = lease;
        this.fail('lease-lost');
        return;
      }
      this.lease = lease;
      this.log.info({ subnet: formatCidr(lease.subnet) }, 'lease re-acquired');
    } catch (e) {
      if (!sig.aborted) {
        this.log.fatal({ err: describeError(e) }, 'cannot re-acquire our lease');
        this.fail('lease-lost');
      }
    }
  }

  private async renewLoop(sig: AbortSignal): Promise<void> {
    const backoff = new Backoff(1000, 10_000);
    while (!sig.aborted) {
      const wait = Math.max(0, this.subnets.renewAt(this.lease!) - Date.now());
      await sleep(Math.min(wait, 2 ** 31 - 1), sig);
      if (sig.aborted) return;
      if (this.subnets.renewAt(this.lease!) > Date.now()) continue; // re-acquired meanwhile
      try {
        const renewed = await this.subnets.renewLease(this.lease!);
        this.lease = renewed;
        backoff.reset();
        this.log.info({ subnet: formatCidr(renewed.subnet), expiresAt: new Date(renewed.expiresAt).toISOString() }, 'lease renewed');
      } catch (e) {
        if (e instanceof LeaseLostError) {
          await this.reacquire(sig);
          continue;
        }
        this.log.warn({ err: describeError(e) }, 'lease renewal failed, retrying');
        await sleep(backoff.next(), sig);
      }
    }
  }

  private async stop(): Promise<void> {
    await this.api?.close().catch(() => undefined);
    await this.links?.settle();
    if (this.healthz) await new Promise<void>((r) => this.healthz!.close(() => r()));
    if (this.s.cleanupOnExit) {
      if (this.masqMode) await removeMasquerade(this.masqMode).catch((e: Error) => this.log.warn({ err: e.message }, 'cannot remove masquerade rules'));
      await this.backend?.teardown().catch((e: Error) => this.log.warn({ err: e.message }, 'cannot remove the data plane'));
      this.log.info({}, 'data plane and rules removed');
    }
    if (this.lease) this.log.info({ reason: this.stopReason, subnet: formatCidr(this.lease.subnet) }, 'stopped; lease kept for reuse');
    else this.log.info({ reason: this.stopReason }, 'stopped');
  }
}


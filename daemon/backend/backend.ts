/**
 * The seam between the lease machinery and the data plane (flannel pkg/backend/common.go).
 * A Backend prepares its devices before the lease exists (so the lease can carry BackendData such
 * as the VTEP MAC), configures the local side once the lease is known, and then reconciles the
 * kernel with the full set of remote leases after every change.
 */
import type { BackendType, NetConfig } from '../../shared/config/net-config.js';
import type { Logger } from '../logger.js';
import type { Lease } from '../subnet/lease.js';

/** The interface and addresses this host uses to reach the other hosts. */
export interface ExternalInterface {
  name: string;
  /** Address on the interface (the VXLAN local address, the host-gw next hop for others). */
  ifaceIp: string;
  /** Prefix length of that address: which hosts are on the same L2 segment. */
  ifacePrefix: number;
  /** The address advertised in the lease (--public-ip, else ifaceIp). */
  publicIp: string;
  mtu: number;
}

/** What a backend contributes to the lease and to subnet.env. */
export interface BackendPrepared {
  backendData: unknown;
  /** MTU for pods (FLANNEL_MTU). */
  mtu: number;
}

/** What one reconcile pass changed. */
export interface ReconcileReport {
  added: number;
  removed: number;
  failed: Array<{ line: string; error: string }>;
  unroutable: string[];
}

export interface Backend {
  readonly type: BackendType;
  prepare(): Promise<BackendPrepared>;
  /** Configures the local device for our lease (e.g. the VTEP address). */
  configure(own: Lease): Promise<void>;
  /** Makes the kernel match exactly the given remote leases; only differences are applied. */
  reconcile(remote: readonly Lease[]): Promise<ReconcileReport>;
  /** Removes everything the backend programmed (used by `--cleanup-on-exit` style teardown and tests). */
  teardown(): Promise<void>;
}

/** What every backend factory receives. */
export interface BackendDeps {
  cfg: NetConfig;
  ext: ExternalInterface;
  dataDir: string;
  /** How old the remembered kernel state may get before it is read again. */
  kernelResyncMs?: number;
  log: Logger;
  /** The data plane broke beyond repair: the daemon stops (with status 1, for its supervisor to restart it). */
  onFatal: (e: Error) => void;
}

export type BackendFactory = (deps: BackendDeps) => Backend;

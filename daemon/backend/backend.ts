/**
 * The seam between the lease machinery and the data plane (flannel pkg/backend/common.go).
 * A Backend prepares its devices before the lease exists (so the lease can carry BackendData such
 * as the VTEP MAC), configures the local side once the lease is known, and then reconciles the
 * kernel with the full set of remote leases after every change. Each backend describes itself
 * (BackendDescriptor) in its own folder; backends.ts lists them.
 */
import type { NetConfig } from '../config/net-config.js';
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
  /** Its Backend.Type. */
  readonly type: string;
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

/** The JSON schema of a backend's `Backend` object: flannel's fields, each default stated in it. */
export interface BackendConfigSchema {
  type: 'object';
  properties: { Type: { type: 'string' } } & Record<string, object>;
  required: ['Type'];
  additionalProperties: true;
}

/**
 * What a backend says about itself, so that one list (backends.ts) is all the rest of twill needs:
 * the config check, the validators the build generates, the demo's choices and the README test.
 * A descriptor is plain data plus a lazy `create`, so the build can read it without loading the
 * data plane.
 */
export interface BackendDescriptor<T extends string = string> {
  /** Backend.Type in the network config. */
  readonly type: T;
  /** One line for help texts and the demo. */
  readonly summary: string;
  /** The config schema (compiled at build time into config-validators.js). */
  readonly schema: BackendConfigSchema;
  /** False when the backend programs no routes (alloc): pods on different hosts cannot reach each other. */
  readonly programsRoutes: boolean;
  /**
   * Rules the schema cannot say (on the config with defaults filled in); throws
   * InvalidConfigError naming the field.
   */
  readonly check?: (conf: Record<string, unknown>) => void;
  /** Loads the implementation and makes the backend. */
  create(deps: BackendDeps): Promise<Backend>;
}

/** Keeps a descriptor's `type` as its literal, so the list's types derive from it. */
export function defineBackend<T extends string>(d: BackendDescriptor<T>): BackendDescriptor<T> {
  return d;
}

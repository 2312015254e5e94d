/**
 * vxlan (flannel pkg/backend/vxlan), wire-compatible with flannel:
 * - device `flannel.<VNI>`: type vxlan, id VNI, local = the external interface address, dev = the
 *   external interface, dstport 8472 unless Port, nolearning unless Learning, MTU = (Backend.MTU,
 *   the underlay's, or the external MTU) − 50, as flannel's device.go,
 *   address `<subnet network address>/32`; its MAC is published as BackendData.VtepMAC.
 * - per remote lease: route `<subnet> via <subnet .0> dev flannel.<VNI> onlink`, a permanent
 *   neighbour `<subnet .0> → VtepMAC` and a permanent FDB entry `VtepMAC → PublicIP`.
 * - DirectRouting: a remote host on our L2 segment gets a plain route via its PublicIP instead.
 * The VTEP MAC is kept in the data dir, so it survives restarts and reboots (peers' neighbour and
 * FDB entries stay valid). An existing device with compatible settings is kept as it is, so a
 * daemon restart never drops traffic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LinkNotFoundError } from '../../../shared/errors.js';
import { writeFileAtomic } from '../../../shared/fs/atomic-file.js';
import { makeDirs, PRIVATE_DIR_MODE } from '../../../shared/fs/state-dir.js';
import { formatCidr, networkOf, parseIp } from '../../../shared/ip/cidr.js';
import { setAddress } from '../../../shared/netlink/addr.js';
import { delLink, findLink, type LinkInfo, newVxlan, setMtuUp } from '../../../shared/netlink/link.js';
import { isMac, macNumber, randomMac } from '../../../shared/net/mac.js';
import { kernelSocket } from '../../kernel-socket.js';
import type { Lease } from '../../subnet/lease.js';
import type { Backend, BackendDeps, BackendPrepared, ReconcileReport } from '../backend.js';
import { parseBackendConfig } from '../backend-config.js';
import { directRoute } from '../direct-route.js';
import { fdbEntry, type KernelEntry, neighEntry, routeEntry } from '../kernel-plan.js';
import { readFdb, readOwnedRoutes, readPermanentNeighs } from '../kernel-state.js';
import { OwnedState } from '../owned-state.js';
import { DEFAULT_VXLAN_PORT, type VxlanConfig, VXLAN_OVERHEAD } from './schema.js';

/**
 * Checks the vxlan Backend object and fills its defaults (MacPrefix in the "xx:xx" form); throws
 * InvalidConfigError naming the field.
 */
export function parseVxlanConfig(backend: Record<string, unknown>): VxlanConfig {
  const c = parseBackendConfig('vxlan', backend) as unknown as VxlanConfig; // the schema is VxlanConfig's
  return c.MacPrefix === undefined || c.MacPrefix === null ? c : { ...c, MacPrefix: c.MacPrefix.replace(/-/g, ':').toLowerCase() };
}

/** The device's MTU (and FLANNEL_MTU), as flannel's: the underlay MTU (Backend.MTU, else the interface's) − 50. */
export function vxlanDeviceMtu(conf: VxlanConfig, extMtu: number): number {
  return (conf.MTU || extMtu) - VXLAN_OVERHEAD;
}

/** The BackendData flannel publishes for vxlan. */
export interface VxlanLeaseData {
  VNI?: number;
  VtepMAC?: string;
}


export class VxlanBackend implements Backend {
  readonly type = 'vxlan';
  readonly conf: VxlanConfig;
  readonly dev: string;
  private mac = '';
  private readonly state: OwnedState;

  constructor(private readonly deps: BackendDeps) {
    this.conf = parseVxlanConfig(deps.cfg.backend);
    this.dev = `flannel.${this.conf.VNI}`;
    this.state = new OwnedState(async () => (await Promise.all([readOwnedRoutes(), readPermanentNeighs(this.dev), readFdb(this.dev)])).flat(), undefined, deps.kernelResyncMs);
  }

  private get port(): number {
    return this.conf.Port || DEFAULT_VXLAN_PORT;
  }

  private get mtu(): number {
    return vxlanDeviceMtu(this.conf, this.deps.ext.mtu);
  }

  private macFile(): string {
    return join(this.deps.dataDir, `vtep-mac-${this.conf.VNI}`);
  }

  private storedMac(): string | null {
    try {
      const m = readFileSync(this.macFile(), 'utf8').trim();
      return isMac(m) ? m.toLowerCase() : null;
    } catch {
      return null;
    }
  }

  /** Written atomically, mode 0644 whatever the umask, in the private data dir. */
  private storeMac(mac: string): void {
    makeDirs(this.deps.dataDir, PRIVATE_DIR_MODE);
    writeFileAtomic(this.macFile(), mac + '\n', { mode: 0o644, fsync: true });
  }

  /** True when the existing device `l` has our settings; `extIndex` is the external interface's ifindex. */
  private compatible(l: LinkInfo, extIndex: number): boolean {
    const d = l.vxlan;
    return l.kind === 'vxlan' && d !== undefined && d.id === this.conf.VNI && d.local === parseIp(this.deps.ext.ifaceIp) &&
      d.port === this.port && d.learning === (this.conf.Learning ?? false) && d.link === extIndex && d.gbp === this.conf.GBP;
  }

  /** Ensures the VXLAN device exists with our settings and returns the lease data. */
  async prepare(): Promise<BackendPrepared> {
    const { nl, ifNameToIndex } = await kernelSocket();
    const ext = this.deps.ext;
    const extIndex = ifNameToIndex(ext.name);
    if (extIndex === 0) throw new LinkNotFoundError(`the external interface ${ext.name} does not exist`);
    const existing = findLink(nl, this.dev);
    const wanted = this.storedMac() ?? existing?.mac ?? randomMac(this.conf.MacPrefix);
    if (existing && this.compatible(existing, extIndex) && existing.mac === wanted) {
      this.mac = wanted;
    } else {
      if (existing) nl.perform([[`deleting ${this.dev}`, (w) => delLink(w, this.dev)]]);
      const spec = { name: this.dev, mac: wanted, mtu: this.mtu, id: this.conf.VNI, local: parseIp(ext.ifaceIp), link: extIndex, port: this.port, gbp: this.conf.GBP, learning: this.conf.Learning ?? false };
      nl.perform([[`creating ${this.dev}`, (w) => newVxlan(w, spec)]]);
      this.mac = wanted;
    }
    this.storeMac(this.mac);
    setMtuUp(nl, this.dev, this.mtu);
    return { backendData: { VNI: this.conf.VNI, VtepMAC: this.mac }, mtu: this.mtu };
  }

  /** Puts `<subnet .0>/32` on the device and removes any other IPv4 address (an old subnet). */
  async configure(own: Lease): Promise<void> {
    setAddress((await kernelSocket()).nl, this.dev, { ip: networkOf(own.subnet), prefix: 32 });
  }

  /** The kernel entries one remote lease needs (empty when its data is unusable). */
  entriesFor(l: Lease): KernelEntry[] | null {
    if (this.conf.DirectRouting) {
      const direct = directRoute(this.deps.ext, l);
      if (direct) return [direct];
    }
    const data = (l.attrs.BackendData ?? {}) as VxlanLeaseData;
    if (l.attrs.BackendType !== 'vxlan' || typeof data.VtepMAC !== 'string' || !isMac(data.VtepMAC)) return null;
    const gw = networkOf(l.subnet);
    const mac = macNumber(data.VtepMAC);
    return [fdbEntry(mac, parseIp(l.attrs.PublicIP), this.dev), neighEntry(gw, mac, this.dev), routeEntry(l.subnet, gw, this.dev, true)];
  }

  async reconcile(remote: readonly Lease[]): Promise<ReconcileReport> {
    const desired: KernelEntry[] = [];
    const unroutable: string[] = [];
    for (const l of remote) {
      const e = this.entriesFor(l);
      if (e) desired.push(...e);
      else unroutable.push(`${formatCidr(l.subnet)}: ${l.attrs.BackendType} lease without a valid VtepMAC`);
    }
    return this.state.reconcile(desired, unroutable);
  }

  async teardown(): Promise<void> {
    await this.state.clear();
    try {
      (await kernelSocket()).nl.transact([(w) => delLink(w, this.dev)]); // best effort: its errno is not looked at
    } catch { /* best effort */ }
  }
}

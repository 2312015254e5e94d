/**
 * udp (flannel pkg/backend/udp), wire-compatible with flannel: a TUN device `flannel0` without
 * packet-information header, MTU = external MTU − 28 (IPv4 + UDP headers), address = our subnet's
 * address with the Network's prefix (so the kernel routes the whole Network into the device while
 * our own subnet stays on the bridge), and every IP packet carried as the whole payload of one UDP
 * datagram between PublicIP:Port of the hosts (Port 8285 unless set). The forwarding runs in a
 * worker thread (relay-worker.ts); this class configures the device and feeds it the leases.
 */
import { formatCidr, isIp, networkOf, parseIp } from '../../../shared/ip/cidr.js';
import { setAddress } from '../../../shared/netlink/addr.js';
import { setMtuUp } from '../../../shared/netlink/link.js';
import { kernelSocket } from '../../kernel-socket.js';
import type { Lease } from '../../subnet/lease.js';
import type { Backend, BackendDeps, BackendPrepared, ReconcileReport } from '../backend.js';
import { parseBackendConfig } from '../backend-config.js';
import type { Peer } from './peer-table.js';
import { UdpRelay } from './relay.js';
import type { UdpConfig } from './schema.js';

/** IPv4 header + UDP header. */
export const UDP_ENCAP_OVERHEAD = 28;
export const UDP_TUN_DEVICE = 'flannel0';

/** Checks the udp Backend object and fills its defaults; throws InvalidConfigError naming the field. */
export function parseUdpConfig(backend: Record<string, unknown>): UdpConfig {
  return parseBackendConfig('udp', backend) as unknown as UdpConfig; // the schema is UdpConfig's
}

/**
 * The relay's peers for a set of remote leases; leases it cannot use are listed apart. flannel's
 * udp backend writes its leases without a BackendType (pkg/backend/udp `RegisterNetwork` sets only
 * PublicIP), so a lease without one is a udp peer too.
 */
export function udpPeers(remote: readonly Lease[]): { peers: Peer[]; unroutable: string[] } {
  const peers: Peer[] = [];
  const unroutable: string[] = [];
  for (const l of remote) {
    if ((l.attrs.BackendType !== 'udp' && l.attrs.BackendType !== '') || !isIp(l.attrs.PublicIP)) {
      unroutable.push(`${formatCidr(l.subnet)}: ${l.attrs.BackendType} lease, not udp`);
      continue;
    }
    peers.push({ subnet: networkOf(l.subnet), prefix: l.subnet.prefix, publicIp: parseIp(l.attrs.PublicIP) });
  }
  return { peers, unroutable };
}

const peerKey = (p: Peer): string => `${p.subnet}/${p.prefix}>${p.publicIp}`;

export class UdpBackend implements Backend {
  readonly type = 'udp';
  readonly conf: UdpConfig;
  private relay: UdpRelay;
  private recreating: Promise<void> | null = null;
  private own: { subnet: number; prefix: number } | null = null;
  private ownLease: Lease | null = null;
  private current = new Set<string>();
  private peers: Peer[] = [];

  constructor(private readonly deps: BackendDeps) {
    this.conf = parseUdpConfig(deps.cfg.backend);
    this.relay = this.newRelay();
  }

  private newRelay(): UdpRelay {
    const r = new UdpRelay(this.deps.log);
    r.onFailure = (e) => {
      if (r !== this.relay || this.recreating) return;
      this.deps.log.warn({ err: e.message, dev: UDP_TUN_DEVICE }, 'udp relay lost; recreating flannel0');
      this.recreating = this.recreate().catch((err: Error) => this.deps.onFatal(err)).finally(() => (this.recreating = null));
    };
    return r;
  }

  /** A new relay, device and address, with the current peers (after flannel0 was deleted, say). */
  private async recreate(): Promise<void> {
    const old = this.relay;
    this.relay = this.newRelay();
    await old.stop();
    await this.startRelay();
    if (this.ownLease) await this.applyOwn(this.ownLease);
    this.relay.setPeers(this.own, this.peers);
    this.deps.log.info({ dev: UDP_TUN_DEVICE, peers: this.peers.length }, 'udp relay recreated');
  }

  private get mtu(): number {
    return this.deps.ext.mtu - UDP_ENCAP_OVERHEAD;
  }

  /** Creates flannel0 and the UDP socket (in the relay), then sets the device's MTU and brings it up. */
  private async startRelay(): Promise<void> {
    await this.relay.start({ dev: UDP_TUN_DEVICE, bindIp: parseIp(this.deps.ext.ifaceIp), port: this.conf.Port, socketBufferBytes: 4 << 20 });
    setMtuUp((await kernelSocket()).nl, UDP_TUN_DEVICE, this.mtu);
    this.deps.log.info({ dev: UDP_TUN_DEVICE, listen: `${this.deps.ext.ifaceIp}:${this.conf.Port}`, mtu: this.mtu }, 'udp relay started');
  }

  async prepare(): Promise<BackendPrepared> {
    await this.startRelay();
    return { backendData: null, mtu: this.mtu };
  }

  async configure(own: Lease): Promise<void> {
    await this.recreating;
    await this.applyOwn(own);
  }

  /** Puts `<subnet address>/<Network prefix>` on flannel0 and removes any other IPv4 address. */
  private async applyOwn(own: Lease): Promise<void> {
    setAddress((await kernelSocket()).nl, UDP_TUN_DEVICE, { ip: networkOf(own.subnet), prefix: this.deps.cfg.network.prefix });
    this.ownLease = own;
    this.own = { subnet: networkOf(own.subnet), prefix: own.subnet.prefix };
    this.relay.setPeers(this.own, this.peers);
  }

  async reconcile(remote: readonly Lease[]): Promise<ReconcileReport> {
    const { peers, unroutable } = udpPeers(remote);
    const next = new Set(peers.map(peerKey));
    const added = [...next].filter((k) => !this.current.has(k)).length;
    const removed = [...this.current].filter((k) => !next.has(k)).length;
    this.peers = peers;
    this.current = next;
    this.relay.setPeers(this.own, peers);
    return { added, removed, failed: [], unroutable };
  }

  /** Stops the relay; closing the TUN descriptor removes flannel0 and its routes. */
  async teardown(): Promise<void> {
    await this.recreating;
    await this.relay.stop();
  }
}

/**
 * Pod-address allocation for this host's subnet (host-local's idea, owned by the daemon so no file
 * locks are needed). Keyed by (containerID, ifName): a repeated ADD gets the same address.
 * Addresses are handed out round-robin after the last one given, from subnet .2 to the address
 * before broadcast (network, gateway .1 and broadcast are never given out). Every change is written
 * to `<dataDir>/ipam/<subnet>.json` (a temporary file renamed over it) before the answer, so a
 * restarted daemon never gives one address to two pods. Not fsync'ed, like host-local's files: the
 * page cache outlives a daemon crash, and a machine crash takes every pod of the host with it (their
 * namespaces are gone; the runtime ADDs them again), so an allocation lost with it belonged to a
 * pod that no longer exists. Two fsyncs cost ~10 ms of every pod's ADD on this kind of disk.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AddressExhaustedError, AddressUnavailableError } from '../../shared/errors.js';
import { type Cidr, formatCidr, formatIp, gatewayOf, lastOf, networkOf, parseIp, subnetKeyOf } from '../../shared/ip/cidr.js';
import type { AllocationEntry, Attachment } from '../../shared/protocol/api.js';

interface StoreFile {
  subnet: string;
  last: string;
  allocations: Record<string, Attachment>;
}

export class AllocationStore {
  private readonly byIp = new Map<number, Attachment>();
  private readonly byKey = new Map<string, number>();
  private last: number;
  readonly path: string;
  private readonly first: number;
  private readonly final: number;

  constructor(dataDir: string, readonly subnet: Cidr) {
    const dir = join(dataDir, 'ipam');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, `${subnetKeyOf(subnet)}.json`);
    this.first = (gatewayOf(subnet) + 1) >>> 0;
    this.final = (lastOf(subnet) - 1) >>> 0;
    this.last = this.final;
    this.load();
  }

  private static key(a: Attachment): string {
    return `${a.containerID}\u0000${a.ifName}`;
  }

  private load(): void {
    let data: StoreFile;
    try {
      data = JSON.parse(readFileSync(this.path, 'utf8')) as StoreFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const [ipText, a] of Object.entries(data.allocations ?? {})) {
      const ip = parseIp(ipText);
      if (ip < this.first || ip > this.final) continue;
      this.byIp.set(ip, { containerID: a.containerID, ifName: a.ifName });
      this.byKey.set(AllocationStore.key(a), ip);
    }
    try {
      const l = parseIp(data.last);
      if (l >= this.first && l <= this.final) this.last = l;
    } catch { /* keep the default */ }
  }

  private persist(): void {
    const data: StoreFile = { subnet: formatCidr(this.subnet), last: formatIp(this.last), allocations: {} };
    for (const [ip, a] of [...this.byIp].sort((x, y) => x[0] - y[0])) data.allocations[formatIp(ip)] = a;
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(data, null, 1));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }

  /** Usable addresses in the subnet. */
  get capacity(): number {
    return this.final - this.first + 1;
  }

  get used(): number {
    return this.byIp.size;
  }

  /**
   * The address for an attachment: the existing one, the requested one, or the next free one
   * (persisted before it is returned).
   */
  allocate(a: Attachment, requested?: string): number {
    const existing = this.byKey.get(AllocationStore.key(a));
    if (requested !== undefined) return this.allocateRequested(a, requested, existing);
    if (existing !== undefined) return existing;
    const n = this.capacity;
    for (let i = 1; i <= n; i++) {
      const ip = this.first + ((this.last - this.first + i) % n);
      if (this.byIp.has(ip)) continue;
      this.take(a, ip);
      this.last = ip;
      return ip;
    }
    throw new AddressExhaustedError(`no free pod address in ${formatCidr(this.subnet)}: all ${n} addresses are allocated`, {
      hint: 'delete unused pods, or run CNI GC to release leaked addresses',
    });
  }

  private take(a: Attachment, ip: number): void {
    this.byIp.set(ip, { containerID: a.containerID, ifName: a.ifName });
    this.byKey.set(AllocationStore.key(a), ip);
    try {
      this.persist();
    } catch (e) {
      this.byIp.delete(ip);
      this.byKey.delete(AllocationStore.key(a));
      throw e;
    }
  }

  private allocateRequested(a: Attachment, requested: string, existing: number | undefined): number {
    let ip: number;
    try {
      ip = parseIp(requested);
    } catch (e) {
      throw new AddressUnavailableError(`requested address ${JSON.stringify(requested)} is not an IPv4 address`, { cause: e });
    }
    if (existing === ip) return ip;
    if (existing !== undefined) throw new AddressUnavailableError(`${a.containerID}/${a.ifName} already has ${formatIp(existing)}, not ${requested}`);
    if (ip < this.first || ip > this.final) {
      throw new AddressUnavailableError(`requested address ${requested} is not a pod address of this host's subnet ${formatCidr(this.subnet)} (${formatIp(this.first)}-${formatIp(this.final)})`);
    }
    const holder = this.byIp.get(ip);
    if (holder) throw new AddressUnavailableError(`requested address ${requested} is already allocated to ${holder.containerID}/${holder.ifName}`);
    this.take(a, ip);
    return ip;
  }

  /** Releases an attachment's address; unknown attachments are fine. Returns the address or null. */
  release(a: Attachment): number | null {
    const ip = this.byKey.get(AllocationStore.key(a));
    if (ip === undefined) return null;
    this.byKey.delete(AllocationStore.key(a));
    this.byIp.delete(ip);
    this.persist();
    return ip;
  }

  /** Releases every allocation not in `valid`; returns what was released. */
  gc(valid: readonly Attachment[]): AllocationEntry[] {
    const keep = new Set(valid.map(AllocationStore.key));
    const released: AllocationEntry[] = [];
    for (const [ip, a] of this.byIp) {
      if (keep.has(AllocationStore.key(a))) continue;
      this.byIp.delete(ip);
      this.byKey.delete(AllocationStore.key(a));
      released.push({ ...a, address: formatIp(ip) });
    }
    if (released.length) this.persist();
    return released;
  }

  list(): AllocationEntry[] {
    return [...this.byIp].sort((x, y) => x[0] - y[0]).map(([ip, a]) => ({ ...a, address: formatIp(ip) }));
  }

  /** "10.5.34.7/24" for an allocated address. */
  addressText(ip: number): string {
    return `${formatIp(ip)}/${this.subnet.prefix}`;
  }

  static networkText(subnet: Cidr): string {
    return formatIp(networkOf(subnet));
  }
}

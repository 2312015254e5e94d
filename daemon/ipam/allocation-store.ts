/**
 * Pod-address allocation for this host's subnet (host-local's idea, owned by the daemon so no file
 * locks are needed). Keyed by (containerID, ifName): a repeated ADD gets the same address.
 * Addresses are handed out round-robin after the last one given, from subnet .2 to the address
 * before broadcast (network, gateway .1 and broadcast are never given out). Every change is written
 * to `<dataDir>/ipam/<subnet>.json` with fsync + rename + directory fsync before the answer, so a
 * crash never gives one address to two pods.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AddressExhaustedError } from '../../shared/errors.js';
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
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dfd = openSync(join(this.path, '..'), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  /** Usable addresses in the subnet. */
  get capacity(): number {
    return this.final - this.first + 1;
  }

  get used(): number {
    return this.byIp.size;
  }

  /** The address for an attachment: the existing one, or the next free one (persisted first). */
  allocate(a: Attachment): number {
    const existing = this.byKey.get(AllocationStore.key(a));
    if (existing !== undefined) return existing;
    const n = this.capacity;
    for (let i = 1; i <= n; i++) {
      const ip = this.first + ((this.last - this.first + i) % n);
      if (this.byIp.has(ip)) continue;
      this.byIp.set(ip, { containerID: a.containerID, ifName: a.ifName });
      this.byKey.set(AllocationStore.key(a), ip);
      this.last = ip;
      try {
        this.persist();
      } catch (e) {
        this.byIp.delete(ip);
        this.byKey.delete(AllocationStore.key(a));
        throw e;
      }
      return ip;
    }
    throw new AddressExhaustedError(`no free pod address in ${formatCidr(this.subnet)}: all ${n} addresses are allocated`, {
      hint: 'delete unused pods, or run CNI GC to release leaked addresses',
    });
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

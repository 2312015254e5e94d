/**
 * Pod-address allocation for this host's subnet (host-local's allocator; the daemon owns it, so
 * no file locks are needed). Keyed by (containerID, ifName): a repeated ADD gets the same address.
 * Addresses are handed out round-robin after the last one given, from subnet .2 to the address
 * before broadcast (network, gateway .1 and broadcast are never given out); a requested address is
 * given when it is one of those and free. Every change is saved to the AllocationStore before the
 * answer; a change that cannot be saved is undone.
 */
import { AddressExhaustedError, AddressUnavailableError } from '../../shared/errors.js';
import { type Cidr, formatCidr, formatIp, gatewayOf, lastOf, parseIp } from '../../shared/ip/cidr.js';
import type { AllocationEntry, Attachment } from '../../shared/protocol/api.js';
import type { AllocationStore } from './allocation-store.js';

function keyOf(a: Attachment): string {
  return `${a.containerID}\u0000${a.ifName}`;
}

/** The pod addresses of one subnet: who holds which, and the policy that hands them out. */
export class AddressAllocator {
  private readonly byIp = new Map<number, Attachment>();
  private readonly byKey = new Map<string, number>();
  private readonly first: number;
  private readonly final: number;
  private last: number;

  /** Starts from what `store` holds; stored addresses outside the subnet's pod range are dropped. */
  constructor(readonly subnet: Cidr, private readonly store: AllocationStore) {
    this.first = (gatewayOf(subnet) + 1) >>> 0;
    this.final = (lastOf(subnet) - 1) >>> 0;
    this.last = this.final;
    const saved = store.load();
    for (const [ip, a] of saved.allocations) {
      if (!this.inRange(ip)) continue;
      this.byIp.set(ip, { containerID: a.containerID, ifName: a.ifName });
      this.byKey.set(keyOf(a), ip);
    }
    if (saved.last !== null && this.inRange(saved.last)) this.last = saved.last;
  }

  private inRange(ip: number): boolean {
    return ip >= this.first && ip <= this.final;
  }

  /** Usable addresses in the subnet. */
  get capacity(): number {
    return this.final - this.first + 1;
  }

  /** Addresses allocated. */
  get used(): number {
    return this.byIp.size;
  }

  /**
   * The address for an attachment: the existing one, the requested one, or the next free one
   * (saved before it is returned).
   */
  allocate(a: Attachment, requested?: string): number {
    const existing = this.byKey.get(keyOf(a));
    if (requested !== undefined) return this.allocateRequested(a, requested, existing);
    if (existing !== undefined) return existing;
    const n = this.capacity;
    for (let i = 1; i <= n; i++) {
      const ip = this.first + ((this.last - this.first + i) % n);
      if (this.byIp.has(ip)) continue;
      this.take(a, ip, ip);
      return ip;
    }
    throw new AddressExhaustedError(`no free pod address in ${formatCidr(this.subnet)}: all ${n} addresses are allocated`, {
      hint: 'delete unused pods, or run CNI GC to release leaked addresses',
    });
  }

  /** Records `a` at `ip` (and `last`), saved; undone when saving fails. */
  private take(a: Attachment, ip: number, last: number): void {
    const previousLast = this.last;
    this.byIp.set(ip, { containerID: a.containerID, ifName: a.ifName });
    this.byKey.set(keyOf(a), ip);
    this.last = last;
    try {
      this.save();
    } catch (e) {
      this.byIp.delete(ip);
      this.byKey.delete(keyOf(a));
      this.last = previousLast;
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
    if (!this.inRange(ip)) {
      throw new AddressUnavailableError(`requested address ${requested} is not a pod address of this host's subnet ${formatCidr(this.subnet)} (${formatIp(this.first)}-${formatIp(this.final)})`);
    }
    const holder = this.byIp.get(ip);
    if (holder) throw new AddressUnavailableError(`requested address ${requested} is already allocated to ${holder.containerID}/${holder.ifName}`);
    this.take(a, ip, this.last);
    return ip;
  }

  /** Releases an attachment's address; unknown attachments are fine. Returns the address or null. */
  release(a: Attachment): number | null {
    const ip = this.byKey.get(keyOf(a));
    if (ip === undefined) return null;
    this.byKey.delete(keyOf(a));
    this.byIp.delete(ip);
    this.save();
    return ip;
  }

  /** Releases every allocation not in `valid`; returns what was released. */
  gc(valid: readonly Attachment[]): AllocationEntry[] {
    const keep = new Set(valid.map(keyOf));
    const released: AllocationEntry[] = [];
    for (const [ip, a] of this.byIp) {
      if (keep.has(keyOf(a))) continue;
      this.byIp.delete(ip);
      this.byKey.delete(keyOf(a));
      released.push({ ...a, address: formatIp(ip) });
    }
    if (released.length) this.save();
    return released;
  }

  /** Every allocation, by address. */
  list(): AllocationEntry[] {
    return [...this.byIp].sort((x, y) => x[0] - y[0]).map(([ip, a]) => ({ ...a, address: formatIp(ip) }));
  }

  /** "10.5.34.7/24" for an allocated address. */
  addressText(ip: number): string {
    return `${formatIp(ip)}/${this.subnet.prefix}`;
  }

  private save(): void {
    this.store.save({ last: this.last, allocations: this.byIp });
  }
}

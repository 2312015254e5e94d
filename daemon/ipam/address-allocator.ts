/**
 * Pod-address allocation for this host's subnet (host-local's allocator; the daemon owns it, so
 * no file locks are needed). Keyed by attachment (containerID, ifName): a repeated ADD gets the
 * same address. Each allocation also records its network (the plugin config's `name`), which
 * scopes GC: a network's GC releases only that network's allocations.
 * Addresses are handed out round-robin after the last one given, from subnet .2 to the address
 * before broadcast (network, gateway .1 and broadcast are never given out); a requested address is
 * given when it is one of those and free. Every change is saved to the AllocationStore before the
 * answer; a change that cannot be saved is undone.
 */
import { AddressExhaustedError, AddressInvalidError, AddressUnavailableError, AttachmentConflictError } from '../../shared/errors.js';
import { type Cidr, formatCidr, formatIp, gatewayOf, lastOf, parseIp } from '../../shared/ip/cidr.js';
import type { AllocationEntry, Attachment } from '../../shared/protocol/api.js';
import type { Allocation, AllocationStore } from './allocation-store.js';

function keyOf(a: Attachment): string {
  return `${a.containerID}\u0000${a.ifName}`;
}

/** What an allocation is asked for: the attachment's network, and an address it must have. */
export interface AllocateOptions {
  /** The network asking; absent for a plugin older than networks (the allocation then has none). */
  network?: string;
  /** The address the runtime asks for ("10.5.34.7"). */
  ip?: string;
}

/** What a GC did: the allocations it released, and those without a network it gave to the network collected. */
export interface GcOutcome {
  released: AllocationEntry[];
  adopted: AllocationEntry[];
}

/** The pod addresses of one subnet: who holds which, and the policy that hands them out. */
export class AddressAllocator {
  private readonly byIp = new Map<number, Allocation>();
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
      this.byIp.set(ip, copy(a));
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
   * (saved before it is returned). An attachment holding an address of another network is
   * refused (AttachmentConflictError); one holding an address without a network gets `network`.
   */
  allocate(a: Attachment, opts: AllocateOptions = {}): number {
    const requested = opts.ip === undefined ? undefined : this.checkRequested(opts.ip);
    const existing = this.byKey.get(keyOf(a));
    if (existing !== undefined) {
      const held = this.byIp.get(existing)!;
      if (opts.network !== undefined && held.network !== undefined && held.network !== opts.network) {
        throw new AttachmentConflictError(`${a.ifName} of container ${a.containerID} is attached to network ${held.network} on this host (address ${formatIp(existing)}), not to ${opts.network}`, {
          hint: `DEL it from network ${held.network} first; a leaked one goes with that network's CNI GC`,
        });
      }
      if (requested !== undefined && requested !== existing) throw new AddressUnavailableError(`${a.containerID}/${a.ifName} already has ${formatIp(existing)}, not ${opts.ip}`);
      if (opts.network !== undefined && held.network === undefined) this.relabel(existing, opts.network);
      return existing;
    }
    if (requested !== undefined) {
      const holder = this.byIp.get(requested);
      if (holder) throw new AddressUnavailableError(`requested address ${opts.ip} is already allocated to ${holder.containerID}/${holder.ifName}`);
      this.take(a, opts.network, requested, this.last);
      return requested;
    }
    const n = this.capacity;
    for (let i = 1; i <= n; i++) {
      const ip = this.first + ((this.last - this.first + i) % n);
      if (this.byIp.has(ip)) continue;
      this.take(a, opts.network, ip, ip);
      return ip;
    }
    throw new AddressExhaustedError(`no free pod address in ${formatCidr(this.subnet)}: all ${n} addresses are allocated`, {
      hint: 'delete unused pods, or run CNI GC to release leaked addresses',
    });
  }

  /** A requested address as a number; AddressInvalidError when it can never be a pod address here. */
  private checkRequested(requested: string): number {
    let ip: number;
    try {
      ip = parseIp(requested);
    } catch (e) {
      throw new AddressInvalidError(`requested address ${JSON.stringify(requested)} is not an IPv4 address`, { cause: e });
    }
    if (!this.inRange(ip)) {
      const what = ip === this.subnet.ip ? 'the network address of' : ip === gatewayOf(this.subnet) ? 'the gateway of' : ip === lastOf(this.subnet) ? 'the broadcast address of' : 'not in';
      throw new AddressInvalidError(`requested address ${requested} is ${what} this host's subnet ${formatCidr(this.subnet)}: pod addresses are ${formatIp(this.first)}-${formatIp(this.final)}`);
    }
    return ip;
  }

  /** Records `a` (of `network`) at `ip` (and `last`), saved; undone when saving fails. */
  private take(a: Attachment, network: string | undefined, ip: number, last: number): void {
    const previousLast = this.last;
    this.byIp.set(ip, copy({ ...a, network }));
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

  /** Gives the allocation at `ip` to `network`, saved; undone when saving fails. */
  private relabel(ip: number, network: string): void {
    const before = this.byIp.get(ip)!;
    this.byIp.set(ip, { ...before, network });
    try {
      this.save();
    } catch (e) {
      this.byIp.set(ip, before);
      throw e;
    }
  }

  /**
   * Releases an attachment's address, whatever its network (the attachment is one interface of
   * one container: its DEL ends it); unknown attachments are fine. Returns the address or null.
   */
  release(a: Attachment): number | null {
    const ip = this.byKey.get(keyOf(a));
    if (ip === undefined) return null;
    this.byKey.delete(keyOf(a));
    this.byIp.delete(ip);
    this.save();
    return ip;
  }

  /**
   * CNI GC of one network: releases every allocation of `network` (undefined: the allocations
   * without a network) whose attachment is not in `valid`, and gives `network` the allocations
   * without one whose attachment is in `valid`. Other networks' allocations are not touched.
   */
  gc(network: string | undefined, valid: readonly Attachment[]): GcOutcome {
    const keep = new Set(valid.map(keyOf));
    const released: AllocationEntry[] = [];
    const adopted: AllocationEntry[] = [];
    for (const [ip, a] of this.byIp) {
      if (a.network === network) {
        if (keep.has(keyOf(a))) continue;
        this.byIp.delete(ip);
        this.byKey.delete(keyOf(a));
        released.push(entry(ip, a));
      } else if (a.network === undefined && keep.has(keyOf(a))) {
        this.byIp.set(ip, { ...a, network });
        adopted.push(entry(ip, { ...a, network }));
      }
    }
    if (released.length || adopted.length) this.save();
    return { released, adopted };
  }

  /** Every allocation, by address. */
  list(): AllocationEntry[] {
    return [...this.byIp].sort((x, y) => x[0] - y[0]).map(([ip, a]) => entry(ip, a));
  }

  /** "10.5.34.7/24" for an allocated address. */
  addressText(ip: number): string {
    return `${formatIp(ip)}/${this.subnet.prefix}`;
  }

  private save(): void {
    this.store.save({ last: this.last, allocations: this.byIp });
  }
}

/** An allocation without undefined fields. */
function copy(a: Allocation): Allocation {
  return a.network === undefined ? { containerID: a.containerID, ifName: a.ifName } : { containerID: a.containerID, ifName: a.ifName, network: a.network };
}

/** The API's view of an allocation. */
function entry(ip: number, a: Allocation): AllocationEntry {
  return { ...copy(a), address: formatIp(ip) };
}

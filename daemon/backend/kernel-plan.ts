/**
 * Reconcile planning, pure: desired entries (from leases) against actual entries (read from the
 * kernel) give the commands to run. An entry has an identity (what the kernel keys it by: a route's
 * destination, a neighbour's address on its device, an FDB entry's MAC on its device) and a state
 * (everything else). A changed entry is replaced in place (`replace`), never deleted then added,
 * so traffic keeps flowing.
 *
 * Entries exist for every remote lease (three per lease for vxlan, thousands in a big cluster) and
 * the applied set stays in memory, so an entry is one small object holding numbers and shared
 * references; its identity is a number, and the text forms (for logs) are made only when asked for.
 */
import { type Cidr, formatCidr, formatIp } from '../../shared/ip/cidr.js';
import { formatMacNumber } from '../../shared/net/mac.js';
import { TWILL_RTPROT } from '../../shared/netlink/route.js';

/** One kernel object twill owns, as kernel-state.ts writes it (MACs as the 48-bit numbers macNumber gives). */
export type NetlinkOp =
  | { readonly kind: 'route'; readonly dst: Cidr; readonly via: number; readonly dev: string; readonly onlink: boolean }
  | { readonly kind: 'neigh'; readonly ip: number; readonly mac: number; readonly dev: string }
  | { readonly kind: 'fdb'; readonly mac: number; readonly dst: number; readonly dev: string };

/** One kernel object: what rtnetlink is told, and the iproute2 commands that say the same (for logs). */
export interface KernelEntry {
  /** The entry itself, as kernel-state.ts writes it. */
  readonly op: NetlinkOp;
  /** Its identity among the entries of its kind on its device (routes: on any device). */
  readonly key: number;
  /** The device its identity is scoped to ('' for routes, which the kernel keys by destination). */
  readonly scope: string;
  /** Kind + identity as text, e.g. "route 10.5.2.0/24" (logs and tests). */
  readonly id: string;
  /** The command that creates or replaces it, as `ip`/`bridge` would take it. */
  readonly add: string;
  /** The command that deletes it. */
  readonly del: string;
  /** True when `other` (same identity) needs no change to become this. */
  same(other: KernelEntry): boolean;
}

/** A kernel change that failed: the iproute2 command that says what, and the kernel's answer. */
export interface KernelFailure {
  line: string;
  error: string;
}

export interface ReconcilePlan {
  add: KernelEntry[];
  del: KernelEntry[];
}

class RouteEntry implements KernelEntry {
  readonly kind = 'route';
  constructor(readonly dst: Cidr, readonly via: number, readonly dev: string, readonly onlink: boolean) {}
  get op(): NetlinkOp { return this; }
  get key(): number { return this.dst.ip * 64 + this.dst.prefix; }
  get scope(): string { return ''; }
  get id(): string { return `route ${formatCidr(this.dst)}`; }
  get add(): string { return `route replace ${formatCidr(this.dst)} via ${formatIp(this.via)} dev ${this.dev}${this.onlink ? ' onlink' : ''} proto ${TWILL_RTPROT}`; }
  get del(): string { return `route del ${formatCidr(this.dst)} proto ${TWILL_RTPROT}`; }
  same(o: KernelEntry): boolean {
    return o instanceof RouteEntry && o.via === this.via && o.dev === this.dev && o.onlink === this.onlink;
  }
}

class NeighEntry implements KernelEntry {
  readonly kind = 'neigh';
  constructor(readonly ip: number, readonly mac: number, readonly dev: string) {}
  get op(): NetlinkOp { return this; }
  get key(): number { return this.ip; }
  get scope(): string { return this.dev; }
  get id(): string { return `neigh ${formatIp(this.ip)} ${this.dev}`; }
  get add(): string { return `neigh replace ${formatIp(this.ip)} lladdr ${formatMacNumber(this.mac)} dev ${this.dev} nud permanent`; }
  get del(): string { return `neigh del ${formatIp(this.ip)} dev ${this.dev}`; }
  same(o: KernelEntry): boolean {
    return o instanceof NeighEntry && o.mac === this.mac;
  }
}

class FdbEntry implements KernelEntry {
  readonly kind = 'fdb';
  constructor(readonly mac: number, readonly dst: number, readonly dev: string) {}
  get op(): NetlinkOp { return this; }
  get key(): number { return this.mac; }
  get scope(): string { return this.dev; }
  get id(): string { return `fdb ${formatMacNumber(this.mac)} ${this.dev}`; }
  get add(): string { return `fdb replace ${formatMacNumber(this.mac)} dev ${this.dev} dst ${formatIp(this.dst)} self permanent`; }
  get del(): string { return `fdb del ${formatMacNumber(this.mac)} dev ${this.dev} self`; }
  same(o: KernelEntry): boolean {
    return o instanceof FdbEntry && o.dst === this.dst;
  }
}

/** A route owned by twill (`dst` is kept as given: pass the lease's own subnet, not a copy). */
export function routeEntry(dst: Cidr, via: number, dev: string, onlink: boolean): KernelEntry {
  return new RouteEntry(dst, via, dev, onlink);
}

/** A permanent neighbour entry (VTEP address → VTEP MAC, the MAC as macNumber gives it). */
export function neighEntry(ip: number, mac: number, dev: string): KernelEntry {
  return new NeighEntry(ip, mac, dev);
}

/** A permanent FDB entry (VTEP MAC → remote public address). */
export function fdbEntry(mac: number, dst: number, dev: string): KernelEntry {
  return new FdbEntry(mac, dst, dev);
}

/** Entries by kind, scope and key. */
class EntryIndex {
  private readonly byKind = new Map<string, Map<string, Map<number, KernelEntry>>>();

  constructor(entries: readonly KernelEntry[]) {
    for (const e of entries) this.group(e, true)!.set(e.key, e);
  }

  private group(e: KernelEntry, create: boolean): Map<number, KernelEntry> | undefined {
    let scopes = this.byKind.get(e.op.kind);
    if (!scopes) {
      if (!create) return undefined;
      this.byKind.set(e.op.kind, (scopes = new Map()));
    }
    let g = scopes.get(e.scope);
    if (!g && create) scopes.set(e.scope, (g = new Map()));
    return g;
  }

  /** The entry with the same identity as `e`, if any. */
  get(e: KernelEntry): KernelEntry | undefined {
    return this.group(e, false)?.get(e.key);
  }
}

/** Order of creation: link-layer entries before the routes that use them. */
const ADD_ORDER: Record<NetlinkOp['kind'], number> = { fdb: 0, neigh: 1, route: 2 };

/** Compares desired with actual; unchanged entries produce nothing. */
export function planReconcile(desired: readonly KernelEntry[], actual: readonly KernelEntry[]): ReconcilePlan {
  const actualIndex = new EntryIndex(actual);
  const desiredIndex = new EntryIndex(desired);
  const add = desired.filter((d) => {
    const a = actualIndex.get(d);
    return a === undefined || !d.same(a);
  });
  const del = actual.filter((a) => desiredIndex.get(a) === undefined);
  add.sort((a, b) => ADD_ORDER[a.op.kind] - ADD_ORDER[b.op.kind]);
  del.sort((a, b) => ADD_ORDER[b.op.kind] - ADD_ORDER[a.op.kind]);
  return { add, del };
}

/**
 * Reconcile planning, pure: desired entries (from leases) against actual entries (read from the
 * kernel) give the commands to run. An entry has an identity (what the kernel keys it by: a route's
 * destination, a neighbour's address, an FDB entry's MAC) and a spec (everything else). A changed
 * entry is replaced in place (`replace`), never deleted then added, so traffic keeps flowing.
 */
import { formatCidr, formatIp, parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { type NetlinkOp, TWILL_RTPROT } from '../../shared/netlink/rtnl-messages.js';

/** One kernel object: what rtnetlink is told, and the iproute2 commands that say the same (for logs). */
export interface KernelEntry {
  /** Kind + identity, e.g. "route 10.5.2.0/24". */
  id: string;
  /** The full desired state, compared to decide whether to replace. */
  spec: string;
  op: NetlinkOp;
  /** The command that creates or replaces it, as `ip`/`bridge` would take it. */
  readonly add: string;
  /** The command that deletes it. */
  readonly del: string;
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

/** Order of creation: link-layer entries before the routes that use them. */
const ADD_ORDER: Record<string, number> = { fdb: 0, neigh: 1, route: 2 };

function kindOf(e: KernelEntry): string {
  return e.id.slice(0, e.id.indexOf(' '));
}

/** Compares desired with actual; unchanged entries produce nothing. */
export function planReconcile(desired: readonly KernelEntry[], actual: readonly KernelEntry[]): ReconcilePlan {
  const actualById = new Map(actual.map((e) => [e.id, e]));
  const desiredIds = new Set(desired.map((e) => e.id));
  const add = desired.filter((d) => actualById.get(d.id)?.spec !== d.spec);
  const del = actual.filter((a) => !desiredIds.has(a.id));
  add.sort((a, b) => (ADD_ORDER[kindOf(a)] ?? 9) - (ADD_ORDER[kindOf(b)] ?? 9));
  del.sort((a, b) => (ADD_ORDER[kindOf(b)] ?? 9) - (ADD_ORDER[kindOf(a)] ?? 9));
  return { add, del };
}

/** Route protocol number marking routes twill owns, so reconcile never touches anyone else's. */
export const TWILL_ROUTE_PROTO = String(TWILL_RTPROT);

/**
 * Entries are kept for every lease (thousands), so the iproute2 commands, needed only to report a
 * failure, are derived on demand from the op and the spec instead of stored with each one.
 */
class Entry implements KernelEntry {
  constructor(readonly op: NetlinkOp, readonly id: string, readonly spec: string) {}

  get add(): string {
    const kind = this.op.kind;
    return kind === 'route' ? `route replace ${this.spec} proto ${TWILL_ROUTE_PROTO}`
      : kind === 'neigh' ? `neigh replace ${this.spec} nud permanent`
        : `fdb replace ${this.spec} self permanent`;
  }

  get del(): string {
    const op = this.op;
    return op.kind === 'route' ? `route del ${formatCidr(op.dst)} proto ${TWILL_ROUTE_PROTO}`
      : op.kind === 'neigh' ? `neigh del ${formatIp(op.ip)} dev ${op.dev}`
        : `fdb del ${this.spec} self`;
  }
}

/** A route owned by twill. */
export function routeEntry(dst: string, via: string, dev: string, onlink: boolean): KernelEntry {
  return new Entry({ kind: 'route', dst: parseCidr(dst), via: parseIp(via), dev, onlink }, `route ${dst}`, `${dst} via ${via} dev ${dev}${onlink ? ' onlink' : ''}`);
}

/** A permanent neighbour entry (VTEP address → VTEP MAC). */
export function neighEntry(ipAddr: string, mac: string, dev: string): KernelEntry {
  const m = mac.toLowerCase();
  return new Entry({ kind: 'neigh', ip: parseIp(ipAddr), mac: m, dev }, `neigh ${ipAddr} ${dev}`, `${ipAddr} lladdr ${m} dev ${dev}`);
}

/** A permanent FDB entry (VTEP MAC → remote public address). */
export function fdbEntry(mac: string, dst: string, dev: string): KernelEntry {
  const m = mac.toLowerCase();
  return new Entry({ kind: 'fdb', mac: m, dst: parseIp(dst), dev }, `fdb ${m} ${dev}`, `${m} dev ${dev} dst ${dst}`);
}

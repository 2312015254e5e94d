/**
 * Reads the kernel entries twill owns (routes with twill's protocol number, permanent neighbours
 * and FDB entries on the VXLAN device) with iproute2, and applies a reconcile plan over rtnetlink
 * (shared/netlink/rtnetlink.ts): one socket, many requests per system call, no child process.
 */
import { ipJson, runTool } from '../../shared/netlink/ip-command.js';
import type { RtNetlink } from '../../shared/netlink/rtnetlink.js';
import { ENODEV } from '../../shared/netlink/rtnl-messages.js';
import { LinkNotFoundError } from '../../shared/errors.js';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { macNumber } from '../../shared/net/mac.js';
import { fdbEntry, type KernelEntry, type KernelFailure, neighEntry, type ReconcilePlan, routeEntry, TWILL_ROUTE_PROTO } from './kernel-plan.js';

interface JsonRoute { dst: string; gateway?: string; dev?: string; flags?: string[] }
interface JsonNeigh { dst: string; lladdr?: string; state?: string[] }
interface JsonFdb { mac: string; dst?: string; state?: string }

/** Routes in the main table carrying twill's protocol number. */
export async function readOwnedRoutes(): Promise<KernelEntry[]> {
  const routes = await ipJson<JsonRoute>(['route', 'show', 'table', 'main', 'proto', TWILL_ROUTE_PROTO]);
  return routes
    .filter((r) => r.gateway && r.dev)
    .map((r) => routeEntry(parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`), parseIp(r.gateway!), r.dev!, (r.flags ?? []).includes('onlink')));
}

/** Permanent neighbour entries on `dev` (none when the device does not exist). */
export async function readPermanentNeighs(dev: string): Promise<KernelEntry[]> {
  try {
    const neighs = await ipJson<JsonNeigh>(['neigh', 'show', 'dev', dev, 'nud', 'permanent']);
    return neighs.filter((n) => n.lladdr).map((n) => neighEntry(parseIp(n.dst), macNumber(n.lladdr!), dev));
  } catch (e) {
    if (e instanceof LinkNotFoundError) return [];
    throw e;
  }
}

/** Permanent unicast FDB entries with a remote destination on `dev`. */
export async function readFdb(dev: string): Promise<KernelEntry[]> {
  try {
    const out = await runTool('bridge', ['-json', 'fdb', 'show', 'dev', dev]);
    const fdb = out.trim() ? (JSON.parse(out) as JsonFdb[]) : [];
    return fdb.filter((f) => f.dst && f.mac !== '00:00:00:00:00:00').map((f) => fdbEntry(macNumber(f.mac), parseIp(f.dst!), dev));
  } catch (e) {
    if (e instanceof LinkNotFoundError) return [];
    throw e;
  }
}

/** Deleting something already gone is success (another actor, or a device that was removed). */
const GONE = new Set([2 /* ENOENT */, 3 /* ESRCH */, ENODEV]);

let netlink: Promise<{ nl: RtNetlink; describe: (errno: number) => string }> | null = null;
/** The daemon's rtnetlink socket and errno texts, loaded on first use (koffi is loaded only then). */
function rtnetlink(): Promise<{ nl: RtNetlink; describe: (errno: number) => string }> {
  return (netlink ??= Promise.all([import('../../shared/netlink/rtnetlink.js'), import('../../shared/native/libc.js')])
    .then(([m, libc]) => ({ nl: new m.RtNetlink(), describe: libc.describeErrno })));
}

/**
 * Applies a plan over rtnetlink, in order: deletions (routes first), then additions (FDB first);
 * returns the failures, each with the iproute2 command that says what failed.
 */
export async function applyPlan(plan: ReconcilePlan): Promise<KernelFailure[]> {
  const changes = [...plan.del.map((e) => ({ e, action: 'delete' as const })), ...plan.add.map((e) => ({ e, action: 'replace' as const }))];
  if (changes.length === 0) return [];
  const { nl, describe } = await rtnetlink();
  const errs = await nl.apply(changes.map((c) => ({ op: c.e.op, action: c.action })));
  const failures: KernelFailure[] = [];
  changes.forEach((c, i) => {
    const e = errs[i]!;
    if (e === 0 || (c.action === 'delete' && GONE.has(e))) return;
    failures.push({ line: c.action === 'delete' ? c.e.del : c.e.add, error: describe(e) });
  });
  return failures;
}

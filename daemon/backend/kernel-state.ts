/**
 * Reads the kernel entries twill owns (routes with twill's protocol number, permanent neighbours
 * and FDB entries on the VXLAN device) and applies a reconcile plan with at most two batch
 * processes per direction (`bridge -batch` for FDB, `ip -batch` for the rest).
 */
import { ipJson, runBatch, runTool, type BatchFailure } from '../../shared/netlink/ip-command.js';
import { LinkNotFoundError } from '../../shared/errors.js';
import { fdbEntry, type KernelEntry, neighEntry, type ReconcilePlan, routeEntry, TWILL_ROUTE_PROTO } from './kernel-plan.js';

interface JsonRoute { dst: string; gateway?: string; dev?: string; flags?: string[] }
interface JsonNeigh { dst: string; lladdr?: string; state?: string[] }
interface JsonFdb { mac: string; dst?: string; state?: string }

/** Routes in the main table carrying twill's protocol number. */
export async function readOwnedRoutes(): Promise<KernelEntry[]> {
  const routes = await ipJson<JsonRoute>(['route', 'show', 'table', 'main', 'proto', TWILL_ROUTE_PROTO]);
  return routes
    .filter((r) => r.gateway && r.dev)
    .map((r) => routeEntry(r.dst.includes('/') ? r.dst : `${r.dst}/32`, r.gateway!, r.dev!, (r.flags ?? []).includes('onlink')));
}

/** Permanent neighbour entries on `dev` (none when the device does not exist). */
export async function readPermanentNeighs(dev: string): Promise<KernelEntry[]> {
  try {
    const neighs = await ipJson<JsonNeigh>(['neigh', 'show', 'dev', dev, 'nud', 'permanent']);
    return neighs.filter((n) => n.lladdr).map((n) => neighEntry(n.dst, n.lladdr!, dev));
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
    return fdb.filter((f) => f.dst && f.mac !== '00:00:00:00:00:00').map((f) => fdbEntry(f.mac, f.dst!, dev));
  } catch (e) {
    if (e instanceof LinkNotFoundError) return [];
    throw e;
  }
}

/** Deleting something already gone is success (another actor, or a device that was removed). */
function isGone(f: BatchFailure): boolean {
  return /No such process|No such file|Cannot find device|not found/i.test(f.error);
}

/** Applies a plan: deletions (routes first), then additions (FDB first); returns failures. */
export async function applyPlan(plan: ReconcilePlan): Promise<BatchFailure[]> {
  const failures: BatchFailure[] = [];
  const lines = (list: KernelEntry[], tool: 'ip' | 'bridge', pick: 'add' | 'del'): string[] =>
    list.filter((e) => e.tool === tool).map((e) => e[pick]);
  failures.push(...(await runBatch('ip', lines(plan.del, 'ip', 'del'), { force: true })).filter((f) => !isGone(f)));
  failures.push(...(await runBatch('bridge', lines(plan.del, 'bridge', 'del'), { force: true })).filter((f) => !isGone(f)));
  failures.push(...(await runBatch('bridge', lines(plan.add, 'bridge', 'add'), { force: true })));
  failures.push(...(await runBatch('ip', lines(plan.add, 'ip', 'add'), { force: true })));
  return failures;
}

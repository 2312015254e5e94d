/**
 * The kernel entries twill owns (routes in the main table with twill's protocol number, permanent
 * neighbour and FDB entries on the VXLAN device), read with rtnetlink dumps and changed by applying
 * a reconcile plan: all over the daemon's one rtnetlink socket (kernel-socket.ts), no child process.
 */
import { AF_BRIDGE, AF_INET, ENODEV, ENOENT, ESRCH } from '../../shared/native/constants.js';
import { getLink, parseLink } from '../../shared/netlink/link.js';
import { dumpNeighs, fdbRequest, neighRequest, NUD_PERMANENT, parseNeigh } from '../../shared/netlink/neigh.js';
import { dumpRoutes, readRoute, type RouteMessage, routeRequest, RT_TABLE_MAIN, TWILL_RTPROT } from '../../shared/netlink/route.js';
import { kernelSocket } from '../kernel-socket.js';
import { fdbEntry, type KernelEntry, type KernelFailure, neighEntry, type ReconcilePlan, routeEntry } from './kernel-plan.js';

/** Routes in the main table carrying twill's protocol number (those with a gateway and a device). */
export async function readOwnedRoutes(): Promise<KernelEntry[]> {
  const { nl } = await kernelSocket();
  const routes: RouteMessage[] = [];
  nl.dump('reading routes', dumpRoutes, (m) => {
    const r = readRoute(m.payload);
    if (r && r.table === RT_TABLE_MAIN && r.protocol === TWILL_RTPROT && r.gateway !== undefined && r.oif !== undefined) routes.push(r);
  });
  // Their devices' names (a few: the VXLAN device, the external interface), asked once the dump is over.
  const indexes = [...new Set(routes.map((r) => r.oif!))];
  const answers = nl.transact(indexes.map((index) => (w) => getLink(w, index)));
  const names = new Map(indexes.map((index, i) => [index, answers[i]!.errno ? undefined : parseLink(answers[i]!.messages[0]!.payload).name]));
  return routes.flatMap((r) => {
    const dev = names.get(r.oif!);
    return dev === undefined ? [] : [routeEntry(r.dst, r.gateway!, dev, r.onlink)];
  });
}

/** Permanent IPv4 neighbour entries on `dev` (none when the device does not exist). */
export async function readPermanentNeighs(dev: string): Promise<KernelEntry[]> {
  const { nl, ifNameToIndex } = await kernelSocket();
  const index = ifNameToIndex(dev);
  const out: KernelEntry[] = [];
  if (index === 0) return out;
  nl.dump(`reading the neighbours of ${dev}`, (w) => dumpNeighs(w, AF_INET), (m) => {
    const n = parseNeigh(m.payload);
    if (n.index === index && n.state & NUD_PERMANENT && n.ip !== undefined && n.mac !== undefined) out.push(neighEntry(n.ip, n.mac, dev));
  });
  return out;
}

/** True for a MAC (48-bit number) that names one station: not 0, not a group (multicast) address. */
const isUnicast = (mac: number): boolean => mac !== 0 && (Math.floor(mac / 2 ** 40) & 1) === 0;

/** Permanent unicast FDB entries with a remote IPv4 destination on `dev` (none when the device does not exist). */
export async function readFdb(dev: string): Promise<KernelEntry[]> {
  const { nl, ifNameToIndex } = await kernelSocket();
  const index = ifNameToIndex(dev);
  const out: KernelEntry[] = [];
  if (index === 0) return out;
  nl.dump(`reading the forwarding database of ${dev}`, (w) => dumpNeighs(w, AF_BRIDGE), (m) => {
    const f = parseNeigh(m.payload);
    if (f.index === index && f.state & NUD_PERMANENT && f.ip !== undefined && f.mac !== undefined && isUnicast(f.mac)) out.push(fdbEntry(f.mac, f.ip, dev));
  });
  return out;
}

/** Deleting something already gone is success (another actor, or a device that was removed). */
const GONE = new Set([ENOENT, ESRCH, ENODEV]);

/**
 * Applies a plan over rtnetlink, in order: deletions (routes first), then additions (FDB first);
 * returns the failures, each with the iproute2 command that says what failed.
 */
export async function applyPlan(plan: ReconcilePlan): Promise<KernelFailure[]> {
  const dels = plan.del.length;
  const count = dels + plan.add.length;
  if (count === 0) return [];
  const entry = (i: number): KernelEntry => (i < dels ? plan.del[i] : plan.add[i - dels])!;
  const { nl, ifNameToIndex, describeErrno } = await kernelSocket();
  const ifindex = new Map<string, number>();
  const errs = await nl.apply(count, (w, i) => {
    const op = entry(i).op;
    let index = ifindex.get(op.dev);
    if (index === undefined) ifindex.set(op.dev, (index = ifNameToIndex(op.dev)));
    if (index === 0) return ENODEV;
    const action = i < dels ? 'delete' : 'replace';
    if (op.kind === 'route') routeRequest(w, action, op, index, TWILL_RTPROT);
    else if (op.kind === 'neigh') neighRequest(w, action, index, op);
    else fdbRequest(w, action, index, op);
    return 0;
  });
  const failures: KernelFailure[] = [];
  errs.forEach((e, i) => {
    if (e === 0 || (i < dels && GONE.has(e))) return;
    failures.push({ line: i < dels ? entry(i).del : entry(i).add, error: describeErrno(e) });
  });
  return failures;
}

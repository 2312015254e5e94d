/**
 * LeaseWatcher: turns the registry's snapshot + watch stream into added/changed/removed lease
 * events (flannel WatchLeases). It keeps the set of known leases, so after a broken watch
 * (disconnect, compaction, etcd restart) it resyncs from a fresh snapshot and emits only the
 * difference. Malformed or out-of-network leases are logged and skipped.
 */
import type { NetConfig } from '../config/net-config.js';
import { describeError } from '../../shared/errors.js';
import { type Cidr, cidrEquals, parseSubnetKey, subnetKeyOf } from '../../shared/ip/cidr.js';
import type { Logger } from '../logger.js';
import { Backoff, sleep } from '../sleep.js';
import { leaseFitsConfig } from './allocate-subnet.js';
import { type DecodedLease, type Lease, sameAttrs } from './lease.js';
import type { LeaseSnapshot, SubnetRegistry } from './registry.js';

export interface LeaseEvent {
  type: 'added' | 'changed' | 'removed';
  lease: Lease;
}

export class LeaseWatcher {
  private readonly known = new Map<string, Lease>();
  /**
   * PublicIP → subnet keys of the known leases advertising it (duplicate check without a scan).
   * Nearly always one key: an array costs a fraction of a Set, kept for every lease.
   */
  private readonly byPublicIp = new Map<string, string[]>();
  /** The next snapshot follows a broken watch (logged as a resync). */
  private wasResync = false;
  /** A listing to start from instead of listing again (startFrom). */
  private initial: LeaseSnapshot | null = null;
  /** The server holding the watch as last confirmed (an etcd member), for saying when it moves. */
  private servedBy: string | null = null;

  constructor(
    private readonly registry: SubnetRegistry,
    private readonly cfg: NetConfig,
    private readonly log: Logger,
    /** This host's PublicIP and subnet: another lease claiming our address is skipped. */
    private readonly self: () => { publicIp: string; subnet: Cidr } | null = () => null,
  ) {}

  /** Makes the next `watch` start from `snap`, a listing made moments ago, instead of listing again. */
  startFrom(snap: LeaseSnapshot | null): void {
    this.initial = snap;
  }

  /** The leases as last seen (after the most recent batch). */
  leases(): Lease[] {
    return [...this.known.values()];
  }

  /** The other hosts' leases as last seen: every known lease but this host's own. */
  remoteLeases(): Lease[] {
    const me = this.self();
    return me ? this.leases().filter((l) => !cidrEquals(l.subnet, me.subnet)) : this.leases();
  }

  private accept(d: DecodedLease): Lease | null {
    if (!d.ok) {
      this.log.warn({ key: d.key, reason: d.reason }, 'lease skipped');
      return null;
    }
    if (!leaseFitsConfig(this.cfg, d.lease.subnet)) {
      this.log.warn({ key: subnetKeyOf(d.lease.subnet), reason: `not a /${this.cfg.subnetLen} subnet of the Network` }, 'lease skipped');
      return null;
    }
    const me = this.self();
    if (me && d.lease.attrs.PublicIP === me.publicIp && !cidrEquals(d.lease.subnet, me.subnet)) {
      this.log.warn({ key: subnetKeyOf(d.lease.subnet), reason: `claims this host's PublicIP ${me.publicIp}` }, 'lease skipped');
      return null;
    }
    const key = subnetKeyOf(d.lease.subnet);
    const dup = this.byPublicIp.get(d.lease.attrs.PublicIP)?.find((k) => k !== key);
    if (dup) {
      // Kept: dropping either could cut off a real host; the operator has to look.
      this.log.warn({ key, other: dup, publicIp: d.lease.attrs.PublicIP }, 'two leases advertise one PublicIP');
    }
    return d.lease;
  }

  private index(key: string, lease: Lease | undefined, add: boolean): void {
    if (!lease) return;
    const ip = lease.attrs.PublicIP;
    const others = this.byPublicIp.get(ip)?.filter((k) => k !== key) ?? [];
    const keys = add ? others.concat(key) : others; // exact length: push() would reserve 17 slots
    if (keys.length > 0) this.byPublicIp.set(ip, keys);
    else this.byPublicIp.delete(ip);
  }

  private upsert(lease: Lease, out: LeaseEvent[]): void {
    const key = subnetKeyOf(lease.subnet);
    const old = this.known.get(key);
    this.index(key, old, false);
    this.index(key, lease, true);
    this.known.set(key, lease);
    if (!old) out.push({ type: 'added', lease });
    else if (!sameAttrs(old.attrs, lease.attrs)) out.push({ type: 'changed', lease });
  }

  private drop(key: string, out: LeaseEvent[]): void {
    const old = this.known.get(key);
    if (old) {
      this.index(key, old, false);
      this.known.delete(key);
      out.push({ type: 'removed', lease: old });
    }
  }

  /**
   * Drops the lease stored under an etcd key suffix as it came off the watch. Leases are known by
   * their canonical key, and the raw one may differ: flannel's dual-stack key
   * "10.5.1.0-24&fc00::-64" names the lease known as "10.5.1.0-24". A key that is no subnet key
   * names no known lease.
   */
  private dropRaw(rawKey: string, out: LeaseEvent[]): void {
    let subnet: Cidr;
    try {
      subnet = parseSubnetKey(rawKey);
    } catch {
      return;
    }
    this.drop(subnetKeyOf(subnet), out);
  }

  /**
   * Takes a snapshot (the one handed to startFrom, or a fresh listing) into the known set; returns
   * its revision and the events. A method of its own so that no suspended generator frame keeps the
   * snapshot (with its thousands of leases) alive after it has been taken in.
   */
  private async resync(): Promise<{ revision: bigint; events: LeaseEvent[] }> {
    const snap = this.initial ?? (await this.registry.listLeases());
    this.initial = null;
    const events: LeaseEvent[] = [];
    const seen = new Set<string>();
    for (const s of snap.skipped) this.accept(s);
    for (const l of snap.leases) {
      const ok = this.accept({ ok: true, lease: l });
      if (!ok) continue;
      seen.add(subnetKeyOf(ok.subnet));
      this.upsert(ok, events);
    }
    for (const key of [...this.known.keys()]) if (!seen.has(key)) this.drop(key, events);
    return { revision: snap.revision, events };
  }

  /** Notes the server a watch is confirmed on, and says so when it is another one. */
  private confirmed(servedBy: string): void {
    if (servedBy === this.servedBy) return;
    if (this.servedBy === null) this.log.info({ member: servedBy }, 'lease watch served by etcd member');
    else this.log.info({ member: servedBy, previous: this.servedBy }, 'lease watch moved to another etcd member');
    this.servedBy = servedBy;
  }

  /**
   * Yields batches of events until `signal` aborts; the first batch is the initial snapshot (may be
   * empty), taken from the snapshot handed to `startFrom` when there is one (a listing made moments
   * ago: the watch then replays everything after its revision) or listed now.
   */
  async *watch(signal: AbortSignal): AsyncIterable<LeaseEvent[]> {
    const backoff = new Backoff(250, 5000);
    let first = true;
    while (!signal.aborted) {
      let revision: bigint;
      try {
        const r = await this.resync();
        revision = r.revision;
        if (!this.wasResync) this.log.debug({ revision: String(revision), leases: this.known.size }, 'lease snapshot');
        else this.log.info({ revision: String(revision), leases: this.known.size, changes: r.events.length }, 'leases resynced');
        this.wasResync = false;
        if (r.events.length > 0 || first) yield r.events;
        first = false;
      } catch (e) {
        if (signal.aborted) break;
        this.log.warn({ err: describeError(e) }, 'cannot list leases, retrying');
        await sleep(backoff.next(), signal);
        continue;
      }
      try {
        for await (const batch of this.registry.watchLeases(revision, signal)) {
          // A watch in place completes the resync; so does any batch of changes.
          backoff.reset();
          if (batch.servedBy !== undefined) this.confirmed(batch.servedBy);
          const out: LeaseEvent[] = [];
          for (const ev of batch.events) {
            if (ev.type === 'delete') {
              this.dropRaw(ev.key, out);
              continue;
            }
            const lease = ev.decoded ? this.accept(ev.decoded) : null;
            if (lease) this.upsert(lease, out);
            else this.dropRaw(ev.key, out);
          }
          if (out.length > 0) yield out;
        }
      } catch (e) {
        if (signal.aborted) break;
        this.log.warn({ err: describeError(e) }, 'lease watch broken, resyncing');
        this.wasResync = true;
        await sleep(backoff.next(), signal);
      }
    }
  }
}

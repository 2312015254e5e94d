/**
 * The lease-event loop: every batch of lease changes from the LeaseWatcher is logged, checked for
 * our own lease (gone: take it back; overwritten with a value we did not write: write ours back,
 * see LeaseKeeper.reclaim), and followed by a reconcile pass, which reads the leases from the
 * watcher itself. After the first batch the daemon is ready: it says so in the log and to systemd.
 */
import { cidrEquals, formatCidr } from '../shared/ip/cidr.js';
import type { Logger } from './logger.js';
import { notifyReady } from './notify.js';
import type { Reconciler } from './reconciler.js';
import type { LeaseKeeper } from './subnet/lease-keeper.js';
import { sameAttrs } from './subnet/lease.js';
import type { LeaseEvent, LeaseWatcher } from './subnet/lease-watcher.js';

/** Batches up to this many lease events are logged event by event at info level. */
export const LOG_EACH_LEASE_MAX = 20;

/** What the loop works with. */
export interface LeaseSync {
  watcher: LeaseWatcher;
  reconciler: Reconciler;
  keeper: LeaseKeeper;
  log: Logger;
}

function countEvents(batch: readonly LeaseEvent[]): Record<string, number> {
  const n = { added: 0, changed: 0, removed: 0 };
  for (const ev of batch) n[ev.type]++;
  return n;
}

/** Runs until `signal` aborts. */
export async function syncLeases(o: LeaseSync, signal: AbortSignal): Promise<void> {
  let first = true;
  for await (const batch of o.watcher.watch(signal)) {
    const own = o.keeper.current.subnet;
    // A few events are logged one by one; a snapshot of thousands as one line (each at debug).
    const level = batch.length <= LOG_EACH_LEASE_MAX ? 'info' : 'debug';
    if (level === 'debug') o.log.info(countEvents(batch), 'leases changed');
    for (const ev of batch) {
      if (!cidrEquals(ev.lease.subnet, own)) {
        o.log[level]({ event: ev.type, subnet: formatCidr(ev.lease.subnet), publicIp: ev.lease.attrs.PublicIP }, 'lease ' + ev.type);
        continue;
      }
      if (ev.type === 'removed') void o.keeper.reacquire(signal);
      else if (!sameAttrs(ev.lease.attrs, o.keeper.current.attrs)) void o.keeper.reclaim(ev.lease, signal);
    }
    await o.reconciler.request();
    if (first) {
      first = false;
      o.log.info({ subnet: formatCidr(own), remote: o.watcher.remoteLeases().length }, 'ready');
      await notifyReady(o.log, `lease ${formatCidr(own)}`);
    }
  }
}

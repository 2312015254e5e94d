/**
 * Applies the releases the plugin queued on disk while the daemon was down or unreachable
 * (shared/protocol/pending-release.ts, CNI DEL must succeed regardless): at start, before the API
 * answers, and then every PENDING_POLL_MS.
 */
import { formatIp } from '../../shared/ip/cidr.js';
import { readPendingReleases } from '../../shared/protocol/pending-release.js';
import type { Logger } from '../logger.js';
import { sleep } from '../sleep.js';
import type { AddressAllocator } from './address-allocator.js';

/** How often the queue is looked at while the daemon runs. */
export const PENDING_POLL_MS = 2000;

/** Releases every queued attachment's address, and removes its file. */
export function applyPendingReleases(dataDir: string, ipam: AddressAllocator, log: Logger): void {
  for (const p of readPendingReleases(dataDir)) {
    const ip = ipam.release(p.attachment);
    p.remove();
    log.info({ ...p.attachment, address: ip === null ? null : formatIp(ip) }, 'queued release applied');
  }
}

/** Applies the queue every PENDING_POLL_MS until `signal` aborts. */
export async function pollPendingReleases(dataDir: string, ipam: AddressAllocator, log: Logger, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await sleep(PENDING_POLL_MS, signal);
    if (!signal.aborted) applyPendingReleases(dataDir, ipam, log);
  }
}

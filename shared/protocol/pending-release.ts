/**
 * Releases queued by the plugin while the daemon cannot be reached (CNI DEL must still succeed):
 * one small file per attachment, `<dataDir>/pending-releases/<hash>.json` (the attachment's hash,
 * so a lookup needs no listing), holding `{containerID, ifName}`, written atomically, mode 0600,
 * in a directory of mode 0700. The daemon applies and removes them (daemon/ipam/pending-releases.ts).
 *
 * A queued release frees only what the attachment held when it was queued: the daemon takes an
 * attachment's queued release before it allocates to it, so the file of a DEL that came before an
 * ADD is gone before that ADD's address exists, and a file the daemon finds later was written
 * after every allocation it could free.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { makeDirs, PRIVATE_DIR_MODE } from '../fs/state-dir.js';
import { attachmentHash } from '../net/attachment-hash.js';
import type { Attachment } from './api.js';

/** Default data dir (twilld --data-dir, plugin "dataDir"). */
export const DEFAULT_DATA_DIR = '/var/lib/twill';

/** The largest queued-release file the daemon reads. */
export const MAX_PENDING_RELEASE_BYTES = 4096;

/** The queue's directory. */
export function pendingDir(dataDir: string): string {
  return join(dataDir, 'pending-releases');
}

/** The file name of an attachment's queued release. */
export function pendingReleaseName(a: Attachment): string {
  return `${attachmentHash(a.containerID, a.ifName).slice(0, 32)}.json`;
}

/** Queues a release for the daemon (the data dir and the queue are made private when missing). */
export function queueRelease(dataDir: string, a: Attachment): void {
  makeDirs(dataDir, PRIVATE_DIR_MODE);
  const dir = pendingDir(dataDir);
  makeDirs(dir, PRIVATE_DIR_MODE);
  writeFileAtomic(join(dir, pendingReleaseName(a)), JSON.stringify({ containerID: a.containerID, ifName: a.ifName }), { mode: 0o600, fsync: true });
}

/**
 * The attachment a queued-release file names, or null when its text is not one, or it is not
 * stored under that attachment's name.
 */
export function parsePendingRelease(name: string, text: string): Attachment | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const o = v as Partial<Attachment> | null;
  if (typeof o !== 'object' || o === null || typeof o.containerID !== 'string' || typeof o.ifName !== 'string') return null;
  const a = { containerID: o.containerID, ifName: o.ifName };
  return pendingReleaseName(a) === name ? a : null;
}

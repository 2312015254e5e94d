/**
 * Releases queued by the plugin while the daemon is down (CNI DEL must still succeed): one small
 * file per attachment under `<dataDir>/pending-releases/`, written atomically; the daemon applies
 * and removes them when it is back.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { attachmentHash } from '../net/attachment-hash.js';
import type { Attachment } from './api.js';

/** Default data dir (twilld --data-dir, plugin "dataDir"). */
export const DEFAULT_DATA_DIR = '/var/lib/twill';

export function pendingDir(dataDir: string): string {
  return join(dataDir, 'pending-releases');
}

/** Queues a release for the daemon. */
export function queueRelease(dataDir: string, a: Attachment): void {
  const dir = pendingDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = attachmentHash(a.containerID, a.ifName).slice(0, 32);
  writeFileAtomic(join(dir, `${name}.json`), JSON.stringify({ containerID: a.containerID, ifName: a.ifName }), { mode: 0o600, fsync: true });
}

/** Reads every queued release; `remove` deletes one after it was applied. */
export function readPendingReleases(dataDir: string): Array<{ attachment: Attachment; remove: () => void }> {
  const dir = pendingDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return [];
  }
  const out: Array<{ attachment: Attachment; remove: () => void }> = [];
  for (const n of names) {
    const path = join(dir, n);
    try {
      const a = JSON.parse(readFileSync(path, 'utf8')) as Attachment;
      if (typeof a.containerID === 'string' && typeof a.ifName === 'string') {
        out.push({ attachment: { containerID: a.containerID, ifName: a.ifName }, remove: () => rmSync(path, { force: true }) });
        continue;
      }
    } catch { /* malformed: drop it below */ }
    rmSync(path, { force: true });
  }
  return out;
}

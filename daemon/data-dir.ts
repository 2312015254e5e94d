/**
 * The daemon's data dir (--data-dir): pod-address allocations (`ipam/`), the queue of releases
 * the plugin wrote (`pending-releases/`) and the backends' files (the VTEP MAC). All of it is
 * root's alone, whatever the umask the daemon was started with: the directories are made mode
 * 0700, and ones that group or others could write are made private again, loudly.
 */
import { ensurePrivateDir } from '../shared/fs/state-dir.js';
import { pendingDir } from '../shared/protocol/pending-release.js';
import { ipamDir } from './ipam/allocation-store.js';
import type { Logger } from './logger.js';

/** Makes the data dir and its directories private; throws UntrustedPathError for one of another user. */
export function prepareDataDir(dataDir: string, log: Logger): void {
  for (const dir of [dataDir, ipamDir(dataDir), pendingDir(dataDir)]) {
    if (ensurePrivateDir(dir)) log.warn({ dir }, 'group or others could write this directory of state: made private');
  }
}

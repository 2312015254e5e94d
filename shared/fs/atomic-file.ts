/**
 * Replaces a file atomically: the data goes to a temporary file beside it (`.<name>.<pid>`),
 * which is renamed over the target, so a reader sees the old file or the new one, never part of
 * one. The temporary name is created exclusively (after removing one a dead process with the
 * same pid left behind), so nothing already at that name, a symlink included, is written through.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** How the new file is written. */
export interface AtomicWriteOptions {
  /** Its permission bits, exactly (the umask does not apply). */
  mode: number;
  /**
   * Flush the data to disk before the rename, so that after a machine crash the file holds the
   * old data or the new, never nothing. Without it a crash of the process is still safe.
   */
  fsync: boolean;
}

/** Writes `data` to `path` atomically; the directory must exist. */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}`);
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', opts.mode);
  try {
    try {
      writeFileSync(fd, data);
      fchmodSync(fd, opts.mode);
      if (opts.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

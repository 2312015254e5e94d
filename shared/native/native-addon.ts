/**
 * Loads a native addon (.node) that is embedded in the single executable as a SEA asset
 * (scripts/build.mjs). dlopen needs a file, so the bytes go to an unnamed O_TMPFILE inode, loaded
 * through /proc/self/fd/N: nothing with a name is ever written, nothing is left behind. The
 * descriptor stays open for the life of the process (glibc keys loaded libraries by path, and a
 * reused /proc/self/fd/N path would return the first library). Directories that refuse O_TMPFILE
 * or are mounted noexec are skipped; the last resort is a named file, unlinked right after dlopen.
 * The bundler makes `koffi` this loader's result (scripts/bundle.mjs).
 */
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getRawAsset } from 'node:sea';

const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

function candidateDirs(): string[] {
  const dirs = [process.env['TWILL_NATIVE_TMPDIR'], '/dev/shm', '/run', tmpdir(), dirname(process.execPath)];
  return [...new Set(dirs.filter((d): d is string => Boolean(d)))];
}

function dlopen(path: string): unknown {
  const m = { exports: {} as unknown };
  process.dlopen(m, path);
  return m.exports;
}

/** Loads the addon stored as SEA asset `asset`; throws listing every directory tried. */
export function loadEmbeddedAddon(asset: string): unknown {
  const data = new Uint8Array(getRawAsset(asset) as ArrayBuffer);
  const errors: string[] = [];
  for (const dir of candidateDirs()) {
    let fd = -1;
    try {
      fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o700);
      writeSync(fd, data);
      return dlopen(`/proc/self/fd/${fd}`);
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      errors.push(`${dir}: ${(e as Error).message}`);
    }
  }
  for (const dir of candidateDirs()) {
    const file = join(dir, `.twill-${process.pid}-${asset}`);
    let created = false;
    try {
      const fd = openSync(file, 'wx', 0o700);
      created = true;
      try {
        writeSync(fd, data);
      } finally {
        closeSync(fd);
      }
      return dlopen(file);
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    } finally {
      if (created) unlinkSync(file); // also when writing or loading failed
    }
  }
  throw new Error(`cannot load the embedded native addon ${asset}: no writable, executable directory (set TWILL_NATIVE_TMPDIR): ${errors.join('; ')}`);
}

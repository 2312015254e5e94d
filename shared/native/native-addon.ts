/**
 * Loads a native addon (.node) that is embedded in the single executable as a SEA asset
 * (scripts/build.mjs). dlopen needs a file. First choice: a copy kept between runs in a root-only
 * cache directory (/run/twill/native; TWILL_NATIVE_CACHE names another, empty turns it off), named
 * by the library's SHA-256 from the build, so a pod's ADD does not write 1.1 MB each time (~1 ms).
 * The copy is used only when the directory and the file belong to this user and nobody else may
 * write them, and it is opened by descriptor, so the checked file is the one loaded. Otherwise
 * the bytes go to an unnamed O_TMPFILE inode, loaded
 * through /proc/self/fd/N: nothing with a name is ever written, nothing is left behind. The
 * descriptor stays open for the life of the process (glibc keys loaded libraries by path, and a
 * reused /proc/self/fd/N path would return the first library). Directories that refuse O_TMPFILE
 * or are mounted noexec are skipped; the last resort is a named file, unlinked right after dlopen.
 * The bundler makes `koffi` this loader's result (scripts/bundle.mjs).
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, type Stats, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getRawAsset } from 'node:sea';
import { writeFileAtomic } from '../fs/atomic-file.js';

const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

function candidateDirs(): string[] {
  // $TMPDIR or /tmp, as os.tmpdir() (node:os is not otherwise loaded by the plugin: ~0.3 ms).
  const dirs = [process.env['TWILL_NATIVE_TMPDIR'], '/dev/shm', '/run', process.env['TMPDIR'] || '/tmp', dirname(process.execPath)];
  return [...new Set(dirs.filter((d): d is string => Boolean(d)))];
}

function dlopen(path: string): unknown {
  const m = { exports: {} as unknown };
  process.dlopen(m, path);
  return m.exports;
}

/** Owned by this user, and nobody else may write it. */
function ownedAndPrivate(st: Stats): boolean {
  return st.uid === (process.geteuid?.() ?? 0) && (st.mode & 0o022) === 0;
}

/** Opens `path` read-only without following a symlink at its end; fstat of the result; null when absent. */
function openChecked(path: string, dir: boolean): { fd: number; st: Stats } | null {
  let fd = -1;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | (dir ? constants.O_DIRECTORY : 0));
    return { fd, st: fstatSync(fd) };
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * A path to a verified copy of `data` named `name` in the cache directory `dir` (written there
 * first when missing or unfit), as /proc/self/fd/N of an open descriptor; null when `dir` cannot
 * be trusted (not ours, writable by others, a symlink). Throws when it cannot be written.
 */
export function cachedCopy(dir: string, name: string, data: Uint8Array): string | null {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let d: { fd: number; st: Stats } | null;
  try {
    d = openChecked(dir, true);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') return null; // a symlink (O_NOFOLLOW)
    throw e;
  }
  if (!d) return null;
  try {
    if (!d.st.isDirectory() || !ownedAndPrivate(d.st)) return null;
    const at = `/proc/self/fd/${d.fd}`;
    for (let attempt = 0; ; attempt++) {
      const f = openChecked(`${at}/${name}`, false);
      if (f && f.st.isFile() && ownedAndPrivate(f.st) && f.st.size === data.byteLength) return `/proc/self/fd/${f.fd}`;
      if (f) closeSync(f.fd);
      if (attempt > 0) throw new Error(`${dir}/${name} does not hold the library after writing it`);
      // A reader sees no file or a whole one. Not flushed to disk: a copy cut short by a crash
      // has the wrong size and is replaced here.
      writeFileAtomic(`${at}/${name}`, data, { mode: 0o500, fsync: false });
    }
  } finally {
    closeSync(d.fd); // the library's own descriptor stays open (see above); the directory's need not
  }
}

/**
 * Loads the addon stored as SEA asset `asset` (`sha256`: its digest, from the build); throws
 * listing every directory tried.
 */
export function loadEmbeddedAddon(asset: string, sha256?: string): unknown {
  const data = new Uint8Array(getRawAsset(asset) as ArrayBuffer);
  const errors: string[] = [];
  const cacheDir = process.env['TWILL_NATIVE_CACHE'] ?? '/run/twill/native';
  if (sha256 && cacheDir) {
    try {
      const path = cachedCopy(cacheDir, `${sha256.slice(0, 16)}-${asset}`, data);
      if (path) return dlopen(path);
      errors.push(`${cacheDir}: not owned by this user or writable by others`);
    } catch (e) {
      errors.push(`${cacheDir}: ${(e as Error).message}`);
    }
  }
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

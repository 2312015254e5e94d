/**
 * Directories of state, made with exact modes whatever the process's umask (mkdir's mode is
 * masked by it, and `umask 000` would leave a plain mkdir world-writable), and the check that a
 * private one (the data dir and the directories in it) is root's or this user's alone.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UntrustedPathError } from '../errors.js';

/** The mode of a directory only its owner may enter (the data dir and those in it). */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates `path` with exactly `mode`, and its missing parents with exactly `parentMode`;
 * directories that exist are left as they are. Returns whether `path` was created.
 */
export function makeDirs(path: string, mode: number, parentMode = 0o755): boolean {
  try {
    statSync(path);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const parent = dirname(path);
  if (parent !== path) makeDirs(parent, parentMode, parentMode);
  try {
    mkdirSync(path, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false; // made by another process meanwhile
    throw e;
  }
  chmodSync(path, mode);
  return true;
}

/** Whether a file's owner and mode let only root or this process's user change it. */
export function writableOnlyByUs(st: { uid: number; mode: number }): boolean {
  return (st.uid === 0 || st.uid === (process.geteuid?.() ?? 0)) && (st.mode & 0o022) === 0;
}

/**
 * Makes sure `path` is a directory that only root or this user may write: created mode 0700 when
 * missing; one that group or others may write is made 0700 (one they may only read is left as
 * it is). Returns whether it had to change it. Throws UntrustedPathError for a directory of
 * another user, or something else than a directory.
 */
export function ensurePrivateDir(path: string): boolean {
  makeDirs(path, PRIVATE_DIR_MODE);
  const st = statSync(path);
  if (!st.isDirectory()) throw new UntrustedPathError(`${path} is not a directory`);
  const euid = process.geteuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== euid) {
    throw new UntrustedPathError(`${path} belongs to uid ${st.uid}, not to root or this user (uid ${euid})`, { hint: `chown root ${path}` });
  }
  if ((st.mode & 0o022) === 0) return false;
  chmodSync(path, PRIVATE_DIR_MODE);
  return true;
}

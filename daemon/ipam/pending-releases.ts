/**
 * The daemon's side of the releases the plugin queued on disk while the daemon could not be
 * reached (shared/protocol/pending-release.ts; CNI DEL must succeed regardless): all of them at
 * start, before the API answers, then every PENDING_POLL_MS, and an attachment's own one just
 * before that attachment gets an address (`takeFor`). That last one is what keeps a queued release
 * from ever freeing an address given after it was queued: a file that exists when an ADD arrives
 * was written before it, and is applied first; one that appears later was written after every
 * allocation it could free.
 *
 * Only files that root (or the daemon's own user) wrote and nobody else may change are applied:
 * anything else (another user's file, one group or others may write, a symlink, a file under
 * another attachment's name) is refused, logged once and left alone; so is the whole queue while
 * its directory is not private.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writableOnlyByUs } from '../../shared/fs/state-dir.js';
import { formatIp } from '../../shared/ip/cidr.js';
import type { Attachment } from '../../shared/protocol/api.js';
import { MAX_PENDING_RELEASE_BYTES, parsePendingRelease, pendingDir, pendingReleaseName } from '../../shared/protocol/pending-release.js';
import type { Logger } from '../logger.js';
import { sleep } from '../sleep.js';
import type { AddressAllocator } from './address-allocator.js';

/** How often the queue is looked at while the daemon runs. */
export const PENDING_POLL_MS = 2000;

/** Why a queued file or the queue's directory is not trusted, or null when it is. */
export function trustProblem(st: Pick<Stats, 'uid' | 'mode'> & { isFile(): boolean; isDirectory(): boolean }, kind: 'file' | 'directory'): string | null {
  if (kind === 'file' ? !st.isFile() : !st.isDirectory()) return `not a ${kind === 'file' ? 'regular file' : 'directory'}`;
  if (!writableOnlyByUs(st)) {
    return `owned by uid ${st.uid} with mode ${(st.mode & 0o777).toString(8)}: only root's (or the daemon's user's) that nobody else may write are trusted`;
  }
  return null;
}

/** The queue of releases in `<dataDir>/pending-releases/`, applied to an allocator. */
export class PendingReleases {
  private readonly dir: string;
  /** What was refused and logged already (name and identity), so that each is logged once. */
  private readonly refused = new Set<string>();

  constructor(dataDir: string, private readonly ipam: Pick<AddressAllocator, 'release'>, private readonly log: Logger) {
    this.dir = pendingDir(dataDir);
  }

  /** Applies every queued release. */
  applyAll(): void {
    if (!this.dirTrusted()) return;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const n of names) if (n.endsWith('.json') && !n.startsWith('.')) this.apply(n);
  }

  /** Applies the queued release of `a`, if there is one; called before `a` is given an address. */
  takeFor(a: Attachment): void {
    if (this.dirTrusted()) this.apply(pendingReleaseName(a));
  }

  /** Applies the queue every PENDING_POLL_MS until `signal` aborts. */
  async poll(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(PENDING_POLL_MS, signal);
      if (!signal.aborted) this.applyAll();
    }
  }

  private dirTrusted(): boolean {
    let st: Stats;
    try {
      st = lstatSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const problem = trustProblem(st, 'directory');
    if (problem) this.refuse('', st, `the queue's directory ${this.dir} is ${problem}`);
    return problem === null;
  }

  private refuse(name: string, st: Pick<Stats, 'ino' | 'ctimeMs'> | null, reason: string): void {
    const key = `${name}\u0000${st?.ino ?? ''}\u0000${st?.ctimeMs ?? ''}`;
    if (this.refused.has(key)) return;
    this.refused.add(key);
    this.log.warn({ file: name ? join(this.dir, name) : this.dir, reason }, 'queued release refused');
  }

  /** Reads, checks and applies one file; a file that is gone is fine. */
  private apply(name: string): void {
    const path = join(this.dir, name);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'ELOOP') return this.refuse(name, lstatSync(path, { throwIfNoEntry: false }) ?? null, 'a symbolic link');
      throw e;
    }
    let text: string | null = null;
    try {
      const st = fstatSync(fd);
      const problem = trustProblem(st, 'file');
      if (problem) return this.refuse(name, st, problem);
      if (st.size <= MAX_PENDING_RELEASE_BYTES) text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const a = text === null ? null : parsePendingRelease(name, text);
    if (a === null) {
      rmSync(path, { force: true });
      this.log.warn({ file: path }, 'queued release malformed or under another attachment\'s name; removed');
      return;
    }
    const ip = this.ipam.release(a);
    // Removed after the release. Should the plugin have queued the same attachment again since
    // the read, the file removed is that one: no allocation can happen in between, so it could
    // free only what this release freed.
    rmSync(path, { force: true });
    this.log.info({ ...a, address: ip === null ? null : formatIp(ip) }, 'queued release applied');
  }
}

/**
 * The executables' embedded native library (koffi): kept in the cache directory between runs;
 * and when neither the cache nor the usual directory can hold it: with
 * /dev/shm, /run and $TMPDIR mounted noexec the loader falls back to the executable's directory;
 * with that read-only as well, the command fails with a message naming every directory tried and
 * TWILL_NATIVE_TMPDIR, which then fixes it. Each case runs the plugin's DEL (which loads the
 * library) in a test network namespace and a private mount namespace (`unshare --mount`), so no
 * mount is seen outside it.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createNetns, deleteNetns, uniqueId } from '../helpers/netns.js';
import { PLUGIN_BIN } from '../helpers/paths.js';
import { runPlugin } from '../helpers/run-plugin.js';
import { NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS);

describe('embedded native library loader', { skip }, () => {
  let ns: string;
  let dir: string;
  let bin: string;
  let okDir: string;
  before(() => {
    ns = createNetns(`tw-${uniqueId()}-nl`);
    dir = mkdtempSync(join(tmpdir(), 'twill-native-'));
    okDir = mkdtempSync(join(tmpdir(), 'twill-native-ok-'));
    bin = join(dir, 'twill');
    copyFileSync(PLUGIN_BIN, bin);
  });
  after(() => {
    deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
    rmSync(okDir, { recursive: true, force: true });
  });

  /** DEL of an attachment that has nothing left (no daemon: the release is queued), after `mounts`. */
  function del(mounts: string, env: Record<string, string> = {}) {
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'twill', type: 'twill', socket: join(okDir, 'no-daemon.sock'), dataDir: join(okDir, 'data') });
    const script = `${mounts} exec "$0"`;
    return runPlugin({
      hostNs: ns,
      bin: 'unshare',
      env: { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'native-loader', CNI_IFNAME: 'eth0', CNI_NETNS: '', CNI_PATH: '/opt/cni/bin', ...env },
      stdin: conf,
      args: ['--mount', '--propagation', 'private', 'sh', '-c', script, bin],
    });
  }
  const noexec = 'mount -t tmpfs -o noexec tw-noexec /dev/shm && mount -t tmpfs -o noexec tw-noexec /run &&';
  const readOnlyDir = (): string => `mount --bind ${dir} ${dir} && mount -o remount,bind,ro ${dir} &&`;

  it('writes the library to the cache directory once and loads that copy afterwards', async () => {
    const cache = join(okDir, 'cache');
    const first = await del('', { TWILL_NATIVE_CACHE: cache });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const files = readdirSync(cache);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^[0-9a-f]{16}-koffi\.node$/, 'named by the library\'s digest');
    const st = statSync(join(cache, files[0]!));
    assert.equal(st.mode & 0o777, 0o500);
    assert.equal(statSync(cache).mode & 0o777, 0o700);
    const second = await del('', { TWILL_NATIVE_CACHE: cache });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(statSync(join(cache, files[0]!)).ino, st.ino, 'the second run loads the same file, not a new copy');
  });

  it('loads from the executable\'s directory when /dev/shm, /run and $TMPDIR are noexec', async () => {
    const r = await del(noexec, { TMPDIR: '/dev/shm' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.twill')), [], 'no named file left');
  });

  it('fails clearly when no directory will do, and TWILL_NATIVE_TMPDIR fixes it', async () => {
    const r = await del(`${noexec} ${readOnlyDir()}`, { TMPDIR: '/dev/shm' });
    assert.equal(r.code, 1);
    const msg = String(r.json?.['msg']) + String(r.json?.['details'] ?? '');
    assert.match(msg, /cannot load the embedded native addon koffi\.node: no writable, executable directory \(set TWILL_NATIVE_TMPDIR\)/);
    for (const d of ['/dev/shm', '/run', dir]) assert.ok(msg.includes(`${d}:`), `names ${d}: ${msg}`);
    const fixed = await del(`${noexec} ${readOnlyDir()}`, { TMPDIR: '/dev/shm', TWILL_NATIVE_TMPDIR: okDir });
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  });
});

/**
 * The cached copy of the embedded native library (shared/native/native-addon.ts cachedCopy): written
 * once, whole, read-only; reused by later runs; replaced when unfit; refused in a directory others
 * may write or that is a symlink. (Loading it is covered by every plugin and daemon test of the
 * built executables.)
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedCopy } from '../../shared/native/native-addon.js';

describe('native library cache', () => {
  const root = mkdtempSync(join(tmpdir(), 'twill-native-cache-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const data = new Uint8Array(Array.from({ length: 70_000 }, (_, i) => i % 251));

  it('writes the library once (owner read/execute only) and hands out the same file afterwards', () => {
    const dir = join(root, 'a', 'native');
    const first = cachedCopy(dir, 'abc-koffi.node', data);
    assert.match(String(first), /^\/proc\/self\/fd\/\d+$/);
    assert.deepEqual(new Uint8Array(readFileSync(first!)), data);
    const file = join(dir, 'abc-koffi.node');
    const st = statSync(file);
    assert.equal(st.mode & 0o777, 0o500);
    assert.equal(statSync(dir).mode & 0o777, 0o700, 'the directory is made private');
    const again = cachedCopy(dir, 'abc-koffi.node', data);
    assert.equal(statSync(file).ino, st.ino, 'not written again');
    assert.deepEqual(new Uint8Array(readFileSync(again!)), data);
    assert.deepEqual(readdirSync(dir), ['abc-koffi.node'], 'no temporary file left');
  });

  it('replaces a copy that is truncated or writable by others', () => {
    const dir = join(root, 'b');
    mkdirSync(dir, { mode: 0o700 });
    const file = join(dir, 'x-koffi.node');
    writeFileSync(file, data.subarray(0, 100), { mode: 0o500 });
    assert.deepEqual(new Uint8Array(readFileSync(cachedCopy(dir, 'x-koffi.node', data)!)), data);
    chmodSync(file, 0o666);
    const ino = statSync(file).ino;
    cachedCopy(dir, 'x-koffi.node', data);
    assert.notEqual(statSync(file).ino, ino, 'a file others may write is never loaded: it is replaced');
    assert.equal(statSync(file).mode & 0o777, 0o500);
  });

  it('is not blocked by a temporary file a dead process with the same pid left behind', () => {
    const dir = join(root, 'e');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, `.z-koffi.node.${process.pid}`), 'half', { mode: 0o500 });
    assert.deepEqual(new Uint8Array(readFileSync(cachedCopy(dir, 'z-koffi.node', data)!)), data);
    assert.deepEqual(readdirSync(dir), ['z-koffi.node']);
  });

  it('refuses a directory others may write, or a symlink to one', () => {
    const open = join(root, 'c');
    mkdirSync(open);
    chmodSync(open, 0o777);
    assert.equal(cachedCopy(open, 'y-koffi.node', data), null);
    assert.deepEqual(readdirSync(open), [], 'nothing written there');
    const link = join(root, 'd');
    const target = join(root, 'd-target');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, link);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(cachedCopy(link, 'y-koffi.node', data), null);
    assert.deepEqual(readdirSync(target), []);
  });
});

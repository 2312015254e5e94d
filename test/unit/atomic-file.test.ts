/** shared/fs/atomic-file.ts: the one atomic file writer of the daemon, the plugin and the native loader. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeFileAtomic } from '../../shared/fs/atomic-file.js';

describe('writeFileAtomic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-atomic-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces the file with exactly the mode asked for, whatever the umask, and leaves no temporary file', () => {
    const path = join(dir, 'a.json');
    writeFileSync(path, 'old');
    const old = process.umask(0o077);
    try {
      writeFileAtomic(path, 'new', { mode: 0o644, fsync: true });
    } finally {
      process.umask(old);
    }
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.equal(statSync(path).mode & 0o777, 0o644);
    writeFileAtomic(path, new Uint8Array([1, 2, 3]), { mode: 0o500, fsync: false });
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    assert.equal(statSync(path).mode & 0o777, 0o500);
    assert.deepEqual(readdirSync(dir), ['a.json']);
  });

  it('never writes through what is at the temporary name (a symlink left there)', () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'keep');
    symlinkSync(target, join(dir, `.b.json.${process.pid}`));
    writeFileAtomic(join(dir, 'b.json'), 'data', { mode: 0o600, fsync: false });
    assert.equal(readFileSync(target, 'utf8'), 'keep');
    assert.equal(readFileSync(join(dir, 'b.json'), 'utf8'), 'data');
  });

  it('removes its temporary file when the rename fails, and leaves the target as it was', () => {
    const blocked = join(dir, 'c.json');
    mkdirSync(join(blocked, 'inside'), { recursive: true }); // a directory in the way of the rename
    assert.throws(() => writeFileAtomic(blocked, 'y', { mode: 0o600, fsync: false }), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.ok(statSync(blocked).isDirectory());
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.c.json')), [], 'no temporary file left');
  });
});

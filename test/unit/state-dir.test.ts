/** shared/fs/state-dir.ts: directories of state with exact modes whatever the umask, and private ones kept private. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeSubnetFile } from '../../daemon/subnet-file.js';
import { UntrustedPathError } from '../../shared/errors.js';
import { ensurePrivateDir, makeDirs } from '../../shared/fs/state-dir.js';
import { parseCidr } from '../../shared/ip/cidr.js';

/** Runs `f` under `mask`, restoring the umask after. */
function underUmask<T>(mask: number, f: () => T): T {
  const old = process.umask(mask);
  try {
    return f();
  } finally {
    process.umask(old);
  }
}

describe('directories of state', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-state-dir-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

  it('are made with exactly their mode, parents too, under umask 000 and 077', () => {
    underUmask(0, () => assert.equal(makeDirs(join(dir, 'a', 'b', 'c'), 0o700), true));
    assert.deepEqual([mode(join(dir, 'a')), mode(join(dir, 'a', 'b')), mode(join(dir, 'a', 'b', 'c'))], ['755', '755', '700']);
    underUmask(0o077, () => makeDirs(join(dir, 'd'), 0o755));
    assert.equal(mode(join(dir, 'd')), '755');
    assert.equal(makeDirs(join(dir, 'd'), 0o700), false, 'one that exists is left alone');
    assert.equal(mode(join(dir, 'd')), '755');
  });

  it('a private one is made 0700 when group or others may write it, and left when they may only read it', () => {
    const p = join(dir, 'private');
    underUmask(0, () => assert.equal(ensurePrivateDir(p), false));
    assert.equal(mode(p), '700');
    chmodSync(p, 0o777);
    assert.equal(ensurePrivateDir(p), true);
    assert.equal(mode(p), '700');
    chmodSync(p, 0o755);
    assert.equal(ensurePrivateDir(p), false);
    assert.equal(mode(p), '755');
    const file = join(dir, 'file');
    writeFileSync(file, '');
    assert.throws(() => ensurePrivateDir(file), UntrustedPathError);
  });

  it('subnet.env and its new directory have their modes under umask 000', () => {
    const path = join(dir, 'run', 'flannel', 'subnet.env');
    mkdirSync(join(dir, 'run'));
    underUmask(0, () => writeSubnetFile(path, { network: parseCidr('10.5.0.0/16'), subnet: parseCidr('10.5.34.0/24'), mtu: 1450, ipMasq: false }));
    assert.deepEqual([mode(join(dir, 'run', 'flannel')), mode(path)], ['755', '644']);
  });
});

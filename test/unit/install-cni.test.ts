/** `twilld install-cni` with the built executables into temporary directories. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DAEMON_BIN, PLUGIN_BIN } from '../helpers/paths.js';
import { confText } from '../helpers/repo.js';

describe('twilld install-cni', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-install-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const install = (...extra: string[]) => execFileSync(DAEMON_BIN, ['install-cni', '--plugin', PLUGIN_BIN, '--bin-dir', join(dir, 'bin'), '--conf-dir', join(dir, 'net.d'), ...extra], { encoding: 'utf8' });

  it('copies the plugin and writes the conflist, then changes nothing the second time', () => {
    assert.match(install(), /installed .*bin\/twill\nwritten .*net\.d\/10-twill\.conflist/);
    assert.ok(readFileSync(join(dir, 'bin', 'twill')).equals(readFileSync(PLUGIN_BIN)));
    assert.equal(statSync(join(dir, 'bin', 'twill')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(dir, 'net.d', '10-twill.conflist'), 'utf8'), confText('10-twill.conflist'));
    assert.match(install(), /unchanged .*twill\nunchanged .*10-twill\.conflist/);
    assert.deepEqual(readdirSync(join(dir, 'net.d')), ['10-twill.conflist'], 'no temp files left');
  });

  it('the installed plugin runs with no environment from an empty directory', () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const out = execFileSync('env', ['-i', 'CNI_COMMAND=VERSION', join(dir, 'bin', 'twill')], { cwd: empty, encoding: 'utf8', input: '{"cniVersion":"1.1.0"}' });
    assert.equal(JSON.parse(out).cniVersion, '1.1.0');
  });

  it('refuses a conflist without a twill plugin, naming the problem', () => {
    const bad = join(dir, 'bad.conflist');
    writeFileSync(bad, '{"name":"x","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}');
    assert.throws(() => install('--conflist', bad, '--conf-name', 'other.conflist'), /has no plugin of type "twill"/);
    assert.deepEqual(readdirSync(join(dir, 'net.d')), ['10-twill.conflist']);
  });
});

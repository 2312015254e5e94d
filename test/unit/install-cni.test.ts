/** `twilld install-cni` with the built executables into temporary directories. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DAEMON_BIN, PLUGIN_BIN, REF_PLUGINS } from '../helpers/paths.js';
import { confText } from '../helpers/repo.js';
import { PORTMAP, skipUnless } from '../helpers/require.js';

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

  describe('the conflist\'s versions, from what the plugins in the bin dir speak', () => {
    const OLD_SHIPPED = '{"name":"twill","cniVersion":"1.0.0","cniVersions":["1.0.0","1.1.0"],"plugins":[{"type":"twill"},{"type":"portmap","capabilities":{"portMappings":true}}]}';
    /** A fresh bin dir with `plugins` (type → file to copy, or a VERSION answer), install-cni run into it. */
    const installWith = (plugins: Record<string, string | { answer: string; status?: number }>, ...extra: string[]) => {
      const root = mkdtempSync(join(dir, 'v-'));
      mkdirSync(join(root, 'bin'));
      for (const [type, p] of Object.entries(plugins)) {
        if (typeof p === 'string') copyFileSync(p, join(root, 'bin', type));
        else writeFileSync(join(root, 'bin', type), `#!/bin/sh\necho '${p.answer}'\nexit ${p.status ?? 0}\n`, { mode: 0o755 });
      }
      const r = spawnSync(DAEMON_BIN, ['install-cni', '--plugin', PLUGIN_BIN, '--bin-dir', join(root, 'bin'), '--conf-dir', join(root, 'net.d'), ...extra], { encoding: 'utf8' });
      let written: string | undefined;
      try {
        written = readFileSync(join(root, 'net.d', '10-twill.conflist'), 'utf8');
      } catch { /* none written */ }
      return { ...r, written, conf: written === undefined ? undefined : JSON.parse(written) as { cniVersion: string; cniVersions?: string[] } };
    };
    const speaks = (...versions: string[]) => ({ answer: JSON.stringify({ cniVersion: versions.at(-1), supportedVersions: versions }) });

    it('with the portmap of a distribution (Debian 12: up to 1.0.0): the shipped conflist, at 1.0.0, also from one asking for 1.1.0', { skip: skipUnless(PORTMAP) }, () => {
      const r = installWith({ portmap: join(REF_PLUGINS, 'portmap') });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.written, confText('10-twill.conflist'));
      assert.match(r.stdout, /CNI version 1\.0\.0 \(cniVersion 1\.0\.0\): spoken by twill, portmap/);
      assert.equal(r.stderr, '');
      const old = join(dir, 'old-shipped.conflist');
      writeFileSync(old, OLD_SHIPPED);
      const fixed = installWith({ portmap: join(REF_PLUGINS, 'portmap') }, '--conflist', old);
      assert.equal(fixed.status, 0, fixed.stderr);
      assert.deepEqual([fixed.conf?.cniVersion, fixed.conf?.cniVersions], ['1.0.0', undefined]);
    });

    it('with a portmap that speaks 1.1.0: cniVersion 1.0.0 for older runtimes and cniVersions up to 1.1.0', () => {
      const r = installWith({ portmap: speaks('0.4.0', '1.0.0', '1.1.0') });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual([r.conf?.cniVersion, r.conf?.cniVersions], ['1.0.0', ['1.0.0', '1.1.0']]);
      assert.match(r.stdout, /CNI version 1\.1\.0 \(cniVersion 1\.0\.0, cniVersions 1\.0\.0 1\.1\.0\)/);
    });

    it('looks in --cni-path for the chained plugins', { skip: skipUnless(PORTMAP) }, () => {
      const r = installWith({}, '--cni-path', `${join(dir, 'nowhere')}:${REF_PLUGINS}`);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '', 'portmap found in the second directory');
      assert.deepEqual([r.conf?.cniVersion, r.conf?.cniVersions], ['1.0.0', undefined]);
    });

    it('warns, naming it, about a chained plugin that is missing or does not answer VERSION, and keeps cniVersion', () => {
      const missing = installWith({});
      assert.equal(missing.status, 0, missing.stderr);
      assert.match(missing.stderr, /^warning: plugin portmap of the conflist is not in .*\/bin: install it there/m);
      assert.equal(missing.written, confText('10-twill.conflist'));
      const silent = installWith({ portmap: { answer: 'no', status: 3 } });
      assert.equal(silent.status, 0, silent.stderr);
      assert.match(silent.stderr, /^warning: plugin portmap \(.*\/bin\/portmap\) cannot tell which CNI versions it speaks: VERSION failed \(exit status 3\)/m);
      assert.deepEqual([silent.conf?.cniVersion, silent.conf?.cniVersions], ['1.0.0', undefined]);
    });

    it('refuses a chain with no common version, or a plugin type that is not a file name, and writes nothing', () => {
      const none = installWith({ portmap: speaks('2.0.0') });
      assert.notEqual(none.status, 0);
      assert.match(none.stderr, /no CNI version is spoken by every plugin of the conflist: twill \[.*\], portmap \[2\.0\.0\]/);
      assert.equal(none.written, undefined);
      const bad = join(dir, 'bad-type.conflist');
      writeFileSync(bad, '{"name":"x","cniVersion":"1.0.0","plugins":[{"type":"twill"},{"type":"../../bin/sh"}]}');
      const r = installWith({}, '--conflist', bad);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /plugins\[1\]\.type "\.\.\/\.\.\/bin\/sh" is not the file name of a plugin/);
      assert.equal(r.written, undefined);
    });
  });
});

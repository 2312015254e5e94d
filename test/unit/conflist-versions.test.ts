/**
 * The versions install-cni writes into a conflist, from what its plugins speak: what each libcni
 * generation then gives the plugins must be a version every one of them speaks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { askedVersions, chooseConflistVersions, newestUsed, withConflistVersions, type PluginVersions } from '../../daemon/cli/conflist-versions.js';
import { InvalidConfigError } from '../../shared/errors.js';
import { libcniVersion, type Conflist } from '../helpers/libcni.js';

const TWILL = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
/** Debian 12's portmap (containernetworking-plugins 1.1.1). */
const DEBIAN_PORTMAP = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];
/** A portmap built with libcni 1.2 or later. */
const NEWER_PORTMAP = [...DEBIAN_PORTMAP, '1.1.0'];
const twill: PluginVersions = { type: 'twill', versions: TWILL };
const portmap = (versions: readonly string[] | null): PluginVersions => ({ type: 'portmap', versions });

describe('the conflist versions install-cni chooses', () => {
  it('Debian\'s portmap: cniVersion 1.0.0 and no cniVersions, also when the conflist asked for 1.1.0', () => {
    assert.deepEqual(chooseConflistVersions({ cniVersion: '1.0.0' }, [twill, portmap(DEBIAN_PORTMAP)]), { cniVersion: '1.0.0' });
    assert.deepEqual(chooseConflistVersions({ cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] }, [twill, portmap(DEBIAN_PORTMAP)]), { cniVersion: '1.0.0' });
  });
  it('a portmap that speaks 1.1.0: cniVersion stays 1.0.0 for older runtimes, cniVersions reaches 1.1.0 for libcni 1.2 and later', () => {
    const v = chooseConflistVersions({ cniVersion: '1.0.0' }, [twill, portmap(NEWER_PORTMAP)]);
    assert.deepEqual(v, { cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] });
    assert.equal(newestUsed(v), '1.1.0');
  });
  it('never raises cniVersion (an older runtime reads only it), but offers the later versions in cniVersions', () => {
    assert.deepEqual(chooseConflistVersions({ cniVersion: '0.4.0' }, [twill, portmap(NEWER_PORTMAP)]), { cniVersion: '0.4.0', cniVersions: ['0.4.0', '1.0.0', '1.1.0'] });
    assert.deepEqual(chooseConflistVersions({}, [twill, portmap(NEWER_PORTMAP)]), { cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] }, 'no cniVersion: up to 1.0.0');
  });
  it('lowers cniVersion to what an old chained plugin speaks', () => {
    assert.deepEqual(chooseConflistVersions({ cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] }, [twill, portmap(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0'])]), { cniVersion: '0.4.0' });
  });
  it('keeps within the conflist\'s own cniVersions', () => {
    assert.deepEqual(chooseConflistVersions({ cniVersion: '1.0.0', cniVersions: ['1.0.0'] }, [twill, portmap(NEWER_PORTMAP)]), { cniVersion: '1.0.0' });
  });
  it('counts a missing or silent plugin as speaking up to the conflist\'s cniVersion', () => {
    assert.deepEqual(chooseConflistVersions({ cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] }, [twill, portmap(null)]), { cniVersion: '1.0.0' });
    assert.deepEqual(chooseConflistVersions({ cniVersion: '0.3.1' }, [twill, portmap(null), { type: 'tuning', versions: NEWER_PORTMAP }]), { cniVersion: '0.3.1' });
  });
  it('asks every chained plugin: the lowest top wins', () => {
    assert.deepEqual(chooseConflistVersions({ cniVersion: '1.0.0' }, [twill, portmap(NEWER_PORTMAP), { type: 'bandwidth', versions: DEBIAN_PORTMAP }]), { cniVersion: '1.0.0' });
  });
  it('refuses when no version is spoken by all, naming each plugin\'s versions', () => {
    assert.throws(() => chooseConflistVersions({ cniVersion: '1.0.0' }, [twill, portmap(['2.0.0'])]),
      (e: unknown) => e instanceof InvalidConfigError && /no CNI version is spoken by every plugin.*twill \[0\.1\.0 .*1\.1\.0\], portmap \[2\.0\.0\]/.test(e.message));
  });
  it('checks the versions a conflist asks for', () => {
    assert.deepEqual(askedVersions({ cniVersion: '1.0.0', cniVersions: ['1.1.0'] }), { cniVersion: '1.0.0', cniVersions: ['1.1.0'] });
    assert.throws(() => askedVersions({ cniVersion: 1 }), /cniVersion 1 is not a version/);
    assert.throws(() => askedVersions({ cniVersions: '1.1.0' }), /cniVersions "1\.1\.0" is not a list/);
    assert.throws(() => askedVersions({ cniVersions: ['1.1'] }), /cniVersions \["1\.1"\]/);
  });
  it('what each libcni generation then gives the plugins is a version all of them speak', () => {
    const cases: Array<[{ cniVersion?: string; cniVersions?: string[] }, readonly string[]]> = [
      [{ cniVersion: '1.0.0' }, DEBIAN_PORTMAP], [{ cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] }, DEBIAN_PORTMAP],
      [{ cniVersion: '1.0.0' }, NEWER_PORTMAP], [{ cniVersion: '0.4.0' }, NEWER_PORTMAP], [{ cniVersion: '1.0.0' }, ['0.3.1', '0.4.0']],
    ];
    for (const [asked, pm] of cases) {
      const v = chooseConflistVersions(asked, [twill, portmap(pm)]);
      const list: Conflist = { name: 'twill', ...v, plugins: [] };
      for (const generation of ['1.1', '1.2'] as const) {
        const given = libcniVersion(list, generation);
        assert.ok(TWILL.includes(given) && pm.includes(given), `${JSON.stringify(asked)} with portmap [${pm.join(' ')}]: libcni ${generation} gives ${given}`);
      }
    }
  });
});

describe('writing the versions into the conflist', () => {
  const text = '{\n  "name": "twill",\n  "cniVersion": "1.0.0",\n  "cniVersions": [\n    "1.0.0",\n    "1.1.0"\n  ],\n  "plugins": []\n}\n';
  it('leaves the text alone when nothing changes', () => {
    assert.equal(withConflistVersions(text, { cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] }), text);
  });
  it('drops cniVersions, or puts it right after cniVersion (or name)', () => {
    assert.equal(withConflistVersions(text, { cniVersion: '1.0.0' }), '{\n  "name": "twill",\n  "cniVersion": "1.0.0",\n  "plugins": []\n}\n');
    assert.deepEqual(Object.keys(JSON.parse(withConflistVersions('{"name":"x","plugins":[]}', { cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] })) as object), ['name', 'cniVersion', 'cniVersions', 'plugins']);
    assert.deepEqual(Object.keys(JSON.parse(withConflistVersions('{"plugins":[],"cniVersion":"0.4.0","name":"x"}', { cniVersion: '0.4.0', cniVersions: ['0.4.0', '1.0.0'] })) as object), ['plugins', 'cniVersion', 'cniVersions', 'name']);
  });
});

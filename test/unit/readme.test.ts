/** The README's reference tables are checked against the code, so they cannot drift. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BACKENDS } from '../../daemon/backend/backends.js';
import { daemonFlags } from '../../daemon/options.js';
import { pluginConfSchema } from '../../plugin/plugin-conf-schema.js';
import { CNI_ERR } from '../../plugin/cni/cni-error.js';
import { REPO } from '../helpers/repo.js';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const row = (name: string): string | undefined => readme.split('\n').find((l) => l.startsWith(`| \`${name}\``));

describe('README', () => {
  it('documents every twilld flag with its default', () => {
    for (const [name, def] of Object.entries(daemonFlags)) {
      const r = row(`--${name}`);
      assert.ok(r, `--${name} has a row`);
      const d = (def as { default?: unknown }).default;
      if (d !== undefined && !(Array.isArray(d) && d.length === 0)) assert.ok(r.includes(`\`${String(d)}\``), `--${name} default ${String(d)} in: ${r}`);
    }
  });
  it('documents every plugin config field with its default', () => {
    for (const [name, s] of Object.entries(pluginConfSchema.properties)) {
      if (['cniVersion', 'name', 'type', 'runtimeConfig', 'args', 'prevResult'].includes(name) || name.startsWith('cni.dev/')) continue;
      const r = row(name);
      assert.ok(r, `${name} has a row`);
      assert.ok(r.includes(`\`${String((s as { default?: unknown }).default)}\``), `${name} default in: ${r}`);
    }
  });
  it('documents every backend and each of its config fields with its default', () => {
    const types = row('Backend.Type');
    assert.ok(types, 'Backend.Type has a row');
    for (const b of BACKENDS) {
      assert.ok(types.includes(`\`${b.type}\``), `Backend.Type lists ${b.type}`);
      for (const [field, s] of Object.entries(b.schema.properties)) {
        if (field === 'Type') continue;
        const r = readme.split('\n').find((l) => l.startsWith(`| \`Backend.${field}\` (${b.type}) |`));
        assert.ok(r, `Backend.${field} (${b.type}) has a row`);
        const def = (s as { default?: unknown }).default;
        if (def !== undefined) assert.ok(r.includes(`\`${String(def)}\``), `Backend.${field} (${b.type}) default ${String(def)} in: ${r}`);
      }
    }
  });
  it('lists every CNI error code twill uses', () => {
    for (const [name, code] of Object.entries(CNI_ERR)) assert.match(readme, new RegExp(`\\b${code}\\b`), name);
  });
  it('shows the two quick-start commands that package.json defines', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.ok(pkg.scripts['demo'] && pkg.scripts['test']);
    assert.match(readme, /^npm run demo/m);
    assert.match(readme, /^npm test/m);
  });
});

/** Both programs say which version they are: `twilld --version`, and `twill` run without CNI_COMMAND. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSkel, type PluginFuncs } from '../../plugin/skel.js';
import { VERSION } from '../../shared/version.js';
import { REPO } from '../helpers/repo.js';

describe('version', () => {
  it('is package.json\'s version, with the git commit of the build when it has one', () => {
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.match(VERSION, new RegExp(`^${version.replace(/\./g, '\\.')}( \\(commit [0-9a-f]{4,}\\))?$`));
  });
  it('is in the plugin\'s about text (no CNI_COMMAND)', async () => {
    let err = '';
    const code = await runSkel({} as PluginFuncs, { env: {}, readStdin: async () => Buffer.alloc(0), stdout: () => undefined, stderr: (t) => (err += t) });
    assert.equal(code, 0);
    assert.ok(err.includes(`twill CNI plugin ${VERSION}`), err);
  });
});

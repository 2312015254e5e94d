/**
 * The build prints no wall of postject warnings: scripts/sea-noise.cjs names the lines that
 * injecting the SEA blob always prints (LIEF's notes about Node's ELF sections, Node's "Wrote
 * single executable preparation blob") and drops exactly those; anything else still shows.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DIST } from '../helpers/paths.js';

const require = createRequire(import.meta.url);
const { dropNoise } = require(join(DIST, '..', 'scripts', 'sea-noise.cjs')) as { dropNoise(text: string): string };

describe('scripts/sea-noise.cjs', () => {
  it('drops the lines every injection prints and keeps everything else', () => {
    const noise = [
      "warning: Can't find string offset for section name '.note.100'",
      "warning: Can't find string offset for section name '.note'",
      'Wrote single executable preparation blob to /tmp/twill-sea-CPuvIi/sea-prep.blob',
    ];
    assert.equal(dropNoise(noise.join('\n') + '\n'), '');
    const real = 'Error: Could not find the sentinel NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 in the binary';
    assert.equal(dropNoise([noise[0], real, noise[2]].join('\n') + '\n'), real + '\n');
    assert.equal(dropNoise('warning: something new\n'), 'warning: something new\n');
  });
});

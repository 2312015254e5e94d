import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const lifecycle = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'daemon', 'lifecycle.js')).href;
const logger = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'daemon', 'logger.js')).href;

function child(script: string) {
  const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (b: Buffer) => (out += b.toString()));
  c.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
  return { c, exit, out: () => out };
}

describe('lifecycle signals', () => {
  it('aborts the root signal on the first SIGTERM and exits 1 at once on a second', async () => {
    const p = child(`import { installSignalHandlers } from '${lifecycle}'; import { createLogger } from '${logger}';
      const s = installSignalHandlers(createLogger({ dest: 1 })); s.addEventListener('abort', () => console.log('ABORTED'));
      console.log('READY'); setInterval(() => {}, 1000);`);
    while (!p.out().includes('READY')) await delay(20);
    p.c.kill('SIGTERM');
    while (!p.out().includes('ABORTED')) await delay(20);
    p.c.kill('SIGTERM');
    assert.equal(await p.exit, 1);
    assert.match(p.out(), /second signal, exiting now/);
  });
});

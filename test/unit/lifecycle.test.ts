import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { until } from '../helpers/wait.js';

const lifecycle = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'daemon', 'lifecycle.js')).href;
const logger = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'daemon', 'logger.js')).href;

function child(script: string) {
  const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (b: Buffer) => (out += b.toString()));
  c.stderr.on('data', (b: Buffer) => (out += b.toString()));
  let exited = false;
  const exit = new Promise<number | null>((r) => c.on('exit', (code) => ((exited = true), r(code))));
  /** Waits until the child has printed `text`; fails at once if it exits first, and after 10 s. */
  const printed = (text: string) => until(`the child to print ${text}`, () => {
    if (out.includes(text)) return true;
    if (exited) throw new Error(`the child exited before printing ${text}:\n${out}`);
    return false;
  }, 10_000);
  return { c, exit, out: () => out, printed };
}

describe('lifecycle signals', () => {
  it('aborts the root signal on the first SIGTERM and exits 1 at once on a second', async () => {
    const p = child(`import { installSignalHandlers } from '${lifecycle}'; import { createLogger } from '${logger}';
      const s = installSignalHandlers(createLogger({ dest: 1 })); s.addEventListener('abort', () => console.log('ABORTED'));
      console.log('READY'); setInterval(() => {}, 1000);`);
    await p.printed('READY');
    p.c.kill('SIGTERM');
    await p.printed('ABORTED');
    p.c.kill('SIGTERM');
    assert.equal(await p.exit, 1);
    assert.match(p.out(), /second signal, exiting now/);
  });
  it('exits with the given status once stopped, whatever still holds the event loop', async () => {
    const p = child(`import { exitStopped } from '${lifecycle}'; import { createLogger } from '${logger}';
      const log = createLogger({ dest: 1 }); setInterval(() => {}, 1000); // as a pending etcd connect would
      log.info('STOPPED'); exitStopped(log, 3);`);
    assert.equal(await p.exit, 3);
    assert.match(p.out(), /STOPPED/, 'the log was flushed first');
  });
});

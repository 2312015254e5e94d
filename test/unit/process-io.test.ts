/**
 * The plugin's standard I/O with plain system calls: stdin read whole from a pipe that delivers in
 * parts, from a non-blocking pipe (EAGAIN is waited out, not taken as the end), and nothing from a
 * character device (/dev/null, /dev/zero, a terminal);
 * the answer written exactly. Each case runs processIo in a child process with that stdin.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const IO = fileURLToPath(new URL('../../plugin/process-io.js', import.meta.url));
const SCRIPT = `import { processIo } from ${JSON.stringify(IO)};
const io = processIo();
const b = await io.readStdin();
io.stdout(JSON.stringify({ n: b.length, text: b.toString() }) + '\\n');`;
const NONBLOCK = 'import fcntl, os, sys\nfcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK)\nos.execvp(sys.argv[1], sys.argv[1:])';

/** Runs the script with stdin fed by `feed` (parts written 150 ms apart) or from `stdinFd`. */
function run(o: { feed?: string[]; stdinFd?: number; nonBlocking?: boolean }): Promise<{ code: number | null; out: string }> {
  const node = [process.execPath, '--input-type=module', '-e', SCRIPT];
  const [file, args] = o.nonBlocking ? ['python3', ['-c', NONBLOCK, ...node]] : [node[0]!, node.slice(1)];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [o.stdinFd ?? 'pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    if (o.feed) {
      const parts = [...o.feed];
      const next = (): void => {
        const p = parts.shift();
        if (p === undefined) return void child.stdin!.end();
        child.stdin!.write(p);
        setTimeout(next, 150);
      };
      setTimeout(next, 150);
    }
  });
}

describe('plugin standard I/O', () => {
  it('reads stdin to its end across separate writes, and writes the answer whole', async () => {
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'n', pad: 'é'.repeat(40_000) });
    const r = await run({ feed: [conf.slice(0, 1000), conf.slice(1000)] });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), { n: Buffer.byteLength(conf), text: conf });
  });

  it('reads nothing from a character device: /dev/null, /dev/zero (endless), a terminal (would wait)', { timeout: 20_000 }, async () => {
    for (const dev of ['/dev/null', '/dev/zero']) {
      const fd = openSync(dev, 'r');
      try {
        const r = await run({ stdinFd: fd });
        assert.deepEqual(JSON.parse(r.out), { n: 0, text: '' }, dev);
      } finally {
        closeSync(fd);
      }
    }
    // script(1) runs the script with a new pseudo-terminal as its stdin, which nobody types into.
    const cmd = [process.execPath, '--input-type=module', '-e', SCRIPT].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const out = execFileSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'inherit'] });
    assert.deepEqual(JSON.parse(out.slice(out.indexOf('{'))), { n: 0, text: '' }, 'a terminal');
  });

  it('waits out EAGAIN on a non-blocking stdin instead of taking it as the end', async () => {
    const r = await run({ feed: ['{"cniVersion":', '"1.0.0"}'], nonBlocking: true });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), { n: 22, text: '{"cniVersion":"1.0.0"}' });
  });
});

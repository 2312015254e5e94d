/**
 * The real process's environment and standard streams, for the dispatcher. Stdin is read and the
 * answer written with plain system calls on fds 0 and 1: process.stdin/stdout would build Node
 * streams (and load the net module) on every pod's start, ~3 ms here; so would node:tty's isatty.
 * Stdin is read up to a limit. A character device on stdin (a terminal, /dev/null, /dev/zero)
 * counts as no input: a runtime hands the config over in a pipe or a file, and someone running
 * the plugin by hand at a terminal gets an answer instead of a read that waits for them.
 */
import { fstatSync, readSync, writeSync } from 'node:fs';
import type { PluginIo } from './skel.js';
import { MAX_STDIN_BYTES } from './skel.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Retries a system call that a non-blocking descriptor answered with EAGAIN (1 ms apart). */
function retrying<T>(f: () => T): T {
  for (;;) {
    try {
      return f();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function readStdin(): Buffer {
  if (fstatSync(0).isCharacterDevice()) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const buf = Buffer.allocUnsafe(64 * 1024);
  while (size <= MAX_STDIN_BYTES) {
    const n = retrying(() => readSync(0, buf, 0, buf.length, null));
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    size += n;
  }
  return Buffer.concat(chunks);
}

function writeAll(fd: number, text: string): void {
  const b = Buffer.from(text);
  for (let off = 0; off < b.length;) off += retrying(() => writeSync(fd, b, off));
}

export function processIo(): PluginIo {
  return {
    env: process.env,
    readStdin: async () => readStdin(),
    stdout: (t) => writeAll(1, t),
    stderr: (t) => writeAll(2, t),
  };
}

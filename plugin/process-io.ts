/** The real process's environment and streams, for the dispatcher. Stdin is read up to a limit. */
import type { PluginIo } from './skel.js';
import { MAX_STDIN_BYTES } from './skel.js';

export function processIo(): PluginIo {
  return {
    env: process.env,
    readStdin: () =>
      new Promise((resolve, reject) => {
        if (process.stdin.isTTY) return resolve(Buffer.alloc(0));
        const chunks: Buffer[] = [];
        let size = 0;
        process.stdin.on('data', (c: Buffer) => {
          size += c.length;
          chunks.push(c);
          if (size > MAX_STDIN_BYTES) {
            process.stdin.destroy();
            resolve(Buffer.concat(chunks));
          }
        });
        process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
        process.stdin.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EAGAIN' ? resolve(Buffer.alloc(0)) : reject(e)));
      }),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  };
}

/** A logger for tests: silent, or collecting lines when `lines` is given. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../daemon/logger.js';

export function testLogger(lines?: Array<Record<string, unknown>>): Logger {
  if (!lines) return pino({ level: 'silent' });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return pino({ level: 'debug' }, sink);
}

/**
 * Structured logging: one JSON object per line (pino), one child logger per component.
 * Secrets never reach a log line: fields named like passwords are redacted.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Creates the root logger writing synchronously to stderr (or `dest`, a file descriptor). */
export function createLogger(opts: { level?: string; dest?: number } = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env['TWILLD_LOG_LEVEL'] ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'etcdPassword', '*.etcdPassword', 'opts.etcdPassword'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: opts.dest ?? 2, sync: true }),
  );
}

/**
 * Signals and shutdown: the first SIGTERM/SIGINT aborts the root signal (graceful stop, lease
 * kept); a second one exits at once with status 1. A deadline bounds the graceful stop, and the
 * process ends as soon as the daemon has stopped, whatever a library still holds open.
 */
import type { Logger } from './logger.js';

export const SHUTDOWN_DEADLINE_MS = 10_000;

/** Returns the root AbortSignal, aborted on the first SIGINT/SIGTERM. */
export function installSignalHandlers(log: Logger): AbortSignal {
  const ac = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1) {
      log.warn({ signal: sig }, 'second signal, exiting now');
      process.exit(1);
    }
    log.info({ signal: sig }, 'shutting down');
    ac.abort();
    setTimeout(() => {
      log.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown deadline passed, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

/**
 * Ends the process once the daemon has stopped: the log flushed, exit at once with `code`. Waiting
 * for the event loop to drain is no way out: after its client is closed, gRPC keeps a connect to
 * an etcd that cannot be reached going for as long as the kernel tries (minutes).
 */
export function exitStopped(log: Logger, code: number): never {
  log.flush();
  process.exit(code);
}

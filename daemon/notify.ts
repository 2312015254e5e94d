/**
 * systemd readiness: READY=1 through `systemd-notify` when $NOTIFY_SOCKET is set (the unit uses
 * NotifyAccess=all, since the message comes from a child process; Node has no datagram Unix sockets).
 */
import { describeError } from '../shared/errors.js';
import { run } from './exec.js';
import type { Logger } from './logger.js';

/** Tells systemd the daemon is ready, with `status` as its status line; a failure is only logged. */
export async function notifyReady(log: Logger, status: string): Promise<void> {
  if (!process.env['NOTIFY_SOCKET']) return;
  try {
    const r = await run('systemd-notify', ['--ready', `--status=${status}`]);
    if (r.code !== 0) log.warn({ err: r.stderr.trim() }, 'systemd-notify failed');
  } catch (e) {
    log.warn({ err: describeError(e) }, 'systemd-notify not available');
  }
}

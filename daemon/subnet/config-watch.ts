/**
 * Watches `<prefix>/config` while the daemon runs and says, field by field, how it differs from the
 * config the daemon started with. Nothing is applied: Network, SubnetLen and Backend cannot change
 * under running pods (their addresses, the routes and devices every peer programmed), and SubnetMin
 * and SubnetMax only matter to the next acquisition, which a restart makes. flannel reads the config
 * once and never says that it changed; twill says it at once, and again when it changes back.
 */
import { ACQUISITION_ONLY_FIELDS, diffNetConfig, type NetConfigChange } from '../config/net-config-diff.js';
import { type NetConfig, parseNetConfig } from '../config/net-config.js';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../logger.js';
import { Backoff, sleep } from '../sleep.js';
import type { SubnetRegistry } from './registry.js';

/** How the stored config stands against the running one; logged when it changes. */
type Standing =
  | { kind: 'same' }
  | { kind: 'changed'; changes: NetConfigChange[] }
  | { kind: 'invalid'; problem: string }
  | { kind: 'missing' };

function standingOf(running: NetConfig, text: string | null): Standing {
  if (text === null) return { kind: 'missing' };
  let next: NetConfig;
  try {
    next = parseNetConfig(text);
  } catch (e) {
    return { kind: 'invalid', problem: describeError(e) };
  }
  const changes = diffNetConfig(running, next);
  return changes.length === 0 ? { kind: 'same' } : { kind: 'changed', changes };
}

const RESTART = 'the daemon keeps running with the config it started with; restart twilld to apply';

function report(log: Logger, s: Standing, was: Standing): void {
  switch (s.kind) {
    case 'same':
      if (was.kind !== 'same') log.info('network config in etcd matches the running config again');
      return;
    case 'missing':
      log.warn(`network config key deleted from etcd; ${RESTART} (a restart waits for the key)`);
      return;
    case 'invalid':
      log.error({ problem: s.problem }, `network config in etcd is now invalid; ${RESTART} once it is fixed`);
      return;
    case 'changed': {
      const fields = s.changes.map((c) => c.field);
      const changes = Object.fromEntries(s.changes.map((c) => [c.field, { from: c.from, to: c.to }]));
      if (fields.every((f) => ACQUISITION_ONLY_FIELDS.has(f))) {
        log.warn({ fields, changes }, `network config changed in etcd: ${fields.join(', ')}; ${RESTART} (only new leases are affected)`);
      } else {
        log.error({ fields, changes },
          `network config changed in etcd: ${fields.join(', ')}; ${RESTART}: Network, SubnetLen and Backend cannot change under running pods, restart every host`);
      }
    }
  }
}

/**
 * Runs until `signal` aborts: each text of the config (the registry's watch, started again after a
 * break) is compared with `running`; a standing that differs from the last one is logged.
 */
export async function watchConfigChanges(registry: SubnetRegistry, running: NetConfig, log: Logger, signal: AbortSignal): Promise<void> {
  let last: Standing = { kind: 'same' };
  let lastKey = JSON.stringify(last);
  const backoff = new Backoff(1000, 30_000);
  while (!signal.aborted) {
    try {
      for await (const text of registry.watchNetworkConfig(signal)) {
        backoff.reset();
        const now = standingOf(running, text);
        const key = JSON.stringify(now);
        if (key !== lastKey) report(log, now, last);
        [last, lastKey] = [now, key];
      }
    } catch (e) {
      if (signal.aborted) break;
      log.debug({ err: describeError(e) }, 'network config watch broken, watching again');
      await sleep(backoff.next(), signal);
    }
  }
}

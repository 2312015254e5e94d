/**
 * STATUS (spec 1.1.0): ready when the daemon answers and holds a lease (success, no output);
 * otherwise 50, "the plugin is not available (cannot service ADD requests)": the daemon is down or
 * not ready, or no pod address is left on this host. Never 51 ("existing containers may have limited
 * connectivity"): a full subnet only blocks new pods, and a stopped daemon leaves the routes it
 * programmed in place.
 */
import { CNI_ERR, CniError } from './cni/cni-error.js';
import { describeError } from '../shared/errors.js';
import type { HealthResponse } from '../shared/protocol/api.js';
import { DaemonApi } from './daemon-api.js';
import type { CmdArgs } from './skel.js';

/** Answers STATUS: returns when twill can serve ADD, throws the CNI error 50 saying why not otherwise. */
export async function cmdStatus(a: CmdArgs): Promise<void> {
  let h: HealthResponse;
  try {
    h = new DaemonApi(a.conf.socket, 3000).call('GET /v1/healthz');
  } catch (e) {
    throw new CniError(CNI_ERR.STATUS_NOT_AVAILABLE, 'twilld is not available', describeError(e));
  }
  if (!h.ok) throw new CniError(CNI_ERR.STATUS_NOT_AVAILABLE, 'twilld holds no lease yet');
  if (h.free <= 0) throw new CniError(CNI_ERR.STATUS_NOT_AVAILABLE, 'no free pod address on this host', `all ${h.total} addresses are allocated: new pods cannot be added until some are released (delete pods, or let the runtime run CNI GC)`);
}

/**
 * STATUS (spec 1.1.0): ready when the daemon answers and holds a lease (success, no output);
 * 50 when the daemon is down or not ready; 51 when no pod address is left on this host.
 */
import { CNI_ERR, CniError } from './cni/cni-error.js';
import { describeError } from '../shared/errors.js';
import type { HealthResponse } from '../shared/protocol/api.js';
import { DaemonApi } from './daemon-api.js';
import type { CmdArgs } from './skel.js';

export async function cmdStatus(a: CmdArgs): Promise<void> {
  let h: HealthResponse;
  try {
    h = new DaemonApi(a.conf.socket, 3000).call('GET /v1/healthz');
  } catch (e) {
    throw new CniError(CNI_ERR.STATUS_NOT_AVAILABLE, 'twilld is not available', describeError(e));
  }
  if (!h.ok) throw new CniError(CNI_ERR.STATUS_NOT_AVAILABLE, 'twilld holds no lease yet');
  if (h.free <= 0) throw new CniError(CNI_ERR.STATUS_LIMITED_CONNECTIVITY, 'no free pod address on this host', `all ${h.total} addresses are allocated; run CNI GC or delete pods`);
}

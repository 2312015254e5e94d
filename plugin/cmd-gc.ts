/**
 * GC (spec 1.1.0): release every address whose attachment is not in cni.dev/valid-attachments and
 * delete twill's host veths on the bridge that belong to no valid attachment (left by a plugin that
 * was killed mid-ADD, or by a reboot). Continues past errors and reports them at the end.
 */
import { describeError } from '../shared/errors.js';
import { CNI_ERR, CniError } from './cni/cni-error.js';
import { DaemonApi } from './daemon-api.js';
import { bridgePorts, deleteLink, hostVethName } from './links.js';
import type { CmdArgs } from './skel.js';

const OUR_VETH = /^veth[0-9a-f]{11}$/;

export async function cmdGc(a: CmdArgs): Promise<void> {
  const conf = a.conf;
  const valid = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'] ?? [];
  const errors: string[] = [];
  const keep = new Set(valid.map((v) => hostVethName(v.containerID, v.ifname)));
  try {
    for (const port of bridgePorts(conf.bridge)) {
      if (OUR_VETH.test(port) && !keep.has(port)) deleteLink(port);
    }
  } catch (e) {
    errors.push(describeError(e));
  }
  try {
    new DaemonApi(conf.socket).call('POST /v1/ipam/gc', { valid: valid.map((v) => ({ containerID: v.containerID, ifName: v.ifname })) });
  } catch (e) {
    if ((e as { retryable?: boolean }).retryable && errors.length === 0) throw e;
    errors.push(describeError(e));
  }
  if (errors.length) throw new CniError(CNI_ERR.INTERNAL, 'GC did not finish', errors.join('; '));
}

/**
 * GC (spec 1.1.0) of this network, the config's `name` (as libcni keeps valid attachments per
 * network): the daemon releases every address of the network whose attachment is not in
 * cni.dev/valid-attachments, then twill's host veths on the bridge are deleted when their
 * attachment is not valid and holds no address any more (this network's just released, or left
 * by a plugin killed mid-ADD). Other networks' attachments still hold their addresses, so their
 * veths stay, on a shared bridge too; without the daemon's answer no veth is deleted, since whose
 * it is cannot be told. Continues past errors and reports them at the end.
 */
import { describeError } from '../shared/errors.js';
import { type Attachment, MAX_CONTAINER_ID_LENGTH } from '../shared/protocol/api.js';
import { CNI_ERR, CniError } from './cni/cni-error.js';
import { DaemonApi } from './daemon-api.js';
import { bridgePorts, deleteLink, hostVethName } from './links.js';
import type { CmdArgs } from './skel.js';

const OUR_VETH = /^veth[0-9a-f]{11}$/;

/** Whether the daemon takes the attachment; one it refuses cannot hold an address. */
function storable(v: Attachment): boolean {
  return v.containerID.length >= 1 && v.containerID.length <= MAX_CONTAINER_ID_LENGTH && v.ifName.length >= 1 && v.ifName.length <= 15;
}

export async function cmdGc(a: CmdArgs): Promise<void> {
  const conf = a.conf;
  const valid = (conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'] ?? []).map((v) => ({ containerID: v.containerID, ifName: v.ifname }));
  const errors: string[] = [];
  const fail = (): never => {
    throw new CniError(CNI_ERR.INTERNAL, 'GC did not finish', errors.join('; '));
  };
  // Listed before the daemon answers, so that every veth looked at belongs to an ADD that had its
  // address by then: one of another network is in `held`.
  let ports: string[] = [];
  try {
    ports = bridgePorts(conf.bridge).filter((p) => OUR_VETH.test(p));
  } catch (e) {
    errors.push(describeError(e));
  }
  let held: Attachment[];
  try {
    ({ held } = new DaemonApi(conf.socket).call('POST /v1/ipam/gc', { network: conf.name, valid: valid.filter(storable) }));
  } catch (e) {
    if ((e as { retryable?: boolean }).retryable && errors.length === 0) throw e;
    errors.push(describeError(e));
    return fail();
  }
  const keep = new Set([...valid, ...held].map((v) => hostVethName(v.containerID, v.ifName)));
  for (const port of ports) {
    if (keep.has(port)) continue;
    try {
      deleteLink(port);
    } catch (e) {
      errors.push(describeError(e));
    }
  }
  if (errors.length) fail();
}

/**
 * DEL: idempotent and best-effort. Deletes the host veth (its peer in the pod goes with it, even
 * when the pod's netns is already gone; the daemon waits for the kernel to free it) and releases
 * the address; if the daemon is down the veth is deleted here and the release is queued on disk for
 * it. A missing netns, link or allocation is success.
 */
import { DaemonUnavailableError } from '../shared/errors.js';
import { netnsId } from '../shared/net/netns-id.js';
import type { LinkDeleteResponse } from '../shared/protocol/api.js';
import { queueRelease } from '../shared/protocol/pending-release.js';
import { DaemonClient, type PendingCall } from './daemon-client.js';
import { netnsExists } from './netns.js';
import type { CmdArgs } from './skel.js';

export async function cmdDel(a: CmdArgs): Promise<void> {
  const conf = a.conf;
  const attachment = { containerID: a.containerID, ifName: a.ifName };
  const client = new DaemonClient(conf.socket, 3000);
  // The interfaces and the address are independent: the daemon releases the address while the
  // veth goes, and answers the hand-off of the veth (on this DEL's path) before the release.
  let release: PendingCall<unknown> | undefined;
  const startRelease = () => (release ??= client.start('POST', '/v1/ipam/release', attachment));
  let linkError: unknown;
  try {
    const { deleteHostLink, deleteLink, hostVethName } = await import('./links.js');
    const name = hostVethName(a.containerID, a.ifName);
    // The kernel takes ~20 ms to free a deleted link after unlisting it, in the deleting system
    // call: the daemon waits for that, this process only for the unlisting (api.ts).
    const hostGone = !deleteHostLink(name, () => {
      const handOff = client.start<LinkDeleteResponse>('POST', '/v1/links/delete', { name, netns: netnsId() });
      startRelease();
      try {
        const r = handOff.answer();
        return r.deleting ? r.index : null;
      } catch {
        return null; // no daemon, or one without this endpoint: deleted here
      }
    });
    if (hostGone && a.netns && netnsExists(a.netns)) deleteLink(a.ifName, a.netns);
  } catch (e) {
    linkError = e;
  }
  const pending = startRelease();
  try {
    pending.answer();
  } catch (e) {
    if (!(e instanceof DaemonUnavailableError)) throw linkError ?? e;
    queueRelease(conf.dataDir, attachment);
    process.stderr.write(`twill: ${e.message}; release of ${a.containerID}/${a.ifName} queued for the daemon\n`);
  }
  if (linkError !== undefined) throw linkError;
}

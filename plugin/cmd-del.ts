/**
 * DEL: idempotent and best-effort. One request to the daemon releases the address and starts
 * deleting the host veth (its peer in the pod goes with it, even when the pod's netns is already
 * gone); DEL waits only until the kernel has unlisted the veth, not for it to be freed (see
 * shared/protocol/api.ts). When the daemon does not delete the veth (down, another namespace, an
 * older daemon) DEL deletes the interfaces itself, and a daemon that is down gets the release
 * queued on disk. A missing netns, link or allocation is success, and so is a container ID longer
 * than any ADD takes (MAX_CONTAINER_ID_LENGTH): nothing of it can exist.
 */
import { DaemonUnavailableError, RemoteError } from '../shared/errors.js';
import { netnsId } from '../shared/net/netns-id.js';
import { RtNetlink } from '../shared/netlink/rtnetlink.js';
import { API_ERR, type AttachmentDeleteResponse, MAX_CONTAINER_ID_LENGTH } from '../shared/protocol/api.js';
import { queueRelease } from '../shared/protocol/pending-release.js';
import { DaemonApi } from './daemon-api.js';
import { netnsExists } from './netns.js';
import type { CmdArgs } from './skel.js';

/** How long DEL waits for the veth the daemon is deleting to be unlisted before deleting it here. */
const HANDED_OFF_WAIT_MS = 2000;

export async function cmdDel(a: CmdArgs): Promise<void> {
  if (a.containerID.length > MAX_CONTAINER_ID_LENGTH) return;
  const conf = a.conf;
  const attachment = { containerID: a.containerID, ifName: a.ifName };
  const client = new DaemonApi(conf.socket, 3000);
  // Watching before asking: the kernel's notification cannot come before the watch.
  const events = new RtNetlink({ linkEvents: true });
  let answer: AttachmentDeleteResponse | undefined;
  let daemonError: unknown;
  let linkError: unknown;
  try {
    try {
      answer = client.call('POST /v1/attachments/delete', { ...attachment, netns: netnsId() });
    } catch (e) {
      daemonError = e;
    }
    if (!(answer?.deleting && events.waitLinkGone(answer.index, HANDED_OFF_WAIT_MS))) {
      try {
        await deleteInterfaces(a);
      } catch (e) {
        linkError = e;
      }
    }
  } finally {
    events.close();
  }
  if (!answer) {
    try {
      // A daemon older than that endpoint releases the address alone; one that is down gets it queued.
      if (daemonError instanceof RemoteError && daemonError.code === API_ERR.NOT_FOUND) client.call('POST /v1/ipam/release', attachment);
      else throw daemonError;
    } catch (e) {
      if (!(e instanceof DaemonUnavailableError)) throw linkError ?? e;
      queueRelease(conf.dataDir, attachment);
      process.stderr.write(`twill: ${e.message}; release of ${a.containerID}/${a.ifName} queued for the daemon\n`);
    }
  }
  if (linkError !== undefined) throw linkError;
}

/** Deletes the host veth here, or when it is gone already, the pod's interface. */
async function deleteInterfaces(a: CmdArgs): Promise<void> {
  const { deleteLink, hostVethName } = await import('./links.js');
  const hostGone = !deleteLink(hostVethName(a.containerID, a.ifName));
  if (hostGone && a.netns && netnsExists(a.netns)) deleteLink(a.ifName, a.netns);
}

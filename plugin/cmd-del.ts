/**
 * DEL: idempotent and best-effort. Deletes the host veth (its peer in the pod goes with it, even
 * when the pod's netns is already gone) and releases the address; if the daemon is down the release
 * is queued on disk for it. A missing netns, link or allocation is success.
 */
import { DaemonUnavailableError } from '../shared/errors.js';
import { queueRelease } from '../shared/protocol/pending-release.js';
import { DaemonClient } from './daemon-client.js';
import { netnsExists } from './netns.js';
import type { CmdArgs } from './skel.js';

export async function cmdDel(a: CmdArgs): Promise<void> {
  const conf = a.conf;
  const attachment = { containerID: a.containerID, ifName: a.ifName };
  // The interfaces and the address are independent: the release goes out first, and the daemon
  // works on it while the kernel deletes the veth (~20 ms in a system call that blocks this thread).
  const pending = new DaemonClient(conf.socket, 3000).start('POST', '/v1/ipam/release', attachment);
  let linkError: unknown;
  try {
    const { deleteLink, hostVethName } = await import('./links.js');
    const hostGone = !deleteLink(hostVethName(a.containerID, a.ifName));
    if (hostGone && a.netns && netnsExists(a.netns)) deleteLink(a.ifName, a.netns);
  } catch (e) {
    linkError = e;
  }
  try {
    pending.answer();
  } catch (e) {
    if (!(e instanceof DaemonUnavailableError)) throw linkError ?? e;
    queueRelease(conf.dataDir, attachment);
    process.stderr.write(`twill: ${e.message}; release of ${a.containerID}/${a.ifName} queued for the daemon\n`);
  }
  if (linkError !== undefined) throw linkError;
}

/**
 * DEL: idempotent and best-effort. Deletes the host veth (its peer in the pod goes with it, even
 * when the pod's netns is already gone) and releases the address; if the daemon is down the release
 * is queued on disk for it. A missing netns, link or allocation is success.
 */
import { DaemonUnavailableError } from '../shared/errors.js';
import { queueRelease } from '../shared/protocol/pending-release.js';
import { DaemonClient } from './daemon-client.js';
import { deleteLink, hostVethName } from './links.js';
import { netnsExists } from './netns.js';
import type { CmdArgs } from './skel.js';

export async function cmdDel(a: CmdArgs): Promise<void> {
  const conf = a.conf;
  const attachment = { containerID: a.containerID, ifName: a.ifName };
  // The interfaces and the address are independent: tear both down at once.
  const links = (async () => {
    const hostGone = !(await deleteLink(hostVethName(a.containerID, a.ifName)));
    if (hostGone && a.netns && netnsExists(a.netns)) await deleteLink(a.ifName, a.netns);
  })();
  const release = new DaemonClient(conf.socket, 3000).call('POST', '/v1/ipam/release', attachment).catch((e: unknown) => {
    if (!(e instanceof DaemonUnavailableError)) throw e;
    queueRelease(conf.dataDir, attachment);
    process.stderr.write(`twill: ${e.message}; release of ${a.containerID}/${a.ifName} queued for the daemon\n`);
  });
  const [l, r] = await Promise.allSettled([links, release]);
  if (l.status === 'rejected') throw l.reason;
  if (r.status === 'rejected') throw r.reason;
}

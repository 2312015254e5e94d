/**
 * RtNetlink.waitLinkGone, what DEL waits on while the daemon deletes a host veth: true once the
 * kernel announces that very link gone (not another link, not the bridge-port notification that
 * comes first), false when nothing comes in time. In a test network namespace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { RtNetlink } from '../../shared/netlink/rtnetlink.js';
import { createNetns, deleteNetns, ipIn, netnsPath, uniqueId } from '../helpers/netns.js';
import { NETNS, skipUnless } from '../helpers/require.js';
import { until } from '../helpers/wait.js';

const skip = skipUnless(NETNS);

function indexOf(ns: string, dev: string): number {
  return Number(ipIn(ns, '-o', 'link', 'show', 'dev', dev).split(':')[0]);
}

/**
 * A child process ready to `ip -n ns link del dev` the moment go() is called (this thread is then
 * blocked in waitLinkGone); done gives its exit code and the wall-clock ms when the link was gone.
 */
async function deleteOnCue(ns: string, dev: string) {
  const child = spawn('sh', ['-c', `echo ready; read cue; ip -n ${ns} link del ${dev} && date +%s%3N`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<{ code: number | null; deletedAt: number }>((r) => child.on('close', (code) => r({ code, deletedAt: Number(out.split('\n')[1]) })));
  await until('the deleting shell to start', () => out.startsWith('ready\n'), 10_000);
  return { go: () => child.stdin.end('go\n'), done };
}

describe('waiting for a link to go', { skip }, () => {
  let ns: string;
  before(() => {
    ns = createNetns(`tw-${uniqueId()}-le`);
    ipIn(ns, 'link', 'add', 'twbr0', 'type', 'bridge');
  });
  after(() => deleteNetns(ns));

  it('returns true once that link is deleted (a bridge port too), and it is unlisted by then', async () => {
    ipIn(ns, 'link', 'add', 'twd0', 'type', 'veth', 'peer', 'name', 'twd0p');
    ipIn(ns, 'link', 'set', 'twd0', 'master', 'twbr0');
    ipIn(ns, 'link', 'set', 'twd0', 'up');
    const events = RtNetlink.inNetns(netnsPath(ns), { linkEvents: true });
    try {
      const index = indexOf(ns, 'twd0');
      const deleted = await deleteOnCue(ns, 'twd0');
      deleted.go();
      assert.equal(events.waitLinkGone(index, 5000), true);
      assert.doesNotMatch(ipIn(ns, '-o', 'link', 'show'), /twd0/, 'unlisted when the wait ends');
      assert.equal((await deleted.done).code, 0);
    } finally {
      events.close();
    }
  });

  it('returns false when the link stays, or when another link goes', async () => {
    ipIn(ns, 'link', 'add', 'twd1', 'type', 'veth', 'peer', 'name', 'twd1p');
    ipIn(ns, 'link', 'add', 'twd2', 'type', 'veth', 'peer', 'name', 'twd2p');
    const events = RtNetlink.inNetns(netnsPath(ns), { linkEvents: true });
    try {
      const start = performance.now();
      assert.equal(events.waitLinkGone(indexOf(ns, 'twd1'), 150), false);
      assert.ok(performance.now() - start >= 140, 'waited the time given');
      const other = await deleteOnCue(ns, 'twd2');
      other.go();
      assert.equal(events.waitLinkGone(indexOf(ns, 'twd1'), 1000), false);
      const ended = Date.now();
      const { code, deletedAt } = await other.done;
      assert.equal(code, 0);
      assert.ok(deletedAt <= ended, `the other link went during the wait (${ended - deletedAt} ms before its end)`);
      assert.match(ipIn(ns, '-o', 'link', 'show'), /twd1/);
    } finally {
      events.close();
    }
  });
});

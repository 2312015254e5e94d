/**
 * The daemon's LinkDeleter (DEL's host veth): deletes veths of its own namespace from Node's pool,
 * never anything else, and at most MAX_DELETIONS at once (past that the plugin deletes its own).
 * Run in a child process inside a test network namespace, as the daemon runs in the host's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_DELETIONS } from '../../daemon/link-deleter.js';
import { createNetns, deleteNetns, ipIn, uniqueId } from '../helpers/netns.js';
import { DIST } from '../helpers/paths.js';
import { NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS);

/** Runs `body` (an async function of LinkDeleter and a silent logger) in namespace `ns`; its JSON result. */
function inNetns(ns: string, body: string): unknown {
  const script = `
    const { LinkDeleter } = await import(${JSON.stringify(join(DIST, 'daemon', 'link-deleter.js'))});
    const warnings = [];
    const log = { info() {}, warn(o, m) { warnings.push(m); } };
    const result = await (${body})(LinkDeleter, log, warnings);
    process.stdout.write(JSON.stringify(result));`;
  return JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('deleting pods\' veths for DEL', { skip }, () => {
  let ns: string;
  const count = MAX_DELETIONS + 6;
  before(() => {
    ns = createNetns(`tw-${uniqueId()}-ld`);
    const batch = Array.from({ length: count }, (_, i) => `link add twv${i} type veth peer name twp${i}`).join('\n') + '\nlink add twbr type bridge\n';
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: batch });
  });
  after(() => deleteNetns(ns));

  it(`takes ${MAX_DELETIONS} veths at once, refuses the rest and any other link, and deletes what it took`, () => {
    const r = inNetns(ns, `async (LinkDeleter, log, warnings) => {
      const d = new LinkDeleter(log);
      const own = (await import('node:fs')).statSync('/proc/self/ns/net', { bigint: true });
      const netns = own.dev + ':' + own.ino;
      const answers = [];
      for (let i = 0; i < ${count}; i++) answers.push(d.delete(netns, 'twv' + i).deleting);
      await d.settle();
      const bridge = d.delete(netns, 'twbr').deleting;
      const missing = d.delete(netns, 'twnone').deleting;
      const elsewhere = d.delete('1:1', 'twv${count - 1}').deleting;
      return { taken: answers.filter(Boolean).length, firstRefused: answers.indexOf(false), bridge, missing, elsewhere, warnings };
    }`) as { taken: number; firstRefused: number; bridge: boolean; missing: boolean; elsewhere: boolean; warnings: string[] };
    assert.equal(r.taken, MAX_DELETIONS);
    assert.equal(r.firstRefused, MAX_DELETIONS, 'the ones past the limit');
    assert.deepEqual([r.bridge, r.missing, r.elsewhere], [false, false, false]);
    assert.deepEqual(r.warnings, ['link deletion refused: the caller is in another network namespace']);
    const left = ipIn(ns, '-o', 'link', 'show').split('\n').filter(Boolean).map((l) => l.split(': ')[1]!.split('@')[0]!);
    assert.deepEqual(left.filter((n) => n.startsWith('twv')).sort(), Array.from({ length: count - MAX_DELETIONS }, (_, i) => `twv${MAX_DELETIONS + i}`).sort());
    assert.ok(left.includes('twbr'), 'the bridge stays');
  });
});

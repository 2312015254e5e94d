/** The README's main command: the demo builds the lab, shows full connectivity, and cleans up. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sh } from '../helpers/netns.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);
const DEMO = join(dirname(fileURLToPath(import.meta.url)), 'demo.js');

describe('npm run demo', { skip }, () => {
  for (const backend of ['vxlan', 'host-gw', 'udp']) {
    it(`--backend ${backend}: every pod reaches every other pod, then nothing is left`, () => {
      const r = spawnSync(process.execPath, [DEMO, '--once', '--hosts', '3', '--backend', backend], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /6\/6 pod pairs reach each other/);
      assert.match(r.stdout, /routes on h3:/);
      assert.match(r.stdout, /demo cleaned up/);
      // The lab's namespaces are tw-<id>-…; other tests' labs may come and go meanwhile.
      const id = /etcd in (tw-[0-9a-f]+)-/.exec(r.stdout)?.[1];
      assert.ok(id, `the demo names its lab: ${r.stdout}`);
      const left = sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(`${id}-`));
      assert.deepEqual(left, [], 'no namespace of the demo left behind');
    });
  }
});

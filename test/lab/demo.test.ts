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
      const before = sh('ip', ['netns', 'list']);
      const r = spawnSync(process.execPath, [DEMO, '--once', '--hosts', '3', '--backend', backend], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /6\/6 pod pairs reach each other/);
      assert.match(r.stdout, /routes on h3:/);
      assert.match(r.stdout, /demo cleaned up/);
      assert.equal(sh('ip', ['netns', 'list']), before, 'no namespace left behind');
    });
  }
});

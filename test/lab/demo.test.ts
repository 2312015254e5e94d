/** The README's main command: the demo builds the lab, shows full connectivity, and cleans up. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sh } from '../helpers/netns.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);
const DEMO = join(dirname(fileURLToPath(import.meta.url)), 'demo.js');

describe('npm run demo', { skip }, () => {
  // A state dir of this test's own: a demo someone runs meanwhile is none of its business.
  const stateDir = mkdtempSync(join(tmpdir(), 'twill-demo-test-'));
  const env = { ...process.env, TWILL_DEMO_STATE_DIR: stateDir };
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  for (const backend of ['vxlan', 'host-gw', 'udp']) {
    it(`--backend ${backend}: every pod reaches every other pod, then nothing is left`, () => {
      const r = spawnSync(process.execPath, [DEMO, '--once', '--hosts', '3', '--backend', backend], { env, encoding: 'utf8', timeout: 120_000 });
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

  it('--backend alloc: says that alloc programs no routes and shows the leases instead of a matrix', () => {
    const r = spawnSync(process.execPath, [DEMO, '--once', '--hosts', '2', '--backend', 'alloc'], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /backend alloc: leases a subnet and programs nothing/);
    assert.match(r.stdout, /no connectivity matrix/);
    assert.doesNotMatch(r.stdout, /pod pairs reach each other|FAIL/);
    // The leases table: both hosts' subnets, this host's marked.
    const table = r.stdout.slice(r.stdout.indexOf('leases (twilld leases'));
    assert.equal([...table.matchAll(/^10\.42\.\d+\.0\/24\s+10\.199\.0\.[12]\s/gm)].length, 2, table);
    assert.match(r.stdout, /demo cleaned up/);
  });
});

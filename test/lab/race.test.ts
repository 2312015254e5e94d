/**
 * 20 twilld processes started together for 15 free subnets: 15 distinct leases, 5 clear errors,
 * 0 duplicates, 5 rounds (issue: reliability). The daemons are real processes in 20 lab hosts.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Lab } from './lab.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);
const ROUNDS = Number(process.env['TWILL_RACE_ROUNDS'] ?? 5);

describe('20 daemons racing for 15 subnets', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it(`gives 15 distinct leases and 5 clear errors, ${ROUNDS} rounds`, async () => {
    lab = await Lab.create({ hosts: 20, netConf: { Network: '10.57.0.0/16', SubnetMin: '10.57.1.0', SubnetMax: '10.57.15.0', Backend: { Type: 'alloc' } } });
    const figures: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const marks = lab.hosts.map((h) => { try { return readFileSync(h.log, 'utf8').length; } catch { return 0; } });
      await Promise.all(lab.hosts.map((h) => lab.startDaemon(h, [], false)));
      const logOf = (i: number) => readFileSync(lab.hosts[i]!.log, 'utf8').slice(marks[i]);
      const t0 = Date.now();
      let winners: number[] = [];
      let losers: number[] = [];
      while (Date.now() - t0 < 60_000) {
        winners = lab.hosts.map((_, i) => i).filter((i) => logOf(i).includes('"msg":"ready"'));
        losers = lab.hosts.map((_, i) => i).filter((i) => logOf(i).includes('"msg":"cannot acquire a lease, retrying"'));
        if (winners.length + losers.length >= 20) break;
        await delay(200);
      }
      const subnets = winners.map((i) => lab.subnetEnv(lab.hosts[i]!)['FLANNEL_SUBNET']);
      const keys = lab.etcd.ctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/').split('\n').filter(Boolean);
      const values = keys.map((k) => JSON.parse(lab.etcd.ctl('get', '--print-value-only', k)) as { PublicIP: string });
      assert.equal(winners.length, 15, `round ${round}: 15 daemons hold a lease`);
      assert.equal(new Set(subnets).size, 15, `round ${round}: no subnet twice`);
      assert.equal(keys.length, 15);
      assert.equal(new Set(values.map((v) => v.PublicIP)).size, 15, 'each key belongs to a different host');
      assert.equal(losers.length, 5, `round ${round}: 5 clear errors`);
      for (const i of losers) assert.match(logOf(i), /no free subnet: all 15 \/24 subnets between 10\.57\.1\.0 and 10\.57\.15\.0 are leased/);
      figures.push(`round ${round}: 15 leases, 5 errors, 0 duplicates`);
      await Promise.all(lab.hosts.map((h) => lab.stopDaemon(h)));
      lab.etcd.ctl('del', '--prefix', '/coreos.com/network/subnets/');
      for (const h of lab.hosts) rmSync(h.subnetFile, { force: true });
    }
    console.log(`# race: ${figures.join('; ')}`);
  });
});

/**
 * A network config rewritten under running daemons (GitHub issue #20, item 11):
 * daemon/config/net-config-diff.ts names the fields, daemon/subnet/config-watch.ts logs them.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { diffNetConfig } from '../../daemon/config/net-config-diff.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { MemorySubnetRegistry } from '../../daemon/subnet/memory-registry.js';
import { LocalSubnetManager } from '../../daemon/subnet/subnet-manager.js';
import { testLogger } from '../helpers/log.js';
import { until } from '../helpers/wait.js';

const RUNNING = '{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}';

describe('diffNetConfig', () => {
  it('names each changed field in flannel\'s spelling, with defaults filled in', () => {
    const a = parseNetConfig(RUNNING);
    assert.deepEqual(diffNetConfig(a, parseNetConfig('{"Network":"10.5.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1}}')), [], 'the defaults written out');
    assert.deepEqual(diffNetConfig(a, parseNetConfig('{"Network":"10.6.0.0/16","Backend":{"Type":"vxlan","VNI":2}}')), [
      { field: 'Network', from: '10.5.0.0/16', to: '10.6.0.0/16' },
      { field: 'SubnetMin', from: '10.5.1.0', to: '10.6.1.0' },
      { field: 'SubnetMax', from: '10.5.255.0', to: '10.6.255.0' },
      { field: 'Backend.VNI', from: 1, to: 2 },
    ]);
    const types = diffNetConfig(a, parseNetConfig('{"Network":"10.5.0.0/16","Backend":{"Type":"host-gw"}}')).map((c) => c.field);
    assert.ok(types.includes('Backend.Type'), types.join());
  });
});

describe('a running daemon and its network config in etcd', () => {
  const stops: AbortController[] = [];
  after(() => stops.forEach((s) => s.abort()));

  async function start() {
    const reg = new MemorySubnetRegistry();
    await reg.putNetworkConfig(RUNNING);
    const lines: Array<Record<string, unknown>> = [];
    const m = new LocalSubnetManager(reg, testLogger(lines));
    const stop = new AbortController();
    stops.push(stop);
    const running = await m.getNetworkConfig(stop.signal);
    const watching = m.watchConfigChanges(running, stop.signal);
    const said = (re: RegExp) => lines.filter((l) => re.test(String(l['msg'])));
    return { reg, lines, stop, watching, said };
  }

  it('says at once which fields changed and that a restart is needed, and when it matches again', async () => {
    const { reg, said } = await start();
    await reg.putNetworkConfig('{"Network":"10.6.0.0/16","Backend":{"Type":"host-gw"}}');
    await until('the change is logged', () => said(/network config changed/).length === 1, 5000);
    const line = said(/network config changed/)[0]!;
    assert.equal(line['level'], 50);
    assert.ok((line['fields'] as string[]).includes('Network') && (line['fields'] as string[]).includes('Backend.Type'), String(line['fields']));
    assert.match(String(line['msg']), /Network.*Backend\.Type.*restart twilld to apply/);
    assert.deepEqual((line['changes'] as Record<string, unknown>)['Network'], { from: '10.5.0.0/16', to: '10.6.0.0/16' });
    await reg.putNetworkConfig(RUNNING.replace('{', '{ ')); // other text, same config
    await until('the return is logged', () => said(/matches the running config again/).length === 1, 5000);
    assert.equal(said(/network config changed/).length, 1, 'logged once per change');
  });

  it('warns only for SubnetMin/SubnetMax, which matter to new leases alone', async () => {
    const { reg, said } = await start();
    await reg.putNetworkConfig('{"Network":"10.5.0.0/16","SubnetMax":"10.5.100.0","Backend":{"Type":"vxlan"}}');
    await until('the change is logged', () => said(/network config changed/).length === 1, 5000);
    const line = said(/network config changed/)[0]!;
    assert.equal(line['level'], 40);
    assert.deepEqual(line['fields'], ['SubnetMax']);
  });

  it('says when the config turns invalid or its key is deleted, and notices a change made while its watch was broken', async () => {
    const { reg, said } = await start();
    await reg.putNetworkConfig('{"Network":"10.5.0.0/30"}');
    await until('the invalid config is logged', () => said(/is now invalid/).length === 1, 5000);
    assert.match(String(said(/is now invalid/)[0]!['problem']), /too small/);
    reg.deleteNetworkConfig();
    await until('the deletion is logged', () => said(/key deleted/).length === 1, 5000);
    reg.breakWatches();
    await reg.putNetworkConfig('{"Network":"10.7.0.0/16","Backend":{"Type":"vxlan"}}'); // while no watch is open
    await until('the change is logged after the watch is back', () => said(/network config changed/).length === 1, 10_000);
  });

  it('stops when its signal aborts', async () => {
    const { stop, watching } = await start();
    stop.abort();
    await watching;
  });
});

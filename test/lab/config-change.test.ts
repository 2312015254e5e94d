/**
 * The network config rewritten under a running daemon (GitHub issue #20, item 11), with the real
 * executable: the daemon says within seconds which fields changed and that a restart is needed,
 * and keeps running with the config it started with.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';
import { until } from '../helpers/wait.js';
import { Lab } from './lab.js';

const skip = skipUnless(NETNS, ETCD);
const CONFIG_KEY = '/coreos.com/network/config';

describe('a network config rewritten under a running daemon', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('is logged naming the changed fields, and again when it is put back', async () => {
    const netConf = { Network: '10.59.0.0/16', Backend: { Type: 'vxlan' } };
    lab = await Lab.create({ hosts: 1, netConf });
    await lab.startAll();
    const h1 = lab.host(1);
    const subnet = lab.subnetEnv(h1)['FLANNEL_SUBNET'];
    const mark = readFileSync(h1.log, 'utf8').length;
    const lines = () => readFileSync(h1.log, 'utf8').slice(mark).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    lab.etcd.ctl('put', CONFIG_KEY, JSON.stringify({ Network: '10.60.0.0/16', Backend: { Type: 'host-gw' } }));
    await until('the change in the log', () => lines().some((l) => /^network config changed in etcd/.test(String(l['msg']))), 10_000, 100);
    const line = lines().find((l) => /^network config changed in etcd/.test(String(l['msg'])))!;
    assert.equal(line['level'], 'error');
    assert.ok((line['fields'] as string[]).includes('Network') && (line['fields'] as string[]).includes('Backend.Type'), JSON.stringify(line));
    assert.match(String(line['msg']), /restart twilld to apply/);
    lab.etcd.ctl('put', CONFIG_KEY, JSON.stringify(netConf));
    await until('the return in the log', () => lines().some((l) => l['msg'] === 'network config in etcd matches the running config again'), 10_000, 100);
    assert.equal(h1.daemon?.exitCode, null, 'the daemon keeps running');
    assert.equal(lab.subnetEnv(h1)['FLANNEL_SUBNET'], subnet, 'with its lease');
    assert.equal((await lab.api<{ network: string }>(h1, '/v1/lease')).network, '10.59.0.0/16', 'and the config it started with');
  });
});

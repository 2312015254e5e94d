import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import { daemonFlags, daemonSettingsFrom, etcdOptionsFrom, flanneldEnv, withFlags } from '../../daemon/options.js';
import { InvalidConfigError } from '../../shared/errors.js';

const defaults = Object.fromEntries(Object.entries(daemonFlags).map(([k, v]) => [k, (v as { default?: unknown }).default]));

describe('daemon options', () => {
  it('maps FLANNELD_* variables onto flannel flag names', () => {
    assert.deepEqual(flanneldEnv({ FLANNELD_ETCD_ENDPOINTS: 'http://a:2379', FLANNELD_IP_MASQ: 'true', OTHER: 'x' }, daemonFlags), { 'etcd-endpoints': 'http://a:2379', 'ip-masq': 'true' });
  });
  it('splits comma lists and converts minutes', () => {
    const s = daemonSettingsFrom({ ...defaults, iface: ['eth0,eth1'], 'subnet-lease-renew-margin': 30 });
    assert.deepEqual(s.iface, ['eth0', 'eth1']);
    assert.equal(s.renewMarginS, 1800);
    assert.deepEqual(etcdOptionsFrom({ ...defaults, 'etcd-endpoints': 'http://a:2379, https://b:2379/' }).endpoints, ['http://a:2379', 'https://b:2379']);
  });
  it('takes the last of a repeated single-valued flag (as flannel\'s Go flags do) and every one of a repeatable flag', async () => {
    const a = await withFlags(yargs(['--etcd-cafile', '/a.crt', '--etcd-cafile', '/b.crt', '--healthz-port', '1', '--healthz-port', '2',
      '--masq-mode', 'iptables', '--masq-mode', 'nftables', '--iface', 'eth0', '--iface', 'eth1']).strict(), daemonFlags).parse();
    assert.equal(etcdOptionsFrom(a).caFile, '/b.crt');
    const s = daemonSettingsFrom(a);
    assert.deepEqual([s.healthzPort, s.masqMode, s.iface], [2, 'nftables', ['eth0', 'eth1']]);
  });
  it('rejects bad values naming the flag', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ 'public-ip': '1.2.3' }, 'public-ip'],
      [{ 'healthz-port': 70000 }, 'healthz-port'],
      [{ 'healthz-ip': 'localhost' }, 'healthz-ip'],
      [{ socket: '/' + 'x'.repeat(120) }, 'socket'],
      [{ 'subnet-lease-ttl': 1 }, 'subnet-lease-ttl'],
    ];
    for (const [over, field] of cases) assert.throws(() => daemonSettingsFrom({ ...defaults, ...over }), (e: unknown) => e instanceof InvalidConfigError && e.field === field, field);
    assert.throws(() => etcdOptionsFrom({ ...defaults, 'etcd-endpoints': 'ftp://a:2379' }), /not an http\(s\):\/\/host:port URL/);
    assert.throws(() => etcdOptionsFrom({ ...defaults, 'etcd-prefix': 'coreos.com' }), /must start with \//);
  });
});

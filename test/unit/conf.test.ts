/**
 * The files in conf/ are the ones the code and the tests use: the conflist is what install-cni
 * writes and what the lab's pods are made with; every flag a manifest or unit passes exists.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { checkConflist, defaultConflist } from '../../daemon/cli/install-cni.js';
import { daemonFlags } from '../../daemon/options.js';
import { parsePluginConf } from '../../plugin/plugin-conf.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { confText, twillEntryFromConflist } from '../helpers/repo.js';

const daemonFlagNames = new Set(Object.keys(daemonFlags));

describe('conf/', () => {
  it('net-conf.json is a valid network config', () => {
    const c = parseNetConfig(confText('net-conf.json'));
    assert.equal(c.backendType, 'vxlan');
    assert.deepEqual(c.unknownFields, []);
  });

  it('10-twill.conflist is exactly what install-cni writes, and the plugin accepts its entry', () => {
    assert.equal(confText('10-twill.conflist'), defaultConflist());
    checkConflist(confText('10-twill.conflist'), '10-twill.conflist');
    const conf = parsePluginConf(twillEntryFromConflist());
    assert.equal(conf.socket, '/run/twill/twilld.sock');
    assert.equal(conf.bridge, 'cni0');
  });

  it('kube-twill.yml: the four objects, the same conflist and net-conf, and only real flags', () => {
    const docs = parseAllDocuments(confText('kube-twill.yml'));
    for (const d of docs) assert.deepEqual(d.errors, []);
    const objs = docs.map((d) => d.toJS() as Record<string, any>);
    assert.deepEqual(objs.map((o) => o['kind']), ['Namespace', 'ServiceAccount', 'ConfigMap', 'DaemonSet']);
    const cm = objs[2]!;
    assert.equal(cm['data']['cni-conf.json'], confText('10-twill.conflist'));
    assert.equal(cm['data']['net-conf.json'], confText('net-conf.json'));
    const spec = objs[3]!['spec']['template']['spec'];
    assert.equal(spec['hostNetwork'], true);
    const daemon = spec['containers'][0];
    const flags = (daemon['command'] as string[]).filter((a) => a.startsWith('--')).map((a) => a.slice(2));
    for (const f of flags) assert.ok(daemonFlagNames.has(f), `--${f} is a twilld flag`);
    const cmd = daemon['command'] as string[];
    assert.equal(String(daemon['livenessProbe']['httpGet']['port']), cmd[cmd.indexOf('--healthz-port') + 1]);
    for (const c of [...spec['initContainers'], daemon]) {
      for (const e of c['env'] ?? []) assert.ok(daemonFlagNames.has(e['name'].replace(/^FLANNELD_/, '').toLowerCase().replace(/_/g, '-')), e['name']);
    }
    const install = spec['initContainers'][0]['command'] as string[];
    assert.deepEqual(install.slice(0, 2), ['/opt/twill/twilld', 'install-cni']);
  });

  it('twilld.service is a notify unit reading FLANNELD_* settings, and the sysconfig example names real flags', () => {
    const unit = confText('twilld.service');
    for (const line of ['Type=notify', 'NotifyAccess=all', 'EnvironmentFile=-/etc/sysconfig/twilld', 'ExecStart=/usr/local/bin/twilld', 'Restart=always']) {
      assert.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}$`, 'm'), line);
    }
    for (const line of confText('twilld.sysconfig').split('\n')) {
      const m = /^#?(FLANNELD_[A-Z_]+)=/.exec(line);
      if (m) assert.ok(daemonFlagNames.has(m[1]!.replace(/^FLANNELD_/, '').toLowerCase().replace(/_/g, '-')), m[1]);
    }
  });
});

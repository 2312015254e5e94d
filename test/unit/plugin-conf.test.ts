import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentArgs, parsePluginConf } from '../../plugin/plugin-conf.js';
import { CNI_ERR, CniError } from '../../plugin/cni/cni-error.js';

const base = { cniVersion: '1.1.0', name: 'n', type: 'twill' };

describe('plugin conf and attachment args', () => {
  it('reads runtimeConfig keys case-insensitively (containerd sends capitalised keys)', () => {
    const c = parsePluginConf({ ...base, runtimeConfig: { MAC: '02:AA:00:00:00:01', IPs: ['10.5.1.9/24'] } });
    assert.deepEqual(attachmentArgs(c, {}), { mac: '02:aa:00:00:00:01', ip: '10.5.1.9' });
  });
  it('takes args.cni and CNI_ARGS too', () => {
    const c = parsePluginConf({ ...base, args: { cni: { mac: '02:00:00:00:00:09' } } });
    assert.deepEqual(attachmentArgs(c, { IP: '10.5.1.7' }), { mac: '02:00:00:00:00:09', ip: '10.5.1.7' });
  });
  it('refuses capabilities twill does not implement, naming them and the fix', () => {
    const c = parsePluginConf({ ...base, runtimeConfig: { portMappings: [{ HostPort: 80, ContainerPort: 80 }] } });
    assert.throws(() => attachmentArgs(c, {}), (e: unknown) => e instanceof CniError && e.cniCode === CNI_ERR.UNSUPPORTED_FIELD && /portmap/.test(e.details));
    assert.deepEqual(attachmentArgs(parsePluginConf({ ...base, runtimeConfig: { portMappings: [] } }), {}), {}, 'an empty capability is fine');
  });
  it('rejects malformed values with code 7 and two addresses with code 2', () => {
    assert.throws(() => attachmentArgs(parsePluginConf({ ...base, runtimeConfig: { mac: 'zz' } }), {}), (e: unknown) => e instanceof CniError && e.cniCode === 7);
    assert.throws(() => attachmentArgs(parsePluginConf({ ...base, runtimeConfig: { ips: ['1.2.3.4/24', '1.2.3.5/24'] } }), {}), (e: unknown) => e instanceof CniError && e.cniCode === 2);
    assert.throws(() => attachmentArgs(parsePluginConf(base), { IP: '999.1.1.1' }), (e: unknown) => e instanceof CniError && e.cniCode === 7);
  });
  it('rejects an MTU below 68', () => {
    assert.throws(() => parsePluginConf({ ...base, mtu: 10 }), /mtu 10 is too small/);
  });
});

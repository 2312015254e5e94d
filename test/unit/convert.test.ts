import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertResult, parsePrevResult } from '../../plugin/cni/convert.js';
import type { CniResult } from '../../plugin/cni/types.js';

const r: CniResult = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'cni0', mac: '02:00:00:00:00:01' }, { name: 'veth1', mac: '02:00:00:00:00:02' }, { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1450, sandbox: '/run/netns/x' }],
  ips: [{ address: '10.5.1.2/24', gateway: '10.5.1.1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.5.1.1' }],
  dns: {},
};

describe('result conversion', () => {
  it('keeps the 1.1.0 form (with interface mtu)', () => {
    const o = convertResult(r, '1.1.0') as { interfaces: Array<{ mtu?: number }> };
    assert.equal(o.interfaces[2]!.mtu, 1450);
  });
  it('drops 1.1 fields for 1.0.0 and adds ips[].version for 0.3.x/0.4.0', () => {
    const o = convertResult(r, '1.0.0') as { interfaces: Array<{ mtu?: number }>; ips: Array<{ version?: string }> };
    assert.equal(o.interfaces[2]!.mtu, undefined);
    assert.equal(o.ips[0]!.version, undefined);
    for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
      const old = convertResult(r, v) as { cniVersion: string; ips: Array<{ version?: string; interface?: number }> };
      assert.deepEqual([old.cniVersion, old.ips[0]!.version, old.ips[0]!.interface], [v, '4', 2]);
    }
  });
  it('produces ip4 for 0.1.0/0.2.0', () => {
    for (const v of ['0.1.0', '0.2.0']) {
      assert.deepEqual(convertResult(r, v), { cniVersion: v, ip4: { ip: '10.5.1.2/24', gateway: '10.5.1.1', routes: [{ dst: '0.0.0.0/0', gw: '10.5.1.1' }] }, dns: {} });
    }
  });
  it('reads a prevResult of any version back', () => {
    assert.deepEqual(parsePrevResult(convertResult(r, '0.4.0')).ips, r.ips);
    assert.deepEqual(parsePrevResult(convertResult(r, '0.2.0')).ips, [{ address: '10.5.1.2/24', gateway: '10.5.1.1' }]);
  });
});

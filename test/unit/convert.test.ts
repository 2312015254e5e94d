import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CNI_ERR, CniError } from '../../plugin/cni/cni-error.js';
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
  it('refuses a malformed prevResult with code 7, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['x', /prevResult must be an object/],
      [[], /prevResult must be an object/],
      [{ cniVersion: 1 }, /prevResult\.cniVersion must be a string/],
      [{ cniVersion: '3.0.0' }, /prevResult\.cniVersion "3\.0\.0" is not a CNI version twill knows/],
      [{ interfaces: {} }, /prevResult\.interfaces must be an array/],
      [{ interfaces: [null] }, /prevResult\.interfaces\[0\] must be an object/],
      [{ interfaces: [{ mac: '02:00:00:00:00:01' }] }, /prevResult\.interfaces\[0\]\.name must be a string/],
      [{ interfaces: [{ name: 'eth0', mtu: '1500' }] }, /prevResult\.interfaces\[0\]\.mtu must be an integer/],
      [{ interfaces: [{ name: 'eth0', sandbox: 7 }] }, /prevResult\.interfaces\[0\]\.sandbox must be a string/],
      [{ ips: [{}] }, /prevResult\.ips\[0\]\.address must be a string/],
      [{ ips: [{ address: '10.1.1.300/24' }] }, /prevResult\.ips\[0\]\.address "10\.1\.1\.300\/24" is not an IP address with a prefix length/],
      [{ ips: [{ address: '10.1.1.1/33' }] }, /prevResult\.ips\[0\]\.address/],
      [{ ips: [{ address: 'fd00::1/129' }] }, /prevResult\.ips\[0\]\.address/],
      [{ ips: [{ address: '10.1.1.1/24', gateway: 'x' }] }, /prevResult\.ips\[0\]\.gateway "x" is not an IP address/],
      [{ ips: [{ address: '10.1.1.1/24', interface: -1 }] }, /prevResult\.ips\[0\]\.interface/],
      [{ ips: [{ address: '10.1.1.1/24', interface: 0 }] }, /prevResult\.ips\[0\]\.interface 0 is not an index of prevResult\.interfaces \(0 entries\)/],
      [{ routes: [{ gw: '10.1.1.1' }] }, /prevResult\.routes\[0\]\.dst must be a string/],
      [{ routes: [{ dst: 'default' }] }, /prevResult\.routes\[0\]\.dst "default" is not an IP address with a prefix length/],
      [{ routes: [{ dst: '0.0.0.0/0', table: 'main' }] }, /prevResult\.routes\[0\]\.table must be an integer/],
      [{ dns: [] }, /prevResult\.dns must be an object/],
      [{ dns: { nameservers: '10.0.0.10' } }, /prevResult\.dns\.nameservers must be an array of strings/],
      [{ dns: { domain: 1 } }, /prevResult\.dns\.domain must be a string/],
      [{ cniVersion: '0.2.0', ip4: 'x' }, /prevResult\.ip4 must be an object/],
      [{ cniVersion: '0.2.0', ip4: { gateway: '10.1.1.1' } }, /prevResult\.ip4\.ip must be a string/],
      [{ ip4: { ip: '10.1.1.2/24', routes: [{ dst: 5 }] } }, /prevResult\.ip4\.routes\[0\]\.dst must be a string/],
      [{ cniVersion: '0.1.0', ip6: { ip: 'fd00::2' } }, /prevResult\.ip6\.ip "fd00::2" is not an IP address with a prefix length/],
    ];
    for (const [prev, msg] of bad) {
      assert.throws(() => parsePrevResult(prev), (e: unknown) => e instanceof CniError && e.cniCode === CNI_ERR.INVALID_NETWORK_CONFIG && msg.test(e.message), `${JSON.stringify(prev)} → ${msg}`);
    }
  });
  it('keeps only the fields the spec defines (as the reference\'s Go types do), without ips[].version', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep]; // deeper than JSON.stringify can go
    const p = parsePrevResult({ cniVersion: '0.4.0', extra: deep, interfaces: [{ name: 'eth0', pciID: '0000:00:01.0', deep }],
      ips: [{ version: '4', address: '10.1.1.2/24', interface: 0, deep }], routes: [{ dst: '0.0.0.0/0', deep }], dns: { domain: 'x', deep, search: null } });
    assert.deepEqual(p, { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', pciID: '0000:00:01.0' }], ips: [{ address: '10.1.1.2/24', interface: 0 }], routes: [{ dst: '0.0.0.0/0' }], dns: { domain: 'x' } });
    assert.doesNotThrow(() => JSON.stringify(convertResult(p, '1.1.0')));
    assert.equal(parsePrevResult({ ips: [] }, '0.3.1').cniVersion, '0.3.1', 'no version: the config\'s');
  });
});

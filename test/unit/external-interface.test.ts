import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type IfaceInfo, selectInterface } from '../../daemon/external-interface.js';
import { InvalidConfigError } from '../../shared/errors.js';

const ifaces: IfaceInfo[] = [
  { name: 'eth0', mtu: 1500, up: true, addrs: [{ ip: '192.168.1.10', prefix: 24 }] },
  { name: 'eth1', mtu: 9000, up: true, addrs: [{ ip: '10.0.0.5', prefix: 8 }, { ip: '10.1.0.5', prefix: 16 }] },
  { name: 'docker0', mtu: 1500, up: true, addrs: [] },
];

describe('external interface selection (flannel rules)', () => {
  it('defaults to the interface of the default route', () => {
    const e = selectInterface(ifaces, { iface: [], ifaceRegex: [] }, 'eth0');
    assert.deepEqual(e, { name: 'eth0', ifaceIp: '192.168.1.10', ifacePrefix: 24, publicIp: '192.168.1.10', mtu: 1500 });
  });
  it('takes --iface by name or by address, first match wins', () => {
    assert.equal(selectInterface(ifaces, { iface: ['nope', 'eth1'], ifaceRegex: [] }, 'eth0').name, 'eth1');
    const byIp = selectInterface(ifaces, { iface: ['10.1.0.5'], ifaceRegex: [] }, 'eth0');
    assert.deepEqual([byIp.name, byIp.ifaceIp, byIp.ifacePrefix], ['eth1', '10.1.0.5', 16]);
  });
  it('matches --iface-regex against addresses and names', () => {
    assert.equal(selectInterface(ifaces, { iface: [], ifaceRegex: ['^10\\.1\\.'] }, 'eth0').ifaceIp, '10.1.0.5');
    assert.equal(selectInterface(ifaces, { iface: [], ifaceRegex: ['^eth1$'] }, 'eth0').ifaceIp, '10.0.0.5');
  });
  it('advertises --public-ip instead of the interface address', () => {
    const e = selectInterface(ifaces, { iface: ['eth0'], ifaceRegex: [], publicIp: '203.0.113.7' }, null);
    assert.deepEqual([e.ifaceIp, e.publicIp], ['192.168.1.10', '203.0.113.7']);
  });
  it('fails clearly, naming the flag', () => {
    const fails: Array<[Parameters<typeof selectInterface>[1], string | null, string]> = [
      [{ iface: ['wlan9'], ifaceRegex: [] }, 'eth0', 'iface'],
      [{ iface: ['docker0'], ifaceRegex: [] }, 'eth0', 'iface'],
      [{ iface: [], ifaceRegex: ['(('] }, 'eth0', 'iface-regex'],
      [{ iface: [], ifaceRegex: ['^wlan'] }, 'eth0', 'iface-regex'],
      [{ iface: [], ifaceRegex: [] }, null, 'iface'],
      [{ iface: [], ifaceRegex: [], publicIp: 'x' }, 'eth0', 'public-ip'],
    ];
    for (const [sel, def, field] of fails) {
      assert.throws(() => selectInterface(ifaces, sel, def), (e: unknown) => e instanceof InvalidConfigError && e.field === field, JSON.stringify(sel));
    }
  });
  it('falls through from --iface to --iface-regex, then to --iface-can-reach, as flanneld does', () => {
    assert.equal(selectInterface(ifaces, { iface: ['wlan9'], ifaceRegex: ['^eth1$'] }, 'eth0').name, 'eth1');
    const reach = { dev: 'eth1', src: '10.1.0.5' };
    const e = selectInterface(ifaces, { iface: ['wlan9'], ifaceRegex: ['^wlan'], ifaceCanReach: '10.1.2.3' }, 'eth0', reach);
    assert.deepEqual([e.name, e.ifaceIp, e.ifacePrefix], ['eth1', '10.1.0.5', 16]);
    assert.throws(() => selectInterface(ifaces, { iface: [], ifaceRegex: [], ifaceCanReach: '10.1.2.3' }, 'eth0', null),
      (err: unknown) => err instanceof InvalidConfigError && err.field === 'iface-can-reach');
  });
  it('matches --iface-regex against every address first, then against names (flannel ipmatch order)', () => {
    assert.equal(selectInterface(ifaces, { iface: [], ifaceRegex: ['^eth0$|^10\\.1\\.'] }, 'eth0').name, 'eth1');
  });
  it('takes the interface holding --public-ip when no --iface* is given, as flanneld does', () => {
    const e = selectInterface(ifaces, { iface: [], ifaceRegex: [], publicIp: '10.1.0.5' }, 'eth0');
    assert.deepEqual([e.name, e.ifaceIp, e.publicIp], ['eth1', '10.1.0.5', '10.1.0.5']);
  });
});

/**
 * net-conf as flanneld reads it (issue #17 point 2): Go's encoding/json matches keys without regard
 * to case, flannel's fields EnableNFTables, Learning and MacPrefix (either form) are accepted, and a
 * vxlan Backend.MTU is the underlay MTU (pkg/backend/vxlan device.go: the device gets MTU − 50).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { vxlanDeviceMtu, parseVxlanConfig } from '../../daemon/backend/vxlan/vxlan-backend.js';
import { InvalidConfigError } from '../../shared/errors.js';
import { formatCidr } from '../../shared/ip/cidr.js';

describe('net-conf keys as Go reads them', () => {
  it('matches top-level and Backend keys case-insensitively', () => {
    const c = parseNetConfig('{"network":"10.42.0.0/16","subnetlen":26,"backend":{"type":"vxlan","vni":2,"directrouting":true}}');
    assert.equal(formatCidr(c.network), '10.42.0.0/16');
    assert.equal(c.subnetLen, 26);
    assert.equal(c.backendType, 'vxlan');
    assert.equal(c.backend['VNI'], 2);
    assert.equal(c.backend['DirectRouting'], true);
    assert.deepEqual(c.unknownFields, []);
    assert.equal(parseNetConfig('{"NETWORK":"10.42.0.0/16","Backend":{"TYPE":"host-gw"}}').backendType, 'host-gw');
  });
  it('lets the later of two keys that differ only in case win, as Go does', () => {
    assert.equal(formatCidr(parseNetConfig('{"Network":"10.1.0.0/16","network":"10.2.0.0/16"}').network), '10.2.0.0/16');
  });
  it('accepts EnableNFTables, Learning and MacPrefix in its Linux and Windows forms', () => {
    const c = parseNetConfig('{"Network":"10.42.0.0/16","EnableNFTables":true,"Backend":{"Type":"vxlan","Learning":true,"MacPrefix":"0E-2A"}}');
    assert.equal(c.backend['Learning'], true);
    assert.equal(parseVxlanConfig(c.backend).MacPrefix, '0e:2a');
    assert.deepEqual(c.unknownFields, []);
    assert.throws(() => parseNetConfig('{"Network":"10.42.0.0/16","enableNFTables":"yes"}'), InvalidConfigError);
  });
});

describe('vxlan Backend.MTU is the underlay MTU (flannel)', () => {
  it('gives the device and FLANNEL_MTU MTU − 50, the interface MTU − 50 when absent or 0', () => {
    const conf = (mtu?: number) => parseVxlanConfig(parseNetConfig(JSON.stringify({ Network: '10.42.0.0/16', Backend: { Type: 'vxlan', ...(mtu === undefined ? {} : { MTU: mtu }) } })).backend);
    assert.equal(vxlanDeviceMtu(conf(1400), 1500), 1350);
    assert.equal(vxlanDeviceMtu(conf(9000), 1500), 8950);
    assert.equal(vxlanDeviceMtu(conf(), 1500), 1450);
    assert.equal(vxlanDeviceMtu(conf(0), 9000), 8950);
  });
  it('refuses an MTU that leaves the device under 68', () => {
    assert.throws(() => parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"vxlan","MTU":100}}'), (e: unknown) => e instanceof InvalidConfigError && e.field === 'Backend.MTU');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { DecodeError, InvalidConfigError } from '../../shared/errors.js';
import { formatCidr, formatIp } from '../../shared/ip/cidr.js';

describe('network config (flannel rules)', () => {
  it('applies flannel defaults', () => {
    const c = parseNetConfig('{"Network":"10.42.0.0/16","Backend":{"Type":"vxlan"}}');
    assert.equal(formatCidr(c.network), '10.42.0.0/16');
    assert.equal(c.subnetLen, 24);
    assert.equal(formatIp(c.subnetMin), '10.42.1.0');
    assert.equal(formatIp(c.subnetMax), '10.42.255.0');
    assert.equal(c.backendType, 'vxlan');
  });
  it('defaults SubnetLen to prefix+2 for networks between /23 and /28, and the backend to udp', () => {
    const c = parseNetConfig('{"Network":"10.42.0.0/26"}');
    assert.equal(c.subnetLen, 28);
    assert.equal(c.backendType, 'udp');
    assert.equal(parseNetConfig('{"Network":"10.42.0.0/22"}').subnetLen, 24);
  });
  it('normalises a Network with host bits and keeps unknown fields as warnings', () => {
    const c = parseNetConfig('{"Network":"10.42.3.4/16","Backend":{"Type":"host-gw"},"Bogus":1}');
    assert.equal(formatCidr(c.network), '10.42.0.0/16');
    assert.deepEqual(c.unknownFields, ['Bogus']);
  });
  const bad: Array<[string, string, RegExp]> = [
    ['{}', 'Network', /Network is required/],
    ['{"Network":"10.42.0.0"}', 'Network', /not a CIDR/],
    ['{"Network":"300.42.0.0/16"}', 'Network', /not an IPv4 address/],
    ['{"Network":"10.42.0.0/29"}', 'Network', /minimum useful network prefix is \/28/],
    ['{"Network":"10.42.0.0/16","SubnetLen":31}', 'SubnetLen', /\/30 or shorter/],
    ['{"Network":"10.42.0.0/16","SubnetLen":17}', 'SubnetLen', /at least four times: use \/18/],
    ['{"Network":"10.42.0.0/16","SubnetLen":"24"}', 'SubnetLen', /must be of type integer/],
    ['{"Network":"10.42.0.0/16","SubnetMin":"10.43.0.0"}', 'SubnetMin', /not in Network/],
    ['{"Network":"10.42.0.0/16","SubnetMax":"10.42.5.7"}', 'SubnetMax', /boundary: use 10\.42\.5\.0/],
    ['{"Network":"10.42.0.0/16","SubnetMin":"10.42.9.0","SubnetMax":"10.42.3.0"}', 'SubnetMin', /after SubnetMax/],
    ['{"Network":"10.42.0.0/16","Backend":{"Type":"ipip"}}', 'Backend.Type', /not supported: use one of vxlan/],
    ['{"Network":"10.42.0.0/16","Backend":{"Type":5}}', 'Backend.Type', /must be of type string/],
    ['{"Network":"10.42.0.0/16","EnableIPv6":true}', 'EnableIPv6', /IPv6/],
    ['{"Network":"10.42.0.0/16","EnableIPv4":false}', 'EnableIPv4', /IPv4-only/],
    ['[]', '', /must be of type object/],
  ];
  for (const [text, field, msg] of bad) {
    it(`rejects ${text} naming ${field || 'the document'}`, () => {
      assert.throws(() => parseNetConfig(text), (e: unknown) => {
        assert.ok(e instanceof InvalidConfigError, String(e));
        assert.match(e.message, msg);
        if (field) assert.ok(e.field === field || e.field?.startsWith(field), `field ${e.field} for ${text}`);
        return true;
      });
    });
  }
  it('rejects broken JSON as a decode error', () => {
    assert.throws(() => parseNetConfig('{"Network":'), DecodeError);
  });
});

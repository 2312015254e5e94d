import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidCidrError } from '../../shared/errors.js';
import { cidrEquals, containsCidr, formatCidr, formatIp, gatewayOf, lastOf, overlaps, parseCidr, parseIp, parseSubnetKey, subnetKeyOf } from '../../shared/ip/cidr.js';

describe('cidr', () => {
  it('parses and formats addresses', () => {
    assert.equal(formatIp(parseIp('10.5.34.1')), '10.5.34.1');
    assert.equal(parseIp('255.255.255.255'), 0xffffffff);
    for (const bad of ['01.2.3.4', '1.2.3', '256.1.1.1', 'a.b.c.d', '']) assert.throws(() => parseIp(bad), InvalidCidrError, bad);
  });
  it('parses CIDRs, strictly when asked', () => {
    assert.equal(formatCidr(parseCidr('10.5.0.0/16')), '10.5.0.0/16');
    assert.throws(() => parseCidr('10.5.0.0/33'), /prefix length/);
    assert.throws(() => parseCidr('10.5.0.0'), /not a CIDR/);
    assert.throws(() => parseCidr('10.5.0.1/16', { strict: true }), /host bits/);
  });
  it('computes containment, overlap (equal and nested ranges), gateway and last address', () => {
    const net = parseCidr('10.5.0.0/16');
    assert.ok(containsCidr(net, parseCidr('10.5.34.0/24')));
    assert.ok(!containsCidr(parseCidr('10.5.34.0/24'), net));
    assert.ok(overlaps(net, net));
    assert.ok(overlaps(net, parseCidr('10.5.34.0/24')) && overlaps(parseCidr('10.5.34.0/24'), net));
    assert.ok(!overlaps(parseCidr('10.5.0.0/24'), parseCidr('10.5.1.0/24')));
    assert.equal(formatIp(gatewayOf(parseCidr('10.5.34.0/24'))), '10.5.34.1');
    assert.equal(formatIp(lastOf(parseCidr('10.5.34.0/24'))), '10.5.34.255');
    assert.ok(cidrEquals(parseCidr('10.5.34.7/24'), parseCidr('10.5.34.0/24')));
  });
  it('round-trips flannel subnet keys, ignoring a dual-stack suffix', () => {
    assert.equal(subnetKeyOf(parseCidr('10.5.34.0/24')), '10.5.34.0-24');
    assert.equal(formatCidr(parseSubnetKey('10.5.34.0-24&fc00::-64')), '10.5.34.0/24');
    assert.throws(() => parseSubnetKey('10.5.34.1-24'), /host bits/);
    assert.throws(() => parseSubnetKey('junk'), InvalidCidrError);
  });
});

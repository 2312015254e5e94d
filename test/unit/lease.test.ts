import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLease, encodeLeaseAttrs, MAX_LEASE_VALUE_BYTES } from '../../daemon/subnet/lease.js';

describe('lease values from etcd (untrusted)', () => {
  it('decodes flannel values and re-encodes them byte for byte', () => {
    const v = '{"PublicIP":"192.168.1.10","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"a2:11:22:33:44:55"}}';
    const d = decodeLease('10.5.34.0-24', v);
    assert.ok(d.ok);
    assert.equal(encodeLeaseAttrs(d.lease.attrs), v);
    assert.equal(encodeLeaseAttrs({ PublicIP: '1.2.3.4', BackendType: 'host-gw', BackendData: null }), '{"PublicIP":"1.2.3.4","BackendType":"host-gw","BackendData":null}');
  });
  const hostile: Array<[string, string, string | Buffer, RegExp]> = [
    ['malformed JSON', '10.5.1.0-24', '{"PublicIP":', /not valid JSON/],
    ['PublicIP not an address', '10.5.1.0-24', '{"PublicIP":"evil; rm -rf /"}', /not an IPv4 address/],
    ['PublicIP missing', '10.5.1.0-24', '{"BackendType":"vxlan"}', /PublicIP/],
    ['PublicIP of the wrong type', '10.5.1.0-24', '{"PublicIP":7}', /PublicIP must be of type string/],
    ['bad key', 'not-a-subnet', '{"PublicIP":"1.2.3.4"}', /not|invalid/],
    ['huge value', '10.5.1.0-24', Buffer.alloc(MAX_LEASE_VALUE_BYTES + 1, 0x20), /limit/],
    ['array value', '10.5.1.0-24', '[1,2]', /not a lease/],
  ];
  for (const [name, key, value, reason] of hostile) {
    it(`skips ${name} with a reason`, () => {
      const d = decodeLease(key, value);
      assert.equal(d.ok, false);
      if (!d.ok) assert.match(d.reason, reason);
    });
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLease, encodeLeaseAttrs, MAX_LEASE_VALUE_BYTES, sameAttrs } from '../../daemon/subnet/lease.js';

describe('lease values from etcd (untrusted)', () => {
  // What flanneld writes (pkg/lease LeaseAttrs), per backend.
  const flannelValues = {
    vxlan: '{"PublicIP":"192.168.1.10","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"a2:11:22:33:44:55"}}',
    'host-gw': '{"PublicIP":"192.168.1.10","PublicIPv6":null,"BackendType":"host-gw"}',
    udp: '{"PublicIP":"192.168.1.10","PublicIPv6":null}',
    alloc: '{"PublicIP":"192.168.1.10","PublicIPv6":null}',
  };

  it('decodes flannel values and re-encodes them byte for byte', () => {
    for (const v of Object.values(flannelValues)) {
      const d = decodeLease('10.5.34.0-24', v);
      assert.ok(d.ok);
      assert.equal(encodeLeaseAttrs(d.lease.attrs), v);
    }
  });

  it('writes each backend\'s lease as flannel does: PublicIPv6 null, no BackendData for host-gw, no BackendType for udp and alloc', () => {
    const vtep = { VNI: 1, VtepMAC: 'a2:11:22:33:44:55' };
    assert.equal(encodeLeaseAttrs({ PublicIP: '192.168.1.10', BackendType: 'vxlan', BackendData: vtep }), flannelValues.vxlan);
    for (const type of ['host-gw', 'udp', 'alloc'] as const) {
      assert.equal(encodeLeaseAttrs({ PublicIP: '192.168.1.10', BackendType: type, BackendData: null }), flannelValues[type], type);
    }
  });

  it('still reads the values twill wrote before, as the same leases', () => {
    const old = {
      vxlan: '{"PublicIP":"192.168.1.10","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"a2:11:22:33:44:55"}}',
      'host-gw': '{"PublicIP":"192.168.1.10","BackendType":"host-gw","BackendData":null}',
      udp: '{"PublicIP":"192.168.1.10","BackendType":"udp","BackendData":null}',
      alloc: '{"PublicIP":"192.168.1.10","BackendType":"alloc","BackendData":null}',
    };
    for (const [type, v] of Object.entries(old)) {
      const was = decodeLease('10.5.34.0-24', v);
      const now = decodeLease('10.5.34.0-24', flannelValues[type as keyof typeof old]);
      assert.ok(was.ok && now.ok, type);
      assert.equal(encodeLeaseAttrs(was.lease.attrs), flannelValues[type as keyof typeof old], type);
      assert.ok(sameAttrs(was.lease.attrs, now.lease.attrs), `${type}: rewriting an old value is no change`);
    }
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

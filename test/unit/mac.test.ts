/** MAC helpers: checking, bytes and back, random locally administered unicast ones with a prefix. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMac, formatMacNumber, isMac, macBytes, macNumber, randomMac } from '../../shared/net/mac.js';

describe('MAC addresses', () => {
  it('checks text, converts to bytes and back in lower case', () => {
    assert.ok(isMac('0A:bb:00:00:00:01'));
    for (const bad of ['0a:bb:cc:dd:ee', '0a:bb:cc:dd:ee:ff:00', '0a-bb-cc-dd-ee-ff', 'zz:bb:cc:dd:ee:ff', 7, undefined]) assert.ok(!isMac(bad), String(bad));
    assert.deepEqual([...macBytes('0A:bb:00:00:00:01')], [0x0a, 0xbb, 0, 0, 0, 1]);
    assert.equal(formatMac(macBytes('0A:BB:00:00:00:01')), '0a:bb:00:00:00:01');
    assert.throws(() => macBytes('0a:bb'), /"0a:bb" is not a MAC address/);
  });

  it('holds a MAC as a 48-bit number, either case in, lower case out', () => {
    assert.equal(macNumber('0A:0b:0c:0d:0e:0F'), 0x0a0b0c0d0e0f);
    assert.equal(macNumber('ff:ff:ff:ff:ff:ff'), 2 ** 48 - 1);
    assert.equal(macNumber('00:00:00:00:00:00'), 0);
    for (const m of ['0a:0b:0c:0d:0e:0f', 'ff:ff:ff:ff:ff:fe', '00:00:00:00:00:01', '9a:f0:00:19:a9:fa']) assert.equal(formatMacNumber(macNumber(m)), m);
    assert.notEqual(macNumber('02:00:00:00:01:00'), macNumber('02:00:00:01:00:00'));
    assert.throws(() => macNumber('0a:bb:cc:dd:ee:gg'), /"0a:bb:cc:dd:ee:gg" is not a MAC address/);
  });

  it('makes random locally administered unicast MACs, keeping a prefix', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const m = randomMac();
      assert.ok(isMac(m) && m === m.toLowerCase());
      assert.equal(macBytes(m)[0]! & 0x03, 0x02, 'locally administered, unicast');
      seen.add(m);
    }
    assert.equal(seen.size, 50);
    assert.match(randomMac('0A:58'), /^0a:58(:[0-9a-f]{2}){4}$/);
  });
});

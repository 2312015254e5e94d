/** Names derived from an attachment: stable, hex, distinct per containerID and per ifName. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostVethName } from '../../plugin/links.js';
import { attachmentHash } from '../../shared/net/attachment-hash.js';

describe('attachment names', () => {
  it('are hex, long enough for every use, and the same every time', () => {
    const h = attachmentHash('0123456789abcdef', 'eth0');
    assert.match(h, /^[0-9a-f]{39}$/);
    assert.equal(attachmentHash('0123456789abcdef', 'eth0'), h);
    assert.match(hostVethName('0123456789abcdef', 'eth0'), /^veth[0-9a-f]{11}$/);
    assert.ok(hostVethName('x'.repeat(500), 'net1').length <= 15, 'a valid interface name');
  });

  it('differ with the container, the interface, and where one ends and the other begins', () => {
    const names = new Set([
      attachmentHash('abc', 'eth0'), attachmentHash('abd', 'eth0'), attachmentHash('abc', 'eth1'),
      attachmentHash('ab', 'ceth0'), attachmentHash('abce', 'th0'), attachmentHash('', 'abceth0'),
    ]);
    assert.equal(names.size, 6);
  });

  it('give 100,000 container IDs 100,000 distinct veth names (44 bits)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(hostVethName(i.toString(16).padStart(64, '0'), 'eth0'));
    assert.equal(seen.size, 100_000);
  });

  it('spread sequential IDs over every hex digit of the veth name', () => {
    for (let pos = 4; pos < 15; pos++) {
      const digits = new Set(Array.from({ length: 2000 }, (_, i) => hostVethName(`pod-${i}`, 'eth0')[pos]));
      assert.equal(digits.size, 16, `position ${pos}`);
    }
  });
});

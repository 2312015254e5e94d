/**
 * Names derived from an attachment: the host veth's (found again by name by DEL, CHECK and GC) and
 * a queued release's file. They are part of the state on every host: a different function would
 * make GC delete the veths of pods created by an earlier version, so the values are pinned here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostVethName } from '../../plugin/links.js';
import { attachmentHash } from '../../shared/net/attachment-hash.js';

describe('attachment names', () => {
  it('are sha256 of "containerID\\0ifName" in hex, the same in every version', () => {
    assert.equal(attachmentHash('0123456789abcdef', 'eth0'), '95d930c5a66b2036a9ec16dc13c504ed7f547806f37744d78cfdbac51bbb9913');
    assert.equal(hostVethName('0123456789abcdef', 'eth0'), 'veth95d930c5a66');
    assert.ok(hostVethName('x'.repeat(500), 'net1').length <= 15, 'a valid interface name');
  });

  it('differ with the container, the interface, and where one ends and the other begins', () => {
    const names = new Set([
      attachmentHash('abc', 'eth0'), attachmentHash('abd', 'eth0'), attachmentHash('abc', 'eth1'),
      attachmentHash('ab', 'ceth0'), attachmentHash('abce', 'th0'), attachmentHash('', 'abceth0'),
    ]);
    assert.equal(names.size, 6);
  });
});

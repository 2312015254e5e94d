import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AllocationStore } from '../../daemon/ipam/allocation-store.js';
import { AddressExhaustedError, AddressUnavailableError } from '../../shared/errors.js';
import { formatIp, parseCidr } from '../../shared/ip/cidr.js';

describe('pod address store', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'twill-ipam-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const a = (i: number) => ({ containerID: `c${i}`, ifName: 'eth0' });

  it('gives the whole subnet except network, gateway and broadcast, then says it is full', () => {
    const s = new AllocationStore(dir, parseCidr('10.5.1.0/28'));
    const got = Array.from({ length: 13 }, (_, i) => formatIp(s.allocate(a(i))));
    assert.equal(got[0], '10.5.1.2');
    assert.equal(got[12], '10.5.1.14');
    assert.equal(new Set(got).size, 13);
    assert.throws(() => s.allocate(a(99)), AddressExhaustedError);
  });
  it('is idempotent for a repeated ADD and persists every change', () => {
    const s = new AllocationStore(dir, parseCidr('10.5.1.0/24'));
    const ip = s.allocate(a(1));
    assert.equal(s.allocate(a(1)), ip);
    s.allocate(a(2));
    const reloaded = new AllocationStore(dir, parseCidr('10.5.1.0/24'));
    assert.deepEqual(reloaded.list(), s.list());
    assert.equal(reloaded.allocate(a(1)), ip);
    assert.equal(formatIp(reloaded.allocate(a(3))), '10.5.1.4', 'round-robin continues after a restart');
  });
  it('releases (unknown attachments are fine) and garbage-collects what is not valid', () => {
    const s = new AllocationStore(dir, parseCidr('10.5.1.0/24'));
    for (let i = 1; i <= 4; i++) s.allocate(a(i));
    assert.equal(s.release(a(9)), null);
    assert.equal(formatIp(s.release(a(1))!), '10.5.1.2');
    const released = s.gc([a(2), a(4)]);
    assert.deepEqual(released.map((r) => r.containerID), ['c3']);
    assert.deepEqual(new AllocationStore(dir, parseCidr('10.5.1.0/24')).list().map((r) => r.containerID), ['c2', 'c4']);
  });
  it('honours a requested address inside the subnet and refuses others clearly', () => {
    const s = new AllocationStore(dir, parseCidr('10.5.1.0/24'));
    assert.equal(formatIp(s.allocate(a(1), '10.5.1.50')), '10.5.1.50');
    assert.equal(formatIp(s.allocate(a(1), '10.5.1.50')), '10.5.1.50');
    assert.throws(() => s.allocate(a(2), '10.5.1.50'), /already allocated to c1/);
    assert.throws(() => s.allocate(a(2), '10.5.1.1'), AddressUnavailableError);
    assert.throws(() => s.allocate(a(2), '10.5.2.9'), /not a pod address of this host's subnet/);
  });
});

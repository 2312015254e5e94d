import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AddressAllocator } from '../../daemon/ipam/address-allocator.js';
import { type AllocationState, type AllocationStore, FileAllocationStore } from '../../daemon/ipam/allocation-store.js';
import { AddressExhaustedError, AddressInvalidError, AddressUnavailableError, AttachmentConflictError } from '../../shared/errors.js';
import { formatIp, parseCidr, parseIp } from '../../shared/ip/cidr.js';

const a = (i: number) => ({ containerID: `c${i}`, ifName: 'eth0' });

/** A store in memory: what was saved last, and whether saving fails. */
class FakeStore implements AllocationStore {
  saved: AllocationState = { last: null, allocations: new Map() };
  saves = 0;
  failing = false;
  load(): AllocationState {
    return this.saved;
  }
  save(state: AllocationState): void {
    if (this.failing) throw new Error('disk full');
    this.saves++;
    this.saved = { last: state.last, allocations: new Map(state.allocations) };
  }
}

describe('pod address allocator', () => {
  it('gives the whole subnet except network, gateway and broadcast, then says it is full', () => {
    const s = new AddressAllocator(parseCidr('10.5.1.0/28'), new FakeStore());
    const got = Array.from({ length: 13 }, (_, i) => formatIp(s.allocate(a(i))));
    assert.equal(got[0], '10.5.1.2');
    assert.equal(got[12], '10.5.1.14');
    assert.equal(new Set(got).size, 13);
    assert.throws(() => s.allocate(a(99)), AddressExhaustedError);
  });
  it('honours a requested address inside the subnet and refuses others clearly', () => {
    const s = new AddressAllocator(parseCidr('10.5.1.0/24'), new FakeStore());
    assert.equal(formatIp(s.allocate(a(1), { ip: '10.5.1.50' })), '10.5.1.50');
    assert.equal(formatIp(s.allocate(a(1), { ip: '10.5.1.50' })), '10.5.1.50');
    assert.throws(() => s.allocate(a(2), { ip: '10.5.1.50' }), /already allocated to c1/);
    assert.throws(() => s.allocate(a(2), { ip: '10.5.1.1' }), AddressInvalidError);
    assert.throws(() => s.allocate(a(2), { ip: '10.5.2.9' }), /10\.5\.2\.9 is not in this host's subnet 10\.5\.1\.0\/24: pod addresses are 10\.5\.1\.2-10\.5\.1\.254/);
  });
  it('tells an address that can never be a pod address here (invalid) from one that is taken (unavailable)', () => {
    const s = new AddressAllocator(parseCidr('10.5.1.0/24'), new FakeStore());
    s.allocate(a(1), { ip: '10.5.1.50' });
    const invalid: Array<[string, RegExp]> = [
      ['1.2.3.4', /not in this host's subnet/], ['0.0.0.0', /not in this host's subnet/], ['10.5.1.0', /the network address of/],
      ['10.5.1.1', /the gateway of/], ['10.5.1.255', /the broadcast address of/], ['10.5.1.256', /not an IPv4 address/], ['x', /not an IPv4 address/],
    ];
    for (const [ip, why] of invalid) {
      assert.throws(() => s.allocate(a(2), { ip }), (e: unknown) => e instanceof AddressInvalidError && why.test(e.message), ip);
      assert.throws(() => s.allocate(a(1), { ip }), AddressInvalidError, `${ip} for an attachment that holds an address`);
    }
    assert.throws(() => s.allocate(a(2), { ip: '10.5.1.50' }), AddressUnavailableError, 'taken');
    assert.throws(() => s.allocate(a(1), { ip: '10.5.1.51' }), AddressUnavailableError, 'the attachment holds another');
    assert.equal(s.used, 1, 'nothing allocated by a refusal');
  });
  it('records each allocation\'s network and refuses the attachment to another network', () => {
    const s = new AddressAllocator(parseCidr('10.5.1.0/24'), new FakeStore());
    const ip = s.allocate(a(1), { network: 'netA' });
    assert.equal(s.allocate(a(1), { network: 'netA' }), ip, 'a repeated ADD of the same network');
    assert.throws(() => s.allocate(a(1), { network: 'netB' }), (e: unknown) => e instanceof AttachmentConflictError && /eth0 of container c1 is attached to network netA/.test(e.message));
    assert.equal(s.allocate(a(1)), ip, 'a plugin that sends no network gets the attachment\'s address');
    assert.deepEqual(s.list(), [{ ...a(1), network: 'netA', address: formatIp(ip) }]);
    assert.equal(s.release(a(1)), ip, 'DEL releases whatever the network');
  });
  it('GC of a network releases only that network\'s allocations; one without a network is adopted when valid, never released', () => {
    const store = new FakeStore();
    const s = new AddressAllocator(parseCidr('10.5.1.0/24'), store);
    s.allocate(a(1), { network: 'netA' });
    s.allocate(a(2), { network: 'netB' });
    s.allocate(a(3), { network: 'netB' });
    s.allocate(a(4)); // an older plugin's: no network
    s.allocate(a(5));
    const outcome = s.gc('netB', [a(2), a(4)]);
    assert.deepEqual(outcome.released.map((r) => r.containerID), ['c3']);
    assert.deepEqual(outcome.adopted.map((r) => [r.containerID, r.network]), [['c4', 'netB']]);
    assert.deepEqual(s.list().map((r) => [r.containerID, r.network ?? null]), [['c1', 'netA'], ['c2', 'netB'], ['c4', 'netB'], ['c5', null]]);
    assert.deepEqual([...store.saved.allocations.values()].map((r) => r.network ?? null), ['netA', 'netB', 'netB', null], 'saved');
    assert.deepEqual(s.gc('netA', []).released.map((r) => r.containerID), ['c1']);
    assert.deepEqual(s.gc(undefined, []).released.map((r) => r.containerID), ['c5'], 'a GC without a network collects those without one');
    assert.deepEqual(s.list().map((r) => r.containerID), ['c2', 'c4']);
  });
  it('saves every change before answering, and undoes one that cannot be saved', () => {
    const store = new FakeStore();
    const s = new AddressAllocator(parseCidr('10.5.1.0/24'), store);
    s.allocate(a(1));
    assert.equal(store.saves, 1);
    assert.deepEqual([...store.saved.allocations.keys()].map(formatIp), ['10.5.1.2']);
    store.failing = true;
    assert.throws(() => s.allocate(a(2)), /disk full/);
    assert.equal(s.used, 1, 'the failed allocation is not kept');
    store.failing = false;
    assert.equal(formatIp(s.allocate(a(2))), '10.5.1.3', 'round-robin did not move past the failed one');
  });
  it('starts from the stored state, dropping addresses outside the pod range', () => {
    const store = new FakeStore();
    store.saved = { last: parseIp('10.5.1.7'), allocations: new Map([[parseIp('10.5.1.5'), a(1)], [parseIp('10.5.1.255'), a(2)], [parseIp('10.5.9.9'), a(3)]]) };
    const s = new AddressAllocator(parseCidr('10.5.1.0/24'), store);
    assert.deepEqual(s.list(), [{ ...a(1), address: '10.5.1.5' }]);
    assert.equal(formatIp(s.allocate(a(4))), '10.5.1.8', 'round-robin continues after the stored last');
  });
});

describe('pod address file store', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'twill-ipam-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const open = (subnet = parseCidr('10.5.1.0/24')) => new AddressAllocator(subnet, new FileAllocationStore(dir, subnet));

  it('is idempotent for a repeated ADD and persists every change', () => {
    const s = open();
    const ip = s.allocate(a(1));
    assert.equal(s.allocate(a(1)), ip);
    s.allocate(a(2));
    const reloaded = open();
    assert.deepEqual(reloaded.list(), s.list());
    assert.equal(reloaded.allocate(a(1)), ip);
    assert.equal(formatIp(reloaded.allocate(a(3))), '10.5.1.4', 'round-robin continues after a restart');
    assert.deepEqual(readdirSync(join(dir, 'ipam')), ['10.5.1.0-24.json'], 'no temporary file left');
    assert.equal(statSync(join(dir, 'ipam', '10.5.1.0-24.json')).mode & 0o777, 0o600);
  });
  it('releases (unknown attachments are fine) and garbage-collects what is not valid', () => {
    const s = open();
    for (let i = 1; i <= 4; i++) s.allocate(a(i));
    assert.equal(s.release(a(9)), null);
    assert.equal(formatIp(s.release(a(1))!), '10.5.1.2');
    const { released } = s.gc(undefined, [a(2), a(4)]);
    assert.deepEqual(released.map((r) => r.containerID), ['c3']);
    assert.deepEqual(open().list().map((r) => r.containerID), ['c2', 'c4']);
  });
  it('keeps each allocation\'s network, and reads a file written before networks were recorded', () => {
    const s = open();
    s.allocate(a(1), { network: 'netA' });
    s.allocate(a(2));
    assert.deepEqual(open().list(), [{ ...a(1), network: 'netA', address: '10.5.1.2' }, { ...a(2), address: '10.5.1.3' }]);
    const file = join(dir, 'ipam', '10.5.1.0-24.json');
    writeFileSync(file, JSON.stringify({ subnet: '10.5.1.0/24', last: '10.5.1.9', allocations: { '10.5.1.9': { containerID: 'old', ifName: 'eth0' } } }));
    const old = open();
    assert.deepEqual(old.list(), [{ containerID: 'old', ifName: 'eth0', address: '10.5.1.9' }]);
    assert.deepEqual(old.gc('netA', []).released, [], 'not released by a network\'s GC');
    assert.equal(formatIp(old.allocate({ containerID: 'old', ifName: 'eth0' }, { network: 'netA' })), '10.5.1.9', 'its ADD again gives it a network');
    assert.deepEqual(open().list(), [{ containerID: 'old', ifName: 'eth0', network: 'netA', address: '10.5.1.9' }]);
  });
  it('makes its directories 0700 whatever the umask', () => {
    const before = process.umask(0);
    try {
      const sub = join(dir, 'data');
      new FileAllocationStore(sub, parseCidr('10.5.1.0/24'));
      assert.equal(statSync(sub).mode & 0o777, 0o700);
      assert.equal(statSync(join(sub, 'ipam')).mode & 0o777, 0o700);
    } finally {
      process.umask(before);
    }
  });
});

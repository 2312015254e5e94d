/**
 * The queue of releases the plugin writes while the daemon cannot be reached
 * (shared/protocol/pending-release.ts, daemon/ipam/pending-releases.ts): a queued release frees
 * only what its attachment held when it was queued, and only files nobody else could have written
 * are applied.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { apiHandlers } from '../../daemon/api/handlers.js';
import { AddressAllocator } from '../../daemon/ipam/address-allocator.js';
import type { AllocationStore } from '../../daemon/ipam/allocation-store.js';
import { PendingReleases, trustProblem } from '../../daemon/ipam/pending-releases.js';
import { formatIp, parseCidr } from '../../shared/ip/cidr.js';
import { parsePendingRelease, pendingDir, pendingReleaseName, queueRelease } from '../../shared/protocol/pending-release.js';
import { testLogger } from '../helpers/log.js';

const subnet = parseCidr('10.5.7.0/24');
const memoryStore = (): AllocationStore => ({ load: () => ({ last: null, allocations: new Map() }), save: () => undefined });
const p1 = { containerID: 'p1', ifName: 'eth0' };
const stat = (uid: number, mode: number, kind: 'file' | 'dir' = 'file') => ({ uid, mode, isFile: () => kind === 'file', isDirectory: () => kind === 'dir' });

describe('queued releases', () => {
  let dataDir: string;
  let lines: Array<Record<string, unknown>>;
  let ipam: AddressAllocator;
  let queue: PendingReleases;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'twill-pending-'));
    lines = [];
    ipam = new AddressAllocator(subnet, memoryStore());
    queue = new PendingReleases(dataDir, ipam, testLogger(lines));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  const queued = () => readdirSync(pendingDir(dataDir)).filter((n) => n.endsWith('.json'));

  it('are applied and removed; the queue is made private whatever the umask', () => {
    ipam.allocate(p1);
    const before = process.umask(0);
    try {
      queueRelease(dataDir, p1);
    } finally {
      process.umask(before);
    }
    assert.equal(statSync(pendingDir(dataDir)).mode & 0o777, 0o700);
    assert.equal(statSync(join(pendingDir(dataDir), pendingReleaseName(p1))).mode & 0o777, 0o600);
    queue.applyAll();
    assert.deepEqual(ipam.list(), []);
    assert.deepEqual(queued(), []);
    assert.equal(lines.find((l) => l['msg'] === 'queued release applied')?.['address'], '10.5.7.2');
  });

  it('never free an address given after they were queued: an ADD takes its attachment\'s queued release first', () => {
    const handlers = apiHandlers({
      network: parseCidr('10.5.0.0/16'), backendType: 'vxlan', mtu: 1450, ipMasq: false,
      lease: { current: { subnet, attrs: { PublicIP: '192.168.9.1', BackendType: 'vxlan', BackendData: null }, leaseId: '1', expiresAt: 0 }, held: true },
      ipam, pending: queue, links: { delete: () => ({ deleting: false }) }, log: testLogger(),
    });
    const first = handlers['POST /v1/ipam/allocate']({ ...p1, network: 'n' }).address;
    queueRelease(dataDir, p1); // DEL could not reach the daemon
    const second = handlers['POST /v1/ipam/allocate']({ ...p1, network: 'n' }).address; // the same attachment ADDed again
    assert.notEqual(second, first, 'the old address was released before the new ADD was answered');
    assert.deepEqual(queued(), [], 'the ADD took the queued release');
    queue.applyAll(); // the next look at the queue
    assert.deepEqual(ipam.list().map((e) => `${e.address}/24`), [second], 'the new ADD keeps its address');
  });

  it('free what the attachment held when a later DEL is queued after an ADD', () => {
    ipam.allocate(p1);
    queue.takeFor(p1); // nothing queued: nothing happens
    assert.equal(ipam.used, 1);
    queueRelease(dataDir, p1);
    queue.applyAll();
    assert.equal(ipam.used, 0);
  });

  it('refuse files others could have written (group- or world-writable, a symlink), log each once and leave them', () => {
    ipam.allocate(p1);
    const file = join(pendingDir(dataDir), pendingReleaseName(p1));
    queueRelease(dataDir, p1);
    chmodSync(file, 0o666);
    queue.applyAll();
    queue.applyAll();
    queue.takeFor(p1);
    assert.equal(ipam.used, 1, 'not applied');
    assert.ok(existsSync(file), 'left where it is');
    const refused = lines.filter((l) => l['msg'] === 'queued release refused');
    assert.equal(refused.length, 1, 'logged once');
    assert.match(String(refused[0]!['reason']), /mode 666/);
    rmSync(file);
    const elsewhere = join(dataDir, 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify(p1), { mode: 0o600 });
    symlinkSync(elsewhere, file);
    queue.applyAll();
    assert.equal(ipam.used, 1, 'a symlink is not followed');
    assert.match(String(lines.filter((l) => l['msg'] === 'queued release refused').at(-1)!['reason']), /symbolic link/);
    rmSync(file);
    chmodSync(pendingDir(dataDir), 0o777);
    queueRelease(dataDir, p1);
    chmodSync(file, 0o600);
    queue.applyAll();
    assert.equal(ipam.used, 1, 'nothing is applied from a directory others may write');
    assert.match(String(lines.filter((l) => l['msg'] === 'queued release refused').at(-1)!['reason']), /directory .* mode 777/);
    chmodSync(pendingDir(dataDir), 0o700);
    queue.applyAll();
    assert.equal(ipam.used, 0, 'applied once the directory is private again');
  });

  it('remove a file that is not a release, or one stored under another attachment\'s name', () => {
    ipam.allocate(p1);
    queueRelease(dataDir, { containerID: 'other', ifName: 'eth0' });
    writeFileSync(join(pendingDir(dataDir), pendingReleaseName({ containerID: 'other', ifName: 'eth0' })), JSON.stringify(p1), { mode: 0o600 });
    writeFileSync(join(pendingDir(dataDir), 'junk.json'), '{', { mode: 0o600 });
    queue.applyAll();
    assert.equal(ipam.used, 1, 'p1 is not released by a file of another name');
    assert.deepEqual(queued(), []);
    assert.equal(formatIp(ipam.allocate(p1)), '10.5.7.2');
  });

  it('trust only regular files and directories of root or the daemon\'s user that nobody else may write', () => {
    assert.equal(trustProblem(stat(0, 0o100600), 'file'), null);
    assert.equal(trustProblem(stat(0, 0o100644), 'file'), null);
    assert.match(trustProblem(stat(4242, 0o100600), 'file')!, /owned by uid 4242/);
    assert.match(trustProblem(stat(0, 0o100620), 'file')!, /mode 620/);
    assert.match(trustProblem(stat(0, 0o100602), 'file')!, /mode 602/);
    assert.match(trustProblem(stat(0, 0o40700, 'dir'), 'file')!, /not a regular file/);
    assert.equal(trustProblem(stat(0, 0o40700, 'dir'), 'directory'), null);
    assert.match(trustProblem(stat(0, 0o40777, 'dir'), 'directory')!, /mode 777/);
  });

  it('parse only a release of the attachment the file is named after', () => {
    assert.deepEqual(parsePendingRelease(pendingReleaseName(p1), JSON.stringify({ ...p1, extra: 1 })), p1);
    assert.equal(parsePendingRelease('x.json', JSON.stringify(p1)), null);
    assert.equal(parsePendingRelease(pendingReleaseName(p1), '{"containerID":1,"ifName":"eth0"}'), null);
    assert.equal(parsePendingRelease(pendingReleaseName(p1), 'null'), null);
  });
});

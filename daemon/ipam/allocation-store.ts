/**
 * Where this host's pod-address allocations are kept (host-local's disk Store): one JSON file per
 * subnet, `<dataDir>/ipam/<subnet>.json`, replaced atomically after every change and before the
 * answer, so a restarted daemon never gives one address to two pods. Not fsync'ed, like
 * host-local's files: the page cache outlives a daemon crash, and a machine crash takes every pod
 * of the host with it (their namespaces are gone; the runtime ADDs them again), so an allocation
 * lost with it belonged to a pod that no longer exists. Two fsyncs would cost every pod's ADD a
 * disk flush.
 *
 * Each allocation records its network (`network`, the plugin config's `name`). Files written
 * before networks were recorded have none: such an allocation is released by its attachment's
 * DEL, by a GC without a network (an older plugin's), or becomes a network's when that network's
 * GC lists its attachment as valid; a network's GC never releases it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/fs/atomic-file.js';
import { makeDirs, PRIVATE_DIR_MODE } from '../../shared/fs/state-dir.js';
import { type Cidr, formatCidr, formatIp, parseIp, subnetKeyOf } from '../../shared/ip/cidr.js';
import type { Attachment } from '../../shared/protocol/api.js';

/** Who holds an address: the attachment, and its network (absent: recorded without one). */
export interface Allocation extends Attachment {
  network?: string;
}

/** What is stored: the address given out last (round-robin continues after it) and who holds which. */
export interface AllocationState {
  last: number | null;
  allocations: ReadonlyMap<number, Allocation>;
}

/** The allocator's storage port; a fake one drives the allocator's unit tests. */
export interface AllocationStore {
  /** The state last saved; empty when nothing was. */
  load(): AllocationState;
  /** Replaces the saved state; throws when it cannot. */
  save(state: AllocationState): void;
}

/** The file's JSON. */
interface StoreFile {
  subnet: string;
  last: string;
  allocations: Record<string, Allocation>;
}

/** The directory of the allocation files. */
export function ipamDir(dataDir: string): string {
  return join(dataDir, 'ipam');
}

/** The JSON file of one subnet under `<dataDir>/ipam/`. */
export class FileAllocationStore implements AllocationStore {
  readonly path: string;

  constructor(dataDir: string, private readonly subnet: Cidr) {
    const dir = ipamDir(dataDir);
    makeDirs(dataDir, PRIVATE_DIR_MODE);
    makeDirs(dir, PRIVATE_DIR_MODE);
    this.path = join(dir, `${subnetKeyOf(subnet)}.json`);
  }

  load(): AllocationState {
    let data: StoreFile;
    try {
      data = JSON.parse(readFileSync(this.path, 'utf8')) as StoreFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { last: null, allocations: new Map() };
      throw e;
    }
    const allocations = new Map<number, Allocation>();
    for (const [ipText, a] of Object.entries(data.allocations ?? {})) {
      const held: Allocation = { containerID: a.containerID, ifName: a.ifName };
      if (typeof a.network === 'string') held.network = a.network;
      allocations.set(parseIp(ipText), held);
    }
    let last: number | null = null;
    try {
      last = parseIp(data.last);
    } catch { /* none recorded */ }
    return { last, allocations };
  }

  save(state: AllocationState): void {
    const data: StoreFile = { subnet: formatCidr(this.subnet), last: state.last === null ? '' : formatIp(state.last), allocations: {} };
    for (const [ip, a] of [...state.allocations].sort((x, y) => x[0] - y[0])) data.allocations[formatIp(ip)] = a;
    writeFileAtomic(this.path, JSON.stringify(data, null, 1), { mode: 0o600, fsync: false });
  }
}

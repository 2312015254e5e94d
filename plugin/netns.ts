/**
 * Checks a CNI_NETNS path before use, as the reference ns.GetNS/IsNSorErr do: it must exist and be
 * a network namespace (nsfs), or a /proc/<pid>/ns/net link (procfs).
 */
import { lstatSync, readlinkSync, statfsSync } from 'node:fs';
import { NsPathNotExistError, NsPathNotNetnsError } from '../shared/errors.js';
import { netnsId } from '../shared/net/netns-id.js';

const NSFS_MAGIC = 0x6e736673;
const PROCFS_MAGIC = 0x9fa0;

/** Throws NsPathNotExistError / NsPathNotNetnsError. */
export function assertNetns(path: string): void {
  let type: number;
  try {
    type = Number(statfsSync(path).type);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NsPathNotExistError(`CNI_NETNS ${path} does not exist`);
    throw new NsPathNotNetnsError(`CNI_NETNS ${path} cannot be read: ${(e as Error).message}`);
  }
  if (type !== NSFS_MAGIC && type !== PROCFS_MAGIC) throw new NsPathNotNetnsError(`CNI_NETNS ${path} is not a network namespace`);
  // /proc/<pid>/ns/* links name their kind ("net:[4026532177]"): refuse mnt, pid, uts... namespaces.
  if (lstatSync(path).isSymbolicLink() && !/^net:\[/.test(readlinkSync(path))) {
    throw new NsPathNotNetnsError(`CNI_NETNS ${path} is a ${readlinkSync(path).split(':')[0]} namespace, not a network namespace`);
  }
}

/** True when `path` is the network namespace this process runs in (the host's). */
export function isOwnNetns(path: string): boolean {
  try {
    return netnsId(path) === netnsId();
  } catch {
    return false;
  }
}

/** True when the path exists and is a network namespace. */
export function netnsExists(path: string): boolean {
  try {
    assertNetns(path);
    return true;
  } catch {
    return false;
  }
}

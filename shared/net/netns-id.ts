/** A network namespace's identity: "<dev>:<inode>" of its nsfs file, what `ip netns identify` compares. */
import { statSync } from 'node:fs';

/** The identity of the namespace at `path` (default: this process's own). */
export function netnsId(path = '/proc/self/ns/net'): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

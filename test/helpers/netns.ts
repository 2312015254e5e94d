/**
 * Throw-away network namespaces with unique names ("tw-<id>-<role>"). Every namespace made here is
 * remembered and deleted at process exit too, so a failing test leaves nothing behind. Nothing here
 * touches the root network namespace.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const created = new Set<string>();
let exitHookInstalled = false;

/** A short unique id for names (namespaces, etcd prefixes). */
export function uniqueId(): string {
  return randomBytes(3).toString('hex');
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const ns of created) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch { /* already gone */ }
    }
  });
}

/** Runs a command and returns stdout; throws with stderr on failure. */
export function sh(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs `ip -n <ns> ...`. */
export function ipIn(ns: string, ...args: string[]): string {
  return sh('ip', ['-n', ns, ...args]);
}

/** Creates a namespace with loopback up. */
export function createNetns(name: string): string {
  if (name.length > 60) throw new Error(`netns name too long: ${name}`);
  installExitHook();
  sh('ip', ['netns', 'add', name]);
  created.add(name);
  ipIn(name, 'link', 'set', 'lo', 'up');
  return name;
}

/** Deletes a namespace (absent is fine). */
export function deleteNetns(name: string): void {
  try {
    sh('ip', ['netns', 'del', name]);
  } catch { /* already gone */ }
  created.delete(name);
}

/** The path runtimes pass as CNI_NETNS. */
export function netnsPath(name: string): string {
  return `/var/run/netns/${name}`;
}

/** True when the machine lets us create namespaces (root, CAP_SYS_ADMIN). */
export function canUseNetns(): boolean {
  try {
    execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `twilld install-cni`: what flannel's DaemonSet init containers do. Copies the plugin executable
 * into the CNI bin dir and writes the conflist into the CNI conf dir, each atomically (temp file in
 * the same directory, fsync, rename), so a runtime never sees half a file. Idempotent.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidConfigError } from '../../shared/errors.js';
import { writeFileAtomic } from '../../shared/fs/atomic-file.js';
import { DEFAULT_SOCKET_PATH } from '../../shared/protocol/api.js';

/** The conflist written when none is given: twill, then portmap for hostPort mappings. */
export function defaultConflist(socket = DEFAULT_SOCKET_PATH): string {
  return JSON.stringify({
    name: 'twill',
    cniVersion: '1.0.0',
    cniVersions: ['1.0.0', '1.1.0'],
    plugins: [
      { type: 'twill', socket, bridge: 'cni0', hairpinMode: true, isDefaultGateway: true },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2) + '\n';
}

/** Checks that a conflist is JSON with a plugins list containing a twill entry. */
export function checkConflist(text: string, source: string): void {
  let doc: { plugins?: Array<{ type?: unknown }>; name?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    throw new InvalidConfigError(`${source} is not valid JSON: ${(e as Error).message}`, 'conflist');
  }
  if (typeof doc.name !== 'string' || !Array.isArray(doc.plugins)) throw new InvalidConfigError(`${source} is not a conflist: it needs "name" and a "plugins" list`, 'conflist');
  if (!doc.plugins.some((p) => p.type === 'twill')) throw new InvalidConfigError(`${source} has no plugin of type "twill"`, 'conflist');
}

/** Where the plugin executable is: next to this executable (the installed binaries), or dist/bin from sources. */
export function defaultPluginPath(): string {
  const underNode = /^node\d*$/.test(basename(process.execPath));
  return underNode ? fileURLToPath(new URL('../../bin/twill', import.meta.url)) : join(dirname(process.execPath), 'twill');
}

/** Replaces `path` (and makes its directory) atomically, flushed to disk: a runtime never sees half a file. */
function replaceAtomic(path: string, data: string | Uint8Array, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, data, { mode, fsync: true });
}

export interface InstallOptions {
  binDir: string;
  confDir: string;
  plugin: string;
  /** Conflist file to install; default: defaultConflist(). */
  conflist?: string;
  confName: string;
}

/** Installs the plugin and the conflist; returns what it did, one line per file. */
export function installCni(o: InstallOptions): string[] {
  if (!existsSync(o.plugin)) throw new InvalidConfigError(`plugin executable ${o.plugin} does not exist: pass --plugin`, 'plugin');
  const text = o.conflist ? readFileSync(o.conflist === '-' ? 0 : o.conflist, 'utf8') : defaultConflist();
  checkConflist(text, o.conflist ?? 'the default conflist');
  const done: string[] = [];
  const binTarget = join(o.binDir, 'twill');
  const plugin = readFileSync(o.plugin);
  const same = existsSync(binTarget) && readFileSync(binTarget).equals(plugin);
  if (!same) replaceAtomic(binTarget, plugin, 0o755);
  done.push(`${same ? 'unchanged' : 'installed'} ${binTarget}`);
  const confTarget = join(o.confDir, o.confName);
  const confSame = existsSync(confTarget) && readFileSync(confTarget, 'utf8') === text;
  if (!confSame) replaceAtomic(confTarget, text, 0o644);
  done.push(`${confSame ? 'unchanged' : 'written'} ${confTarget}`);
  return done;
}

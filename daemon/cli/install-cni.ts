/**
 * `twilld install-cni`: what flannel's DaemonSet init containers do. Copies the plugin executable
 * into the CNI bin dir and writes the conflist into the CNI conf dir, each atomically (temp file in
 * the same directory, fsync, rename), so a runtime never sees half a file. Idempotent.
 *
 * The conflist's versions are chosen from what its plugins speak (conflist-versions.ts): each
 * plugin found where the runtime looks for plugins is asked with VERSION, as libcni asks it.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError, InvalidConfigError } from '../../shared/errors.js';
import { writeFileAtomic } from '../../shared/fs/atomic-file.js';
import { DEFAULT_SOCKET_PATH } from '../../shared/protocol/api.js';
import { run } from '../exec.js';
import { askedVersions, chooseConflistVersions, newestUsed, type PluginVersions, withConflistVersions } from './conflist-versions.js';

/**
 * The conflist written when none is given: twill, then portmap for hostPort mappings, at CNI 1.0.0,
 * which the portmap of every distribution since 2021 speaks (Debian 12's speaks nothing later).
 * install-cni adds 1.1.0 (GC, STATUS) in `cniVersions` where every installed plugin speaks it.
 */
export function defaultConflist(socket = DEFAULT_SOCKET_PATH): string {
  return JSON.stringify({
    name: 'twill',
    cniVersion: '1.0.0',
    plugins: [
      { type: 'twill', socket, bridge: 'cni0', hairpinMode: true, isDefaultGateway: true },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2) + '\n';
}

/** A conflist as install-cni reads it. */
interface ConflistDoc {
  name?: unknown;
  plugins?: Array<{ type?: unknown; ipam?: { type?: unknown } }>;
  [key: string]: unknown;
}

/** A plugin type is a file name in the CNI bin dir. */
const PLUGIN_TYPE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Checks that a conflist is JSON with a plugins list containing a twill entry, every type a file name; returns it parsed. */
export function checkConflist(text: string, source: string): ConflistDoc {
  let doc: ConflistDoc;
  try {
    doc = JSON.parse(text) as ConflistDoc;
  } catch (e) {
    throw new InvalidConfigError(`${source} is not valid JSON: ${(e as Error).message}`, 'conflist');
  }
  if (typeof doc !== 'object' || doc === null || typeof doc.name !== 'string' || !Array.isArray(doc.plugins)) throw new InvalidConfigError(`${source} is not a conflist: it needs "name" and a "plugins" list`, 'conflist');
  if (!doc.plugins.some((p) => p?.type === 'twill')) throw new InvalidConfigError(`${source} has no plugin of type "twill"`, 'conflist');
  const checkType = (field: string, t: unknown) => {
    if (typeof t !== 'string' || !PLUGIN_TYPE_RE.test(t)) throw new InvalidConfigError(`${source}: ${field} ${JSON.stringify(t)} is not the file name of a plugin`, 'conflist');
  };
  doc.plugins.forEach((p, i) => {
    checkType(`plugins[${i}].type`, p?.type);
    if (p?.ipam !== undefined) checkType(`plugins[${i}].ipam.type`, p.ipam?.type);
  });
  askedVersions(doc);
  return doc;
}

/** Every plugin a runtime runs for a checked conflist, in order: each entry's type and its IPAM plugin's. */
function pluginTypes(doc: ConflistDoc): string[] {
  const types = (doc.plugins ?? []).flatMap((p) => [p.type, p.ipam?.type]).filter((t): t is string => typeof t === 'string');
  return [...new Set(types)];
}

/** How long a plugin may take to answer VERSION. */
const VERSION_TIMEOUT_MS = 10_000;

/**
 * Asks a plugin executable which CNI versions it speaks (CNI_COMMAND=VERSION with a config version
 * on stdin, as libcni's GetVersionInfo asks); the versions, or what went wrong.
 */
export async function askVersions(bin: string): Promise<{ versions: string[] } | { problem: string }> {
  let r;
  try {
    r = await run(bin, [], '{"cniVersion":"1.0.0"}', { env: { CNI_COMMAND: 'VERSION', PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, timeoutMs: VERSION_TIMEOUT_MS });
  } catch (e) {
    return { problem: describeError(e) };
  }
  if (r.code !== 0) return { problem: `VERSION failed (exit status ${r.code}): ${(r.stdout + r.stderr).trim().slice(0, 300)}` };
  try {
    const info = JSON.parse(r.stdout) as { cniVersion?: unknown; supportedVersions?: unknown };
    if (Array.isArray(info.supportedVersions) && info.supportedVersions.every((v) => typeof v === 'string')) return { versions: info.supportedVersions as string[] };
    // Before 0.3.0 a plugin answered without the list (libcni's PluginDecoder reads 0.2.0 so).
    if (info.cniVersion === '0.2.0') return { versions: ['0.1.0', '0.2.0'] };
  } catch { /* not JSON: below */ }
  return { problem: `its VERSION answer is not {"cniVersion", "supportedVersions"}: ${r.stdout.trim().slice(0, 300)}` };
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

/** What `twilld install-cni` installs, and where. */
export interface InstallOptions {
  binDir: string;
  confDir: string;
  plugin: string;
  /** Conflist file to install; default: defaultConflist(). */
  conflist?: string;
  confName: string;
  /** Where the runtime finds the chained plugins (its CNI_PATH); default: [binDir]. */
  pluginDirs?: string[];
  /** Told each thing that may make pods fail later (a chained plugin missing, not answering). */
  warn?: (text: string) => void;
}

/**
 * The versions every plugin of `doc` speaks: twill from `twill` (the executable just installed),
 * the others from the first of `dirs` that holds them. A plugin missing or not answering is warned
 * about, by name, and counted as speaking up to the conflist's cniVersion.
 */
async function spokenVersions(doc: ConflistDoc, twill: string, dirs: string[], warn: (text: string) => void): Promise<PluginVersions[]> {
  const out: PluginVersions[] = [];
  for (const type of pluginTypes(doc)) {
    const bin = type === 'twill' ? twill : dirs.map((d) => join(d, type)).find((p) => existsSync(p));
    if (!bin) {
      warn(`plugin ${type} of the conflist is not in ${dirs.join(':')}: install it there (for portmap: the reference CNI plugins, e.g. the containernetworking-plugins package) or pods will fail at it; until then the conflist keeps its cniVersion`);
      out.push({ type, versions: null });
      continue;
    }
    const answer = await askVersions(bin);
    if ('problem' in answer) {
      if (type === 'twill') throw new InvalidConfigError(`the installed plugin ${bin} does not answer VERSION: ${answer.problem}`, 'plugin');
      warn(`plugin ${type} (${bin}) cannot tell which CNI versions it speaks: ${answer.problem}; the conflist keeps its cniVersion`);
      out.push({ type, versions: null });
    } else {
      out.push({ type, versions: answer.versions });
    }
  }
  return out;
}

/** Installs the plugin and the conflist, with versions its plugins speak; returns what it did, one line each. */
export async function installCni(o: InstallOptions): Promise<string[]> {
  if (!existsSync(o.plugin)) throw new InvalidConfigError(`plugin executable ${o.plugin} does not exist: pass --plugin`, 'plugin');
  const given = o.conflist ? readFileSync(o.conflist === '-' ? 0 : o.conflist, 'utf8') : defaultConflist();
  const doc = checkConflist(given, o.conflist ?? 'the default conflist');
  const done: string[] = [];
  const binTarget = join(o.binDir, 'twill');
  const plugin = readFileSync(o.plugin);
  const same = existsSync(binTarget) && readFileSync(binTarget).equals(plugin);
  if (!same) replaceAtomic(binTarget, plugin, 0o755);
  done.push(`${same ? 'unchanged' : 'installed'} ${binTarget}`);

  const spoken = await spokenVersions(doc, binTarget, o.pluginDirs ?? [o.binDir], o.warn ?? (() => undefined));
  const chosen = chooseConflistVersions(askedVersions(doc), spoken);
  const text = withConflistVersions(given, chosen);
  const confTarget = join(o.confDir, o.confName);
  const confSame = existsSync(confTarget) && readFileSync(confTarget, 'utf8') === text;
  if (!confSame) replaceAtomic(confTarget, text, 0o644);
  done.push(`${confSame ? 'unchanged' : 'written'} ${confTarget}`);
  const fields = chosen.cniVersions ? `cniVersion ${chosen.cniVersion}, cniVersions ${chosen.cniVersions.join(' ')}` : `cniVersion ${chosen.cniVersion}`;
  done.push(`CNI version ${newestUsed(chosen)} (${fields}): spoken by ${spoken.filter((p) => p.versions).map((p) => p.type).join(', ')}`);
  return done;
}

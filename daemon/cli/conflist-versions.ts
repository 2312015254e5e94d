/**
 * The CNI versions of the conflist `twilld install-cni` writes, chosen from what its plugins speak.
 *
 * A runtime gives every plugin of a list one cniVersion, and a plugin refuses a version it does not
 * speak (code 1), for DEL too: libcni runs DEL in reverse, so the plugin chained after twill fails
 * before twill's DEL runs, and the pod's address and veth leak at every retry. Which version a
 * runtime gives: libcni before 1.2 reads `cniVersion` only; libcni 1.2 and later take the highest
 * of `cniVersions` and `cniVersion` that they know (ConfListFromBytes, libcni/conf.go). Hence:
 * - `cniVersion` never goes up (an older runtime may know no later version, and only it reads this
 *   field), only down to the highest version every plugin speaks;
 * - `cniVersions` lists the versions from there up to the highest every plugin speaks (no higher
 *   than the conflist's own `cniVersions`, when it has some), which only libcni 1.2 and later read;
 * - a plugin that is missing or does not answer VERSION counts as speaking every version up to the
 *   conflist's `cniVersion` and no later one.
 */
import { compareVersions } from '../../shared/cni-version.js';
import { InvalidConfigError } from '../../shared/errors.js';

/** The versions one plugin of the conflist speaks (its VERSION answer); null when it could not be asked. */
export interface PluginVersions {
  type: string;
  versions: readonly string[] | null;
}

/** The version fields of a conflist. */
export interface ConflistVersions {
  cniVersion: string;
  /** Absent: the conflist needs none (no version above `cniVersion` is spoken by every plugin). */
  cniVersions?: string[];
}

/** The bound of `cniVersion` when the conflist has none: every libcni since 1.0 runs 1.0.0 results. */
export const DEFAULT_CNI_VERSION = '1.0.0';

const VERSION_RE = /^\d+\.\d+\.\d+$/;

const le = (a: string, b: string): boolean => compareVersions(a, b) <= 0;

/** The version fields a conflist asks for, checked: dotted versions ("1.0.0") only. */
export function askedVersions(doc: Record<string, unknown>): { cniVersion?: string; cniVersions?: string[] } {
  const v = doc['cniVersion'];
  const vs = doc['cniVersions'];
  if (v !== undefined && (typeof v !== 'string' || !VERSION_RE.test(v))) throw new InvalidConfigError(`conflist cniVersion ${JSON.stringify(v)} is not a version like "1.0.0"`, 'cniVersion');
  if (vs !== undefined && (!Array.isArray(vs) || vs.some((x) => typeof x !== 'string' || !VERSION_RE.test(x)))) {
    throw new InvalidConfigError(`conflist cniVersions ${JSON.stringify(vs)} is not a list of versions like "1.1.0"`, 'cniVersions');
  }
  return { ...(v === undefined ? {} : { cniVersion: v as string }), ...(vs === undefined ? {} : { cniVersions: vs as string[] }) };
}

/**
 * The version fields to write, from what the conflist asks for and what each of its plugins speaks
 * (see the file's comment). Throws an InvalidConfigError naming every plugin's versions when no
 * version is spoken by all of them.
 */
export function chooseConflistVersions(asked: { cniVersion?: string; cniVersions?: string[] }, plugins: readonly PluginVersions[]): ConflistVersions {
  const bottom = asked.cniVersion ?? DEFAULT_CNI_VERSION;
  const top = asked.cniVersions?.length ? [...asked.cniVersions, bottom].sort(compareVersions).at(-1)! : undefined;
  const answered = plugins.filter((p) => p.versions !== null);
  if (answered.length === 0) throw new InvalidConfigError('no plugin of the conflist answered VERSION', 'plugins');
  let common = answered[0]!.versions!.filter((v) => VERSION_RE.test(v));
  for (const p of answered.slice(1)) common = common.filter((v) => p.versions!.includes(v));
  if (answered.length < plugins.length) common = common.filter((v) => le(v, bottom));
  if (top !== undefined) common = common.filter((v) => le(v, top));
  common = [...new Set(common)].sort(compareVersions);
  if (common.length === 0) {
    const spoken = plugins.map((p) => `${p.type} [${p.versions?.join(' ') ?? `unknown: counted as up to ${bottom}`}]`).join(', ');
    throw new InvalidConfigError(`no CNI version is spoken by every plugin of the conflist${top ? ` up to ${top}` : ''}: ${spoken}`, 'cniVersion');
  }
  // Below the asked cniVersion if any is spoken; else the lowest that is (nothing lower can work).
  const cniVersion = common.filter((v) => le(v, bottom)).at(-1) ?? common[0]!;
  const above = common.filter((v) => le(cniVersion, v));
  return above.length > 1 ? { cniVersion, cniVersions: above } : { cniVersion };
}

/** The version a runtime with libcni 1.2 or later gives the plugins of a conflist with these fields. */
export function newestUsed(v: ConflistVersions): string {
  return v.cniVersions?.at(-1) ?? v.cniVersion;
}

/**
 * `text` (a conflist) with its version fields set to `v`: `cniVersions` right after `cniVersion`, or
 * gone when `v` has none. `text` itself when they are already so.
 */
export function withConflistVersions(text: string, v: ConflistVersions): string {
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (doc['cniVersion'] === v.cniVersion && JSON.stringify(doc['cniVersions']) === JSON.stringify(v.cniVersions)) return text;
  const out: Record<string, unknown> = {};
  const put = () => {
    out['cniVersion'] = v.cniVersion;
    if (v.cniVersions) out['cniVersions'] = v.cniVersions;
  };
  for (const [k, val] of Object.entries(doc)) {
    if (k === 'cniVersions') continue;
    if (k === 'cniVersion') put();
    else out[k] = val;
    if (k === 'name' && !('cniVersion' in doc)) put();
  }
  if (!('cniVersion' in out)) put();
  return JSON.stringify(out, null, 2) + '\n';
}

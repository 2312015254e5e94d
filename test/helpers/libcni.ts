/**
 * A container runtime's side of a conflist, two ways.
 *
 * By hand, as libcni runs it (`runChain`): the cniVersion it gives every plugin (`libcniVersion`:
 * before 1.2 the list's `cniVersion`; from 1.2 on the highest entry of `cniVersions` and `cniVersion`
 * that it knows, as ConfListFromBytes in libcni/conf.go picks it), `name`, `cniVersion`, the
 * capabilities' `runtimeConfig` and `prevResult` injected into each entry, ADD in order, CHECK and DEL
 * with ADD's result as prevResult, DEL in reverse order, stopping at the first failure.
 *
 * Through the real libcni (`buildCnitool`): Debian's golang-github-appc-cni-dev (libcni 1.1.2; no
 * later libcni is packaged) built offline into the small cnitool of test/helpers/cnitool/main.go.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareVersions } from '../../shared/cni-version.js';
import { REPO } from './repo.js';
import { runPlugin, type PluginRun } from './run-plugin.js';

/** A conflist as a runtime reads it. */
export interface Conflist {
  name: string;
  cniVersion?: string;
  cniVersions?: string[];
  plugins: Array<Record<string, unknown>>;
}

/** The spec version the libcni releases of 1.2 and 1.3 implement (version.Current()). */
export const LIBCNI_1_2_SPEC = '1.1.0';

/**
 * The cniVersion a libcni gives every plugin of `list`: `generation` '1.1' reads `cniVersion`
 * only; '1.2' (and later) takes the highest of `cniVersions` and `cniVersion` that is not above the
 * spec version it implements.
 */
export function libcniVersion(list: Conflist, generation: '1.1' | '1.2'): string {
  if (generation === '1.1' || !list.cniVersions) return list.cniVersion ?? '';
  const known = [...list.cniVersions, ...(list.cniVersion ? [list.cniVersion] : [])].filter((v) => compareVersions(v, LIBCNI_1_2_SPEC) <= 0);
  return known.sort(compareVersions).at(-1) ?? list.cniVersion ?? '';
}

/** One attachment, and where the runtime looks for plugins. */
export interface ChainCall {
  /** Host namespace the runtime runs in. */
  hostNs: string;
  /** CNI_PATH: where the plugins are, first match wins. */
  binDirs: string[];
  containerID: string;
  netns: string;
  ifName: string;
  /** Capability arguments (runtimeConfig for the entries that declare the capability). */
  capabilityArgs?: Record<string, unknown>;
}

/** What a list command did: the final result (ADD), or the plugin it stopped at and its answer. */
export interface ChainRun {
  ok: boolean;
  result?: Record<string, unknown>;
  /** The type of the plugin that failed. */
  failedAt?: string;
  failure?: PluginRun;
}

/** The config libcni hands one entry: name and cniVersion of the list, runtimeConfig, prevResult. */
function entryConf(list: Conflist, entry: Record<string, unknown>, version: string, capabilityArgs: Record<string, unknown>, prevResult?: Record<string, unknown>): Record<string, unknown> {
  const caps = (entry['capabilities'] ?? {}) as Record<string, unknown>;
  const runtimeConfig = Object.fromEntries(Object.entries(capabilityArgs).filter(([k]) => caps[k] === true));
  return {
    ...entry, name: list.name, cniVersion: version,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
}

function findPlugin(type: string, dirs: string[]): string {
  const bin = dirs.map((d) => join(d, type)).find((p) => existsSync(p));
  if (!bin) throw new Error(`plugin ${type} not found in ${dirs.join(':')}`);
  return bin;
}

/**
 * Runs ADD, CHECK or DEL over `list` with `version` as libcni does; CHECK and DEL get `added` (the
 * result of the ADD, as libcni caches it) as every entry's prevResult.
 */
export async function runChain(command: 'ADD' | 'CHECK' | 'DEL', list: Conflist, version: string, c: ChainCall, added?: Record<string, unknown>): Promise<ChainRun> {
  const entries = command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: c.containerID, CNI_NETNS: c.netns, CNI_IFNAME: c.ifName, CNI_PATH: c.binDirs.join(':') };
  let prev = command === 'ADD' ? undefined : added;
  for (const entry of entries) {
    const type = String(entry['type']);
    const r = await runPlugin({ hostNs: c.hostNs, env, bin: findPlugin(type, c.binDirs), stdin: JSON.stringify(entryConf(list, entry, version, c.capabilityArgs ?? {}, prev)) });
    if (r.code !== 0) return { ok: false, failedAt: type, failure: r };
    if (command === 'ADD') prev = r.json;
  }
  return { ok: true, ...(command === 'ADD' && prev ? { result: prev } : {}) };
}

/** Where Debian's golang-github-appc-cni-dev puts libcni's source. */
export const LIBCNI_SRC = '/usr/share/gocode/src/github.com/containernetworking/cni/libcni';

let built: string | undefined;

/** Builds test/helpers/cnitool/main.go against Debian's libcni, offline, once per process (a few seconds); returns the executable. */
export function buildCnitool(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'twill-cnitool-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'cnitool');
  execFileSync('go', ['build', '-o', out, join(REPO, 'test', 'helpers', 'cnitool', 'main.go')], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(dir, 'cache'), GOFLAGS: '', CGO_ENABLED: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return (built = out);
}

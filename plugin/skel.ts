/**
 * The CNI dispatcher (the reference skel.go, I/O injected): reads CNI_* variables and the config on
 * stdin, checks versions and required variables, runs the command, and prints the result, or the
 * error object on stdout with exit status 1. Nothing else is ever printed on stdout.
 */
import { CNI_ERR, CniError, toCniError } from './cni/cni-error.js';
import { type CniResult, CURRENT_VERSION, SUPPORTED_VERSIONS } from './cni/types.js';
import { compareVersions } from '../shared/cni-version.js';
import { DecodeError } from '../shared/errors.js';
import { VERSION } from '../shared/version.js';
import { interfaceNameProblem } from './cni/interface-name.js';
import { isOwnNetns } from './netns.js';
import type { PluginConf } from './plugin-conf.js';

/** Largest config accepted on stdin. */
export const MAX_STDIN_BYTES = 1024 * 1024;

export interface CmdArgs {
  containerID: string;
  netns: string;
  ifName: string;
  args: Record<string, string>;
  path: string;
  conf: PluginConf;
  /** The config's prevResult, checked and read into the 1.x form (ADD and CHECK only; DEL takes whatever it gets). */
  prevResult?: CniResult;
}

export interface PluginFuncs {
  add(a: CmdArgs): Promise<Record<string, unknown>>;
  del(a: CmdArgs): Promise<void>;
  check(a: CmdArgs): Promise<void>;
  gc(a: CmdArgs): Promise<void>;
  status(a: CmdArgs): Promise<void>;
}

export interface PluginIo {
  env: Record<string, string | undefined>;
  readStdin(): Promise<Buffer>;
  stdout(text: string): void;
  stderr(text: string): void;
}

const REQUIRED: Record<string, string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
};
const MIN_VERSION: Record<string, string> = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };
const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks CNI_IFNAME as the reference ValidateInterfaceName does (in UTF-8 bytes); returns the problem or null. */
export function validateIfName(name: string): string | null {
  const problem = interfaceNameProblem(name);
  return problem && `CNI_IFNAME ${JSON.stringify(name)} ${problem}`;
}

function decode(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new DecodeError(`decoding the network config on stdin failed: ${(e as Error).message}`);
  }
}

function versionOf(raw: unknown): string {
  const v = (raw as { cniVersion?: unknown } | null)?.cniVersion;
  return typeof v === 'string' && v !== '' ? v : '0.1.0';
}

/** Runs one invocation; returns the exit status. */
export async function runSkel(funcs: PluginFuncs, io: PluginIo): Promise<number> {
  const env = io.env;
  const command = env['CNI_COMMAND'] ?? '';
  let version = CURRENT_VERSION;
  try {
    if (command === '') {
      io.stderr(`twill CNI plugin ${VERSION}: CNI spec ${SUPPORTED_VERSIONS.join(', ')}\n`);
      return 0;
    }
    if (command === 'VERSION') {
      let asked: string = CURRENT_VERSION;
      try {
        const v = (decode(await io.readStdin()) as { cniVersion?: unknown } | null)?.cniVersion;
        if (typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v)) asked = v;
      } catch { /* VERSION ignores its input */ }
      io.stdout(JSON.stringify({ cniVersion: asked, supportedVersions: SUPPORTED_VERSIONS }) + '\n');
      return 0;
    }
    const required = REQUIRED[command];
    if (!required) throw new CniError(CNI_ERR.INVALID_ENV, `unknown CNI_COMMAND: ${command}`, 'expected ADD, DEL, CHECK, GC, STATUS or VERSION');
    const missing = required.filter((k) => !env[k] && !(k === 'CNI_PATH' && env[k] === ''));
    if (missing.length) throw new CniError(CNI_ERR.INVALID_ENV, `required env variables [${missing.join(',')}] missing`);

    const stdin = await io.readStdin();
    if (stdin.length > MAX_STDIN_BYTES) throw new CniError(CNI_ERR.IO_FAILURE, `network config on stdin is larger than ${MAX_STDIN_BYTES} bytes`);
    const raw = decode(stdin);
    version = versionOf(raw);
    if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
      const v = version;
      version = CURRENT_VERSION;
      throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, 'incompatible CNI versions', `config is "${v}", plugin supports [${SUPPORTED_VERSIONS.join(' ')}]`);
    }
    const min = MIN_VERSION[command];
    if (min && compareVersions(version, min) < 0) throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `config version does not allow ${command}`, `${command} needs cniVersion ${min} or later`);
    const { parseCniArgs, parsePluginConf } = await import('./plugin-conf.js');
    const conf = parsePluginConf(raw);
    conf.cniVersion = version;

    const containerID = env['CNI_CONTAINERID'] ?? '';
    const ifName = env['CNI_IFNAME'] ?? '';
    if (required.includes('CNI_CONTAINERID') && !CONTAINER_ID_RE.test(containerID)) {
      throw new CniError(CNI_ERR.INVALID_ENV, 'invalid characters in containerID', `CNI_CONTAINERID ${JSON.stringify(containerID.slice(0, 80))} must match ${CONTAINER_ID_RE.source}`);
    }
    if (required.includes('CNI_IFNAME')) {
      const bad = validateIfName(ifName);
      if (bad) throw new CniError(CNI_ERR.INVALID_ENV, bad);
    }
    const netns = env['CNI_NETNS'] ?? '';
    if (netns && !netns.startsWith('/')) throw new CniError(CNI_ERR.INVALID_ENV, `CNI_NETNS "${netns.slice(0, 200)}" is not an absolute path`);
    // The reference skel refuses this too: ADD would configure, and DEL delete, the host's own interfaces.
    if (netns && isOwnNetns(netns)) throw new CniError(CNI_ERR.INVALID_ENV, `CNI_NETNS ${netns.slice(0, 200)} is the plugin's own network namespace, not a container's`);
    // Checked before anything is done (ADD would set the pod up first); DEL takes whatever it gets.
    const a: CmdArgs = { containerID, netns, ifName, args: parseCniArgs(env['CNI_ARGS'] ?? ''), path: env['CNI_PATH'] ?? '', conf };
    if ((command === 'ADD' || command === 'CHECK') && conf.prevResult !== undefined) {
      const { parsePrevResult } = await import('./cni/convert.js');
      a.prevResult = parsePrevResult(conf.prevResult, version);
    }
    switch (command) {
      case 'ADD':
        io.stdout(JSON.stringify(await funcs.add(a)) + '\n');
        return 0;
      case 'DEL':
        await funcs.del(a);
        return 0;
      case 'CHECK':
        await funcs.check(a);
        return 0;
      case 'GC':
        await funcs.gc(a);
        return 0;
      default:
        await funcs.status(a);
        return 0;
    }
  } catch (e) {
    const obj = toCniError(e, version);
    io.stdout(JSON.stringify(obj) + '\n');
    if (!(e instanceof CniError) && obj.code >= 100) io.stderr(`twill: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

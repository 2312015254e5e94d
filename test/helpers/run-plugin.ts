/**
 * Runs the plugin exactly as a runtime does: exec with CNI_* variables and the config on stdin,
 * inside a host namespace (`ip netns exec`), capturing exit status, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { PLUGIN_BIN } from './paths.js';

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined. */
  json: Record<string, unknown> | undefined;
}

export interface PluginCall {
  /** Host namespace to run in (none: the current one). */
  hostNs?: string;
  env: Record<string, string>;
  stdin: string | Buffer;
  bin?: string;
  /** Arguments for `bin` (the plugin takes none; for a wrapper such as unshare). */
  args?: string[];
  timeoutMs?: number;
}

export function runPlugin(c: PluginCall): Promise<PluginRun> {
  const bin = c.bin ?? PLUGIN_BIN;
  const [file, args] = c.hostNs ? ['ip', ['netns', 'exec', c.hostNs, bin, ...(c.args ?? [])]] : [bin, c.args ?? []];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...c.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), c.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch { /* not JSON */ }
      resolve({ code: code ?? -1, stdout, stderr: Buffer.concat(err).toString('utf8'), json });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(c.stdin);
  });
}

/** CNI_* variables for one attachment. */
export function cniEnv(command: string, o: { containerID?: string; netns?: string; ifName?: string; path?: string; args?: string } = {}): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: o.path ?? '/usr/lib/cni' };
  if (o.containerID !== undefined) env['CNI_CONTAINERID'] = o.containerID;
  if (o.netns !== undefined) env['CNI_NETNS'] = o.netns;
  if (o.ifName !== undefined) env['CNI_IFNAME'] = o.ifName;
  if (o.args !== undefined) env['CNI_ARGS'] = o.args;
  return env;
}

/**
 * Kernel access through iproute2 in child processes: argument arrays only (no shell ever), one
 * `-batch` process for many changes, `-json` for reads, and `nsenter --net=<path>` to act inside a
 * network namespace given by path (the CNI_NETNS form). Failures become typed errors here, once.
 */
import { execFile, spawn } from 'node:child_process';
import { KernelError, LinkNotFoundError } from '../errors.js';

/** Where to run: the current namespace, or the netns at `netns` (a path). */
export interface IpOptions {
  netns?: string;
}

/** The result of one finished child process. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a program with an argument array and optional stdin; never throws for a non-zero exit. */
export function run(file: string, args: readonly string[], stdin?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (stdin === undefined) {
      execFile(file, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(new KernelError(`cannot run ${file}: ${err.message}`, { cause: err }));
        resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
      });
      return;
    }
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => errOut.push(b));
    child.on('error', (e) => reject(new KernelError(`cannot run ${file}: ${e.message}`, { cause: e })));
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8'), code: code ?? 1 }));
    child.stdin.on('error', () => { /* reported through the exit status */ });
    child.stdin.end(stdin);
  });
}

function withNetns(file: string, args: readonly string[], opts: IpOptions): [string, string[]] {
  return opts.netns ? ['nsenter', [`--net=${opts.netns}`, file, ...args]] : [file, [...args]];
}

function toError(file: string, args: readonly string[], r: ExecResult): Error {
  const msg = r.stderr.trim() || `exit status ${r.code}`;
  const text = `${file} ${args.join(' ')}: ${msg}`;
  if (/Cannot find device|does not exist|No such device/.test(msg)) return new LinkNotFoundError(text);
  return new KernelError(text);
}

/** Runs `ip <args>` (or `bridge`/`nft` via `file`), throwing a typed error on failure. */
export async function runTool(file: 'ip' | 'bridge', args: readonly string[], opts: IpOptions = {}): Promise<string> {
  const [f, a] = withNetns(file, args, opts);
  const r = await run(f, a);
  if (r.code !== 0) throw toError(file, args, r);
  return r.stdout;
}

/** Runs `ip <args>`. */
export function ip(args: readonly string[], opts: IpOptions = {}): Promise<string> {
  return runTool('ip', args, opts);
}

/** Runs `ip -json <args>` and parses the answer (an empty answer is []). */
export async function ipJson<T = unknown>(args: readonly string[], opts: IpOptions = {}): Promise<T[]> {
  const out = await runTool('ip', ['-json', ...args], opts);
  return out.trim() ? (JSON.parse(out) as T[]) : [];
}

/** One failed line of a batch. */
export interface BatchFailure {
  line: string;
  error: string;
}

/** Applies many commands with one `ip -batch -` (or `bridge -batch -`) process; the first failure throws. */
export async function runBatch(file: 'ip' | 'bridge', lines: readonly string[], opts: IpOptions = {}): Promise<void> {
  if (lines.length === 0) return;
  const [f, a] = withNetns(file, ['-batch', '-'], opts);
  const r = await run(f, a, lines.join('\n') + '\n');
  if (r.code === 0) return;
  const first = parseBatchErrors(r.stderr, lines)[0];
  throw new KernelError(first ? `${file} ${first.line}: ${first.error}` : `${file} -batch: ${r.stderr.trim()}`);
}

/** Pairs iproute2's "Command failed -:N" markers with the messages printed before them. */
export function parseBatchErrors(stderr: string, lines: readonly string[]): BatchFailure[] {
  const failures: BatchFailure[] = [];
  let pending: string[] = [];
  for (const l of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)/.exec(l);
    if (m) {
      const n = Number(m[1]);
      failures.push({ line: lines[n - 1] ?? `line ${n}`, error: pending.join(' ').trim() || 'failed' });
      pending = [];
    } else if (l.trim()) {
      pending.push(l.trim());
    }
  }
  if (failures.length === 0 && pending.length) failures.push({ line: 'batch', error: pending.join(' ') });
  return failures;
}

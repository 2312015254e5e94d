/**
 * Running the programs the daemon needs (nft, iptables, systemd-notify): argument arrays only, no
 * shell ever; the daemon's one use of node:child_process. A failure to start becomes a KernelError;
 * a non-zero exit status is the caller's to judge (`run`), or a KernelError too (`must`).
 */
import { execFile, spawn } from 'node:child_process';
import { KernelError } from '../shared/errors.js';

/** The result of one finished child process. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** How to run a child: its environment (default: the daemon's), and how long it may take before it is killed. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a program with an argument array and optional stdin; never throws for a non-zero exit (a timeout is one). */
export function run(file: string, args: readonly string[], stdin?: string, o: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (stdin === undefined) {
      execFile(file, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', ...(o.env ? { env: o.env } : {}), ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}) }, (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(new KernelError(`cannot run ${file}: ${err.message}`, { cause: err }));
        resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
      });
      return;
    }
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(o.env ? { env: o.env } : {}), ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}) });
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

/** Runs a program like `run`; a non-zero exit throws a KernelError naming the command and quoting its stderr. */
export async function must(file: string, args: readonly string[], stdin?: string): Promise<void> {
  const r = await run(file, args, stdin);
  if (r.code !== 0) throw new KernelError(`${file} ${args.join(' ')}: ${r.stderr.trim() || `exit status ${r.code}`}`);
}

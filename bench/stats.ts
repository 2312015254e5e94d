/** Small helpers for benchmarks: timing spawned commands inside this process, percentiles, numbers. */
import { spawn } from 'node:child_process';

/** Runs a command (argument array) with optional stdin; resolves with wall ms, exit code and stdout. */
export function timed(file: string, args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<{ ms: number; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ ms: performance.now() - t0, code, stdout }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The p-th percentile (nearest rank) of xs; NaN for no values. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The median (nearest rank, as percentile 50). */
export const median = (xs: number[]): number => percentile(xs, 50);

/** A number with fixed digits, or "-" when it is not finite. */
export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

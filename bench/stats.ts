/** Small helpers for benchmarks: timing spawned commands inside this process, percentiles, tables. */
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

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (xs: number[]): number => percentile(xs, 50);

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** A target line: "name: value (target op limit) ok|MISSED". */
export function verdict(name: string, value: number, op: '<=' | '>=', limit: number, unit = ''): string {
  const ok = op === '<=' ? value <= limit : value >= limit;
  return `${name}: ${fmt(value, 2)}${unit} (target ${op} ${limit}${unit}) ${ok ? 'ok' : 'MISSED'}`;
}

/** Renders rows as an aligned table. */
export function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

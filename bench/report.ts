/**
 * How the bench prints: markdown tables and target lines. A target line states what is divided by
 * what (the yardstick), both figures, the ratio, the target, and ends in `ok` or `MISSED`.
 */
import { fmt } from './stats.js';

/** Rows (the first is the header) as a markdown table, columns padded so it also reads as text. */
export function mdTable(rows: string[][]): string {
  const cols = rows[0]!.length;
  const w = Array.from({ length: cols }, (_, i) => Math.max(3, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => `| ${w.map((n, i) => (r[i] ?? '').padEnd(n)).join(' | ')} |`;
  return [line(rows[0]!), line(w.map((n) => '-'.repeat(n))), ...rows.slice(1).map(line)].join('\n');
}

type Op = '<=' | '>=';

function judged(value: number, op: Op, limit: number, unit = ''): string {
  const ok = op === '<=' ? value <= limit : value >= limit;
  return `(target ${op === '<=' ? '≤' : '≥'} ${limit}${unit ? ' ' + unit : ''}) ${ok ? 'ok' : 'MISSED'}`;
}

/** "- what: num / den unit = ratio (target ≤ limit) ok|MISSED". */
export function ratioTarget(what: string, num: number, den: number, unit: string, op: Op, limit: number, digits = 1): string {
  const value = num / den;
  return `- ${what}: ${fmt(num, digits)} / ${fmt(den, digits)} ${unit} = ${fmt(value, 2)} ${judged(value, op, limit)}`;
}

/** "- what: value unit (target ≤ limit) ok|MISSED" (the limit in the same unit). */
export function valueTarget(what: string, value: number, unit: string, op: Op, limit: number, digits = 2): string {
  return `- ${what}: ${fmt(value, digits)} ${unit} ${judged(value, op, limit, unit)}`;
}

/** "- what: not measured (why) (target ≤ limit unit) MISSED": a target whose measurement failed. */
export function unmeasuredTarget(what: string, why: string, unit: string, op: Op, limit: number): string {
  return `- ${what}: not measured (${why}) ${judged(NaN, op, limit, unit)}`;
}

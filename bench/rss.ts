/**
 * Resident memory of a running process (twilld) from /proc/<pid>/status: one reading, readings on
 * a schedule, and a min/median/max summary. Reading /proc costs the process nothing.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fmt, median } from './stats.js';

/** VmRSS (now) and VmHWM (peak so far) of a process, in MB. */
export function readRss(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** One reading taken at `atMs` after the schedule's start. */
export interface RssSample { atMs: number; rssMb: number }

/**
 * Reads a process's RSS at each of `atMs` (ms after `t0`, from performance.now()), waiting
 * between readings; a reading whose moment has passed is taken at once.
 */
export async function sampleRssAt(pid: number, t0: number, atMs: number[]): Promise<RssSample[]> {
  const out: RssSample[] = [];
  for (const at of [...atMs].sort((a, b) => a - b)) {
    const wait = t0 + at - performance.now();
    if (wait > 0) await delay(wait);
    out.push({ atMs: at, rssMb: readRss(pid).rssMb });
  }
  return out;
}

/** every, 2·every, … up to forMs (none when either is 0). */
export function everyUntil(everyMs: number, forMs: number): number[] {
  if (everyMs <= 0 || forMs <= 0) return [];
  return Array.from({ length: Math.floor(forMs / everyMs) }, (_, i) => (i + 1) * everyMs);
}

/** "min / median / max MB (n readings)" of RSS readings in MB. */
export function rssSummary(mb: number[]): string {
  if (mb.length === 0) return 'no readings';
  return `${fmt(Math.min(...mb))} / ${fmt(median(mb))} / ${fmt(Math.max(...mb))} MB (${mb.length} readings)`;
}

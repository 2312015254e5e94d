/**
 * Ending the process once its work is done. Node's process.exit() first tears down its platform
 * (joins V8's worker threads, runs static destructors): ~1.5 ms of every plugin call, after the
 * answer is already written. When the C library is loaded anyway (ADD, DEL, CHECK, GC, STATUS:
 * libc.ts registers itself), _exit(2) ends the process at once; otherwise process.exit() does.
 * Only for a process whose output is all written synchronously (the plugin's is: process-io.ts).
 * Also the way out when going on would be unsafe (exitUnsafe).
 */
import { writeSync } from 'node:fs';

let nativeExit: ((code: number) => void) | null = null;

/** Called by libc.ts when it loads. */
export function registerNativeExit(fn: (code: number) => void): void {
  nativeExit = fn;
}

/** Node writes a --cpu-prof/--heap-prof profile in process.exit(): keep that path when one is asked for. */
const profiling = /--(cpu|heap)-prof\b/.test(process.env['NODE_OPTIONS'] ?? '');

/** Ends the process with `code` now. */
export function exitNow(code: number): never {
  if (!profiling) nativeExit?.(code);
  process.exit(code);
}

/**
 * Ends the process at once after a failure that leaves it unsafe to go on (a thread stuck in
 * another network namespace would do the rest of its work there): `why` on stderr, exit status 70
 * (EX_SOFTWARE), through exitNow: with the C library loaded (whoever entered a namespace loaded it),
 * no handler or pending callback runs.
 */
export function exitUnsafe(why: string): never {
  try {
    writeSync(2, `${why}\n`);
  } catch { /* nothing more can be done */ }
  return exitNow(70);
}

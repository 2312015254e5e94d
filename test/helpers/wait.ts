/** Polls a condition until it holds; returns the milliseconds it took, throws naming what timed out. */
import { setTimeout as delay } from 'node:timers/promises';

export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await fn()) return Date.now() - t0;
    await delay(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Abortable timers and a capped exponential backoff, for every retry loop in the daemon. */

/** Resolves after `ms`, or at once (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Capped doubling delays: next() gives the delay to wait, reset() after a success. */
export class Backoff {
  private current: number;
  constructor(private readonly initialMs = 500, private readonly maxMs = 10_000) {
    this.current = initialMs;
  }
  next(): number {
    const d = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return d;
  }
  reset(): void {
    this.current = this.initialMs;
  }
}

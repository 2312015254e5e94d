/**
 * Turns pushed watch batches (and errors) into an async iterable that ends when `signal` aborts
 * and throws the first pushed error, which is how a registry reports a broken watch.
 */
import type { RegistryWatchBatch } from './registry.js';

export class WatchQueue<T = RegistryWatchBatch> {
  private readonly items: Array<T | Error> = [];
  private wake: (() => void) | null = null;

  constructor(initial: T[] = []) {
    this.items.push(...initial);
  }

  /** Adds a batch, or an error that ends the iteration. */
  push(item: T | Error): void {
    this.items.push(item);
    this.wake?.();
  }

  /** Yields until `signal` aborts; throws a pushed error; runs `cleanup` at the end either way. */
  async *drain(signal: AbortSignal, cleanup: () => void | Promise<void>): AsyncIterable<T> {
    const onAbort = (): void => this.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const item = this.items.shift();
        if (item === undefined) {
          await new Promise<void>((r) => (this.wake = r));
          this.wake = null;
          continue;
        }
        if (item instanceof Error) throw item;
        yield item;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await cleanup();
    }
  }
}

/**
 * The daemon's handle on the udp relay worker: starts it (in the single executable its code is
 * an embedded asset, otherwise the compiled file next to this one), waits until the TUN device
 * and the socket exist, forwards peer tables, logs the drops it reports, and stops it (closing
 * the TUN descriptor removes the device).
 */
import { isSea, getAsset } from 'node:sea';
import { Worker } from 'node:worker_threads';
import { KernelError } from '../../../shared/errors.js';
import type { Logger } from '../../logger.js';
import type { Peer } from './peer-table.js';
import type { FromWorker, RelayWorkerData, ToWorker } from './relay-protocol.js';

/** Name of the relay worker bundle among the executable's assets (scripts/build.mjs). */
const RELAY_WORKER_ASSET = 'udp-relay-worker.cjs';

function spawnWorker(data: RelayWorkerData): Worker {
  if (isSea()) return new Worker(getAsset(RELAY_WORKER_ASSET, 'utf8'), { eval: true, workerData: data });
  return new Worker(new URL('./relay-worker.js', import.meta.url), { workerData: data });
}

export class UdpRelay {
  private worker: Worker | null = null;
  /** Called once when the relay stops forwarding on its own (device deleted, worker died). */
  onFailure: (e: Error) => void = () => undefined;
  private failed = false;
  private ready = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly log: Logger) {}

  /** Creates the TUN device and the bound socket; rejects with the worker's reason. */
  async start(data: RelayWorkerData): Promise<void> {
    const w = (this.worker = spawnWorker(data));
    this.exited = new Promise((resolve) => w.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            this.ready = true;
            resolve();
            break;
          case 'error':
            reject(new KernelError(m.message, m.hint === undefined ? {} : { hint: m.hint }));
            break;
          case 'dropped':
            this.log.warn({ reason: m.reason, count: m.count, from: m.from, src: m.src, dst: m.dst }, 'udp packet dropped');
            break;
          case 'failed':
            this.failure(new KernelError(`udp relay stopped forwarding: ${m.message}`));
            break;
        }
      });
      w.on('error', (e) => {
        const err = new KernelError(`udp relay failed: ${e.message}`, { cause: e });
        reject(err);
        if (this.worker === w) this.failure(err);
      });
      w.on('exit', (code) => {
        const err = new KernelError(`udp relay exited (code ${code})`);
        reject(err);
        if (this.worker === w) this.failure(err);
      });
    });
    // The relay must not keep a stopping daemon alive: its descriptors close with the process.
    w.unref();
  }

  /** A failure after start (before, start() rejects instead). */
  private failure(e: Error): void {
    if (this.failed || !this.ready) return;
    this.failed = true;
    this.onFailure(e);
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  setPeers(own: { subnet: number; prefix: number } | null, peers: Peer[]): void {
    this.send({ type: 'peers', own, peers });
  }

  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    w.postMessage({ type: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => void w.terminate(), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}

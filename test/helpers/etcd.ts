/**
 * A real etcd (Debian's /usr/bin/etcd) for tests: a temporary data dir, free ports on loopback
 * (or, for the lab, an address inside a lab namespace), started and stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { sh } from './netns.js';

export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

/** A free TCP port on loopback (root namespace). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface EtcdOptions {
  /** Run inside this namespace (lab); default: the test's own namespace. */
  netns?: string;
  /** Listen address; default 127.0.0.1. */
  host?: string;
  clientPort?: number;
  peerPort?: number;
  /** Reuse a data dir (restart). */
  dataDir?: string;
  /** Member name and the whole initial cluster ("a=http://…,b=http://…") for multi-member clusters. */
  name?: string;
  initialCluster?: string;
  /** Extra etcd flags (TLS). */
  extraArgs?: string[];
  /** Scheme of the client URL (https with TLS flags). */
  scheme?: 'http' | 'https';
  /** Don't wait for health (members of a cluster that is still forming). */
  noWait?: boolean;
}

export class EtcdServer {
  private child: ChildProcess | null = null;
  readonly dataDir: string;
  readonly endpoint: string;
  private logTail = '';

  private constructor(readonly o: Required<Pick<EtcdOptions, 'host' | 'clientPort' | 'peerPort' | 'dataDir'>> & EtcdOptions) {
    this.dataDir = o.dataDir;
    this.endpoint = `${o.scheme ?? 'http'}://${o.host}:${o.clientPort}`;
  }

  /** Starts etcd and waits until it answers. */
  static async start(opts: EtcdOptions = {}): Promise<EtcdServer> {
    const host = opts.host ?? '127.0.0.1';
    const clientPort = opts.clientPort ?? (await freePort());
    const peerPort = opts.peerPort ?? (await freePort());
    const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'twill-etcd-'));
    const e = new EtcdServer({ ...opts, host, clientPort, peerPort, dataDir });
    await e.startProcess();
    return e;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The member's name in its cluster. */
  get name(): string {
    return this.o.name ?? 'tw';
  }

  private args(): string[] {
    const { host, peerPort } = this.o;
    const peer = `http://${host}:${peerPort}`;
    const name = this.name;
    return ['--name', name, '--data-dir', this.dataDir, '--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', this.o.initialCluster ?? `${name}=${peer}`,
      '--initial-cluster-token', 'twill-test', '--log-level', 'warn', ...(this.o.extraArgs ?? [])];
  }

  /** (Re)starts the process on the same ports and data dir. */
  async startProcess(): Promise<void> {
    const [file, args] = this.o.netns ? ['ip', ['netns', 'exec', this.o.netns, ETCD_BIN, ...this.args()]] : [ETCD_BIN, this.args()];
    // A process group of its own: a terminal's Ctrl-C reaches the demo or test, which stops it.
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr!.on('data', (b: Buffer) => (this.logTail = (this.logTail + b.toString()).slice(-4000)));
    this.child = child;
    if (this.o.noWait) return;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`etcd exited at start: ${this.logTail}`);
      if (this.isHealthy()) return;
      await delay(100);
    }
    throw new Error(`etcd did not become healthy: ${this.logTail}`);
  }

  /** Extra etcdctl flags (TLS client certificates). */
  ctlArgs: string[] = [];

  /** etcdctl against this server (inside its namespace when it has one). */
  ctl(...args: string[]): string {
    const base = ['env', 'ETCDCTL_API=3', 'etcdctl', '--endpoints', this.endpoint, '--command-timeout=3s', ...this.ctlArgs, ...args];
    return this.o.netns ? sh('ip', ['netns', 'exec', this.o.netns, ...base]) : sh(base[0]!, base.slice(1));
  }

  /** Waits until etcd answers. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.isHealthy()) return;
      await delay(100);
    }
    throw new Error(`etcd did not become healthy: ${this.logTail}`);
  }

  /** True when this member answers a quorum read (it is up and its cluster has a leader). */
  isHealthy(): boolean {
    try {
      this.ctl('endpoint', 'health');
      return true;
    } catch {
      return false;
    }
  }

  /** True when this member answers and says it is its cluster's leader. */
  isLeader(): boolean {
    try {
      // `-w simple`: endpoint, ID, version, DB size, is leader, ...
      return this.ctl('endpoint', 'status', '-w', 'simple').split(',').map((f) => f.trim())[4] === 'true';
    } catch {
      return false;
    }
  }

  /**
   * Stops the process by PID (SIGTERM, SIGKILL after 5 s; or SIGKILL at once, as a power loss
   * would); keeps the data dir.
   */
  async stopProcess(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  /** Kills the process at once (exit hooks, where nothing can be awaited). */
  killSync(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  /** Stops and removes the data dir. */
  async stop(): Promise<void> {
    await this.stopProcess();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * The multi-host lab: an underlay bridge inside a lab namespace (which also plays "outside" and
 * the router between underlay subnets, and runs etcd), N host namespaces on it, one twilld per
 * host, and pods made by the real plugin exactly as a runtime would. A host can run flannel's own
 * flanneld instead (startFlanneld), its pods made by the reference bridge + host-local plugins as
 * flannel's CNI plugin would have them made. With `etcdNetns` each etcd member gets a namespace of
 * its own on the bridge instead, so that one member can be cut off, partitioned or powered off
 * alone. Everything lives in namespaces named tw-<id>-*; destroy() (also run at exit) removes them
 * and stops every process it started, by PID. Nothing touches the root network namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { EtcdServer } from '../helpers/etcd.js';
import { createNetns, deleteNetns, ipIn, netnsPath, sh, uniqueId } from '../helpers/netns.js';
import { DAEMON_BIN, REF_PLUGINS } from '../helpers/paths.js';
import { twillEntryFromConflist } from '../helpers/repo.js';
import { cniEnv, runPlugin, type PluginRun } from '../helpers/run-plugin.js';
import { makePki, type TestPki } from '../helpers/tls.js';
import { flannelDelegateConf, FLANNELD_BIN } from './flanneld.js';

export const UNDERLAY_GW = '10.199.0.254';
export const UNDERLAY_GW2 = '10.199.1.254';
export const ETCD_PORT = 2379;

/** The address of etcd member `i` (0-based) when each member has a namespace of its own. */
export function etcdMemberIp(i: number): string {
  return `10.199.0.${201 + i}`;
}

export interface LabOptions {
  hosts: number;
  /** The network config written to etcd (as plain etcdctl would). */
  netConf: Record<string, unknown>;
  /** 1-based host numbers placed on the second underlay subnet (10.199.1.0/24, routed). */
  routedHosts?: number[];
  id?: string;
  /** Extra daemon flags for every host. */
  daemonArgs?: string[];
  /** etcd members (1 or 3), on the lab's underlay gateway address. */
  etcdMembers?: number;
  /** etcd over TLS with client certificates (a test CA is made in the lab dir). */
  etcdTls?: boolean;
  /**
   * Each etcd member in a namespace of its own (tw-<id>-e<i>, at etcdMemberIp(i) on the underlay
   * bridge) instead of all on the underlay's gateway address; not with etcdTls.
   */
  etcdNetns?: boolean;
}

export interface LabHost {
  n: number;
  ns: string;
  ip: string;
  dir: string;
  socket: string;
  subnetFile: string;
  dataDir: string;
  log: string;
  daemon: ChildProcess | null;
  /** Which daemon the host runs (or ran last): twill's, or flannel's own (startFlanneld). */
  runs: 'twilld' | 'flanneld';
}

export interface LabPod {
  host: LabHost;
  ns: string;
  containerID: string;
  ifName: string;
  ip: string;
  result: Record<string, unknown>;
}

const labs = new Set<Lab>();
process.on('exit', () => {
  for (const l of labs) l.destroySync();
});

export class Lab {
  readonly id: string;
  readonly dir: string;
  readonly underlay: string;
  readonly hosts: LabHost[] = [];
  readonly pods: LabPod[] = [];
  etcd!: EtcdServer;
  readonly etcdServers: EtcdServer[] = [];
  pki: TestPki | null = null;
  private podSeq = 0;

  private constructor(readonly opts: LabOptions) {
    this.id = opts.id ?? uniqueId();
    this.dir = mkdtempSync(join(tmpdir(), `twill-lab-${this.id}-`));
    this.underlay = `tw-${this.id}-u`;
  }

  /** Every member's client URL, comma-separated (what --etcd-endpoints takes). */
  get etcdEndpoint(): string {
    return this.etcdServers.map((e) => e.endpoint).join(',');
  }

  /** Daemon flags for reaching this lab's etcd (TLS certificates when it uses TLS). */
  etcdFlags(): string[] {
    const tls = this.pki ? ['--etcd-cafile', this.pki.ca, '--etcd-certfile', this.pki.clientCert, '--etcd-keyfile', this.pki.clientKey] : [];
    return ['--etcd-endpoints', this.etcdEndpoint, ...tls];
  }

  /** Builds the namespaces and etcd, and writes the network config. Daemons are started separately. */
  static async create(opts: LabOptions): Promise<Lab> {
    const lab = new Lab(opts);
    labs.add(lab);
    try {
      await lab.build();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  private async build(): Promise<void> {
    if (this.opts.etcdNetns && this.opts.etcdTls) throw new Error('the lab has no TLS certificates for etcd members in namespaces of their own');
    const u = createNetns(this.underlay);
    ipIn(u, 'link', 'add', 'br0', 'type', 'bridge');
    ipIn(u, 'addr', 'add', `${UNDERLAY_GW}/24`, 'dev', 'br0');
    ipIn(u, 'addr', 'add', `${UNDERLAY_GW2}/24`, 'dev', 'br0');
    ipIn(u, 'link', 'set', 'br0', 'up');
    sh('ip', ['netns', 'exec', u, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (let n = 1; n <= this.opts.hosts; n++) this.addHost(n);
    const members = this.opts.etcdMembers ?? 1;
    let extraArgs: string[] = [];
    if (this.opts.etcdTls) {
      const pki = (this.pki = makePki(this.dir, UNDERLAY_GW));
      extraArgs = ['--cert-file', pki.serverCert, '--key-file', pki.serverKey, '--client-cert-auth', '--trusted-ca-file', pki.ca];
    }
    const names = Array.from({ length: members }, (_, i) => `m${i}`);
    const place = (i: number) => (this.opts.etcdNetns
      ? { netns: this.plugEtcdMember(i), host: etcdMemberIp(i), clientPort: ETCD_PORT, peerPort: ETCD_PORT + 1 }
      : { netns: u, host: UNDERLAY_GW, clientPort: ETCD_PORT + 100 * i, peerPort: ETCD_PORT + 100 * i + 1 });
    const places = names.map((_, i) => place(i));
    const cluster = names.map((n, i) => `${n}=http://${places[i]!.host}:${places[i]!.peerPort}`).join(',');
    for (const [i, name] of names.entries()) {
      this.etcdServers.push(await EtcdServer.start({
        ...places[i]!, dataDir: join(this.dir, `etcd-${name}`),
        name, initialCluster: cluster, extraArgs, scheme: this.opts.etcdTls ? 'https' : 'http', noWait: true,
      }));
    }
    this.etcd = this.etcdServers[0]!;
    if (this.pki) for (const e of this.etcdServers) e.ctlArgs = ['--cacert', this.pki.ca, '--cert', this.pki.clientCert, '--key', this.pki.clientKey];
    for (const e of this.etcdServers) await e.waitHealthy();
    this.etcd.ctl('put', '/coreos.com/network/config', JSON.stringify(this.opts.netConf));
  }

  /** The namespace of etcd member `i` (etcdNetns). */
  etcdNs(i: number): string {
    if (!this.opts.etcdNetns) throw new Error('etcd members have namespaces of their own only with etcdNetns');
    return `tw-${this.id}-e${i}`;
  }

  /** The addresses the etcd members listen on. */
  get etcdAddresses(): string[] {
    return this.etcdServers.map((e) => e.o.host);
  }

  /** Creates member `i`'s namespace and plugs it into the underlay bridge; returns the namespace. */
  private plugEtcdMember(i: number): string {
    const ns = createNetns(this.etcdNs(i));
    // The same MAC at every power-on, as a machine's own NIC: hosts' neighbour entries stay right.
    const mac = `02:00:0a:c7:00:${(201 + i).toString(16)}`;
    ipIn(this.underlay, 'link', 'add', `e${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'address', mac, 'netns', ns);
    ipIn(this.underlay, 'link', 'set', `e${i}`, 'master', 'br0', 'up');
    ipIn(ns, 'addr', 'add', `${etcdMemberIp(i)}/24`, 'dev', 'eth0');
    ipIn(ns, 'link', 'set', 'eth0', 'up');
    ipIn(ns, 'route', 'add', 'default', 'via', UNDERLAY_GW);
    return ns;
  }

  /**
   * Powers etcd member `i` off, as a machine losing power (etcdNetns): SIGKILL, then its link and
   * namespace go, with every socket in them, so that no FIN or RST from it ever reaches a host.
   */
  async powerOffEtcd(i: number): Promise<void> {
    await this.etcdServers[i]!.stopProcess('SIGKILL');
    ipIn(this.underlay, 'link', 'del', `e${i}`);
    deleteNetns(this.etcdNs(i));
  }

  /** Powers etcd member `i` back on: the same address, the same data dir; waits until it answers. */
  async powerOnEtcd(i: number): Promise<void> {
    this.plugEtcdMember(i);
    const e = this.etcdServers[i]!;
    await e.startProcess();
    await e.waitHealthy();
  }

  private addHost(n: number): LabHost {
    const ns = createNetns(`tw-${this.id}-h${n}`);
    const routed = (this.opts.routedHosts ?? []).includes(n);
    const ip = routed ? `10.199.1.${n}` : `10.199.0.${n}`;
    ipIn(this.underlay, 'link', 'add', `u${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ipIn(this.underlay, 'link', 'set', `u${n}`, 'master', 'br0', 'up');
    ipIn(ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    ipIn(ns, 'link', 'set', 'eth0', 'up');
    ipIn(ns, 'route', 'add', 'default', 'via', routed ? UNDERLAY_GW2 : UNDERLAY_GW);
    const dir = join(this.dir, `h${n}`);
    mkdirSync(dir, { recursive: true });
    const h: LabHost = { n, ns, ip, dir, socket: join(dir, 'twilld.sock'), subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'data'), log: join(dir, 'twilld.log'), daemon: null, runs: 'twilld' };
    this.hosts.push(h);
    return h;
  }

  host(n: number): LabHost {
    const h = this.hosts.find((x) => x.n === n);
    if (!h) throw new Error(`no host ${n}`);
    return h;
  }

  /** Starts twilld in a host and waits until it reports ready. */
  async startDaemon(h: LabHost, extraArgs: string[] = [], waitReady = true): Promise<void> {
    if (h.daemon && h.daemon.exitCode === null) throw new Error(`daemon on h${h.n} already running`);
    const args = ['netns', 'exec', h.ns, DAEMON_BIN, ...this.etcdFlags(), '--iface', 'eth0', '--subnet-file', h.subnetFile,
      '--socket', h.socket, '--data-dir', h.dataDir, ...(this.opts.daemonArgs ?? []), ...extraArgs];
    appendFileSync(h.log, `--- start ${new Date().toISOString()} ${args.slice(3).join(' ')}\n`);
    // A process group of its own: a terminal's Ctrl-C reaches the demo or test, which stops it.
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr!.on('data', (b: Buffer) => appendFileSync(h.log, b));
    h.daemon = child;
    h.runs = 'twilld';
    if (waitReady) await this.waitReady(h);
  }

  /**
   * Starts flannel's flanneld (FLANNELD_BIN) in a host with flannel's own flags, on this lab's etcd
   * and the host's eth0, and waits for its "Running backend." line. Its only file is the host's
   * private subnet file (-subnet-file; flannel's default would be /run/flannel/subnet.env); the
   * environment is emptied so no FLANNELD_* variable or NOTIFY_SOCKET of the test run reaches it.
   * Start flanneld hosts one after another: two starting at the same instant can pick one subnet,
   * and the loser exits.
   */
  async startFlanneld(h: LabHost, extraArgs: string[] = [], waitReady = true): Promise<void> {
    if (h.daemon && h.daemon.exitCode === null) throw new Error(`daemon on h${h.n} already running`);
    const tls = this.pki ? [`-etcd-cafile=${this.pki.ca}`, `-etcd-certfile=${this.pki.clientCert}`, `-etcd-keyfile=${this.pki.clientKey}`] : [];
    const args = ['netns', 'exec', h.ns, FLANNELD_BIN, `-etcd-endpoints=${this.etcdEndpoint}`, ...tls, '-iface=eth0', `-subnet-file=${h.subnetFile}`, ...extraArgs];
    appendFileSync(h.log, `--- start ${new Date().toISOString()} ${args.slice(3).join(' ')}\n`);
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, detached: true });
    child.stderr!.on('data', (b: Buffer) => appendFileSync(h.log, b));
    h.daemon = child;
    h.runs = 'flanneld';
    if (waitReady) await this.waitReady(h);
  }

  /** Waits for the "ready" log line of the current run and a working socket (flanneld: its "Running backend." line). */
  async waitReady(h: LabHost, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ready = h.runs === 'flanneld' ? (run: string) => run.includes('Running backend.') : (run: string) => run.includes('"msg":"ready"') && existsSync(h.socket);
    while (Date.now() < deadline) {
      if (h.daemon?.exitCode !== null && h.daemon?.exitCode !== undefined) throw new Error(`${h.runs} on h${h.n} exited ${h.daemon.exitCode}:\n${this.logTail(h)}`);
      const text = readFileSync(h.log, 'utf8');
      if (ready(text.slice(text.lastIndexOf('--- start')))) return;
      await delay(50);
    }
    throw new Error(`${h.runs} on h${h.n} not ready:\n${this.logTail(h)}`);
  }

  logTail(h: LabHost, lines = 30): string {
    try {
      return readFileSync(h.log, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Stops a host's daemon by PID (SIGTERM, or the given signal) and waits for it to exit. */
  async stopDaemon(h: LabHost, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const c = h.daemon;
    h.daemon = null;
    if (!c || c.exitCode !== null) return c?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.startDaemon(h)));
  }

  /** GET on a host's API socket. */
  api<T>(h: LabHost, path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: h.socket, path, method: 'GET' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()) as T);
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * The plugin config a runtime would pass for this host: the twill entry of conf/10-twill.conflist
   * with name and cniVersion injected as libcni does, pointed at this host's socket and data dir.
   */
  pluginConf(h: LabHost, cniVersion = '1.1.0', extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...twillEntryFromConflist(cniVersion), socket: h.socket, dataDir: h.dataDir, ...extra };
  }

  /**
   * What flannel's CNI plugin would hand the bridge plugin for a pod on a flanneld host, from that
   * host's subnet.env, with host-local's state in the host's own directory.
   */
  flannelPodConf(h: LabHost): Record<string, unknown> {
    return flannelDelegateConf(this.subnetEnv(h), join(h.dir, 'cni-networks'));
  }

  /** Runs the plugin in a host. */
  plugin(h: LabHost, command: string, conf: Record<string, unknown>, o: { containerID?: string; netns?: string; ifName?: string; args?: string; timeoutMs?: number } = {}): Promise<PluginRun> {
    return runPlugin({ hostNs: h.ns, env: cniEnv(command, o), stdin: JSON.stringify(conf), ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }) });
  }

  /** Runs the reference bridge plugin (and through it host-local) in a host, as flannel's CNI plugin delegates. */
  bridgePlugin(h: LabHost, command: string, conf: Record<string, unknown>, o: { containerID?: string; netns?: string; ifName?: string } = {}): Promise<PluginRun> {
    return runPlugin({ hostNs: h.ns, env: cniEnv(command, { ...o, path: REF_PLUGINS }), stdin: JSON.stringify(conf), bin: join(REF_PLUGINS, 'bridge') });
  }

  /**
   * Creates a pod namespace and ADDs it through the plugin; on a flanneld host through the bridge
   * plugin as flannel's CNI plugin would (network cbr0).
   */
  async addPod(h: LabHost, o: { cniVersion?: string; conf?: Record<string, unknown> } = {}): Promise<LabPod> {
    const seq = ++this.podSeq;
    const ns = createNetns(`tw-${this.id}-h${h.n}p${seq}`);
    const containerID = `pod-${this.id}-${h.n}-${seq}`;
    const r = h.runs === 'flanneld'
      ? await this.bridgePlugin(h, 'ADD', { ...this.flannelPodConf(h), ...o.conf }, { containerID, netns: netnsPath(ns), ifName: 'eth0' })
      : await this.plugin(h, 'ADD', this.pluginConf(h, o.cniVersion, o.conf), { containerID, netns: netnsPath(ns), ifName: 'eth0' });
    if (r.code !== 0 || !r.json) {
      deleteNetns(ns);
      throw new Error(`ADD on h${h.n} failed (${r.code}): ${r.stdout} ${r.stderr}`);
    }
    const address = (r.json['ips'] as Array<{ address: string }> | undefined)?.[0]?.address ?? (r.json['ip4'] as { ip: string }).ip;
    const pod: LabPod = { host: h, ns, containerID, ifName: 'eth0', ip: address.split('/')[0]!, result: r.json };
    this.pods.push(pod);
    return pod;
  }

  /** DELs a pod through the plugin (the bridge plugin on a flanneld host) and removes its namespace. */
  async delPod(p: LabPod): Promise<PluginRun> {
    const where = { containerID: p.containerID, netns: netnsPath(p.ns), ifName: p.ifName };
    const r = p.host.runs === 'flanneld'
      ? await this.bridgePlugin(p.host, 'DEL', this.flannelPodConf(p.host), where)
      : await this.plugin(p.host, 'DEL', this.pluginConf(p.host), where);
    deleteNetns(p.ns);
    this.pods.splice(this.pods.indexOf(p), 1);
    return r;
  }

  /** One ping from a pod (or any lab namespace) to an address; true on a reply. */
  ping(fromNs: string, to: string, opts: { count?: number; waitS?: number } = {}): boolean {
    try {
      sh('ip', ['netns', 'exec', fromNs, 'ping', '-n', '-q', '-c', String(opts.count ?? 1), '-W', String(opts.waitS ?? 1), to]);
      return true;
    } catch {
      return false;
    }
  }

  /** Pings until it answers or the deadline passes. */
  async pingEventually(fromNs: string, to: string, timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.ping(fromNs, to)) return true;
      await delay(100);
    }
    return false;
  }

  /** Reads a host's subnet file as a map. */
  subnetEnv(h: LabHost): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of readFileSync(h.subnetFile, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }

  writeFile(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  /** Stops every daemon and etcd, deletes every namespace and the temp dir. */
  async destroy(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.stopDaemon(h).catch(() => undefined)));
    for (const e of this.etcdServers) await e.stopProcess().catch(() => undefined);
    this.destroySync();
  }

  /** The synchronous part of destroy (also used at process exit). */
  destroySync(): void {
    for (const h of this.hosts) {
      if (h.daemon && h.daemon.exitCode === null) h.daemon.kill('SIGKILL');
    }
    for (const e of this.etcdServers) e.killSync();
    for (const p of this.pods) deleteNetns(p.ns);
    for (const h of this.hosts) deleteNetns(h.ns);
    if (this.opts.etcdNetns) for (const i of this.etcdServers.keys()) deleteNetns(this.etcdNs(i));
    deleteNetns(this.underlay);
    rmSync(this.dir, { recursive: true, force: true });
    labs.delete(this);
  }
}

/**
 * twilld's flags, with flannel's names. Each flag can also come from the environment as
 * TWILLD_<NAME> or FLANNELD_<NAME> (e.g. FLANNELD_ETCD_ENDPOINTS); precedence: command line,
 * then TWILLD_*, then FLANNELD_*, then the default.
 */
import type { Argv } from 'yargs';
import { InvalidConfigError } from '../shared/errors.js';
import { isIp } from '../shared/ip/cidr.js';
import { DEFAULT_SOCKET_PATH } from '../shared/protocol/api.js';
import { DEFAULT_DATA_DIR } from '../shared/protocol/pending-release.js';
import type { IfaceSelection } from './external-interface.js';
import type { MasqMode } from './masq/masquerade.js';
import type { EtcdOptions } from './subnet/etcd-options.js';
import { LEASE_TTL_S } from './subnet/subnet-manager.js';

/** What the daemon runs with, from its flags. */
export interface DaemonSettings extends IfaceSelection {
  subnetFile: string;
  socketPath: string;
  dataDir: string;
  ipMasq: boolean;
  healthzIp: string;
  /** 0: no healthz server. */
  healthzPort: number;
  /** Remove masquerade rules and the data plane on a clean exit (the lease is kept either way). */
  cleanupOnExit: boolean;
  masqMode: MasqMode | 'auto';
  /** Seconds between re-reads of the kernel state twill owns. */
  kernelResyncS: number;
}

/** Flags shared by every subcommand that talks to etcd. */
export const etcdFlags = {
  'etcd-endpoints': { type: 'string', default: 'http://127.0.0.1:2379', describe: 'comma-separated list of etcd endpoints' },
  'etcd-prefix': { type: 'string', default: '/coreos.com/network', describe: 'etcd prefix of the network config and leases' },
  'etcd-certfile': { type: 'string', describe: 'client certificate (PEM) for etcd over TLS' },
  'etcd-keyfile': { type: 'string', describe: 'client key (PEM) for etcd over TLS' },
  'etcd-cafile': { type: 'string', describe: 'CA bundle (PEM) to verify the etcd servers' },
  'etcd-username': { type: 'string', describe: 'etcd username (auth)' },
  'etcd-password': { type: 'string', describe: 'etcd password (auth; never logged)' },
} as const;

/** Flags of the daemon itself. */
export const daemonFlags = {
  ...etcdFlags,
  iface: { type: 'string', array: true, default: [] as string[], describe: 'interface (name or IP) for inter-host traffic; repeatable, first match wins' },
  'iface-regex': { type: 'string', array: true, default: [] as string[], describe: 'regex matched against interface names and IPs; repeatable' },
  'public-ip': { type: 'string', describe: 'IP advertised to the other hosts (default: the interface address)' },
  'subnet-file': { type: 'string', default: '/run/flannel/subnet.env', describe: 'file to write the env variables describing this host\'s subnet to' },
  'subnet-lease-renew-margin': { type: 'number', default: 60, describe: 'minutes before expiry at which the subnet lease is renewed' },
  'subnet-lease-ttl': { type: 'number', default: LEASE_TTL_S, describe: 'seconds a subnet lease lives in etcd without renewal (flannel: 24 h; shorten only for tests)' },
  'ip-masq': { type: 'boolean', default: false, describe: 'masquerade traffic leaving the pod network (nftables, else iptables)' },
  'masq-mode': { type: 'string', default: 'auto', choices: ['auto', 'nftables', 'iptables'], describe: 'how --ip-masq installs its rules: auto = nftables when the nft tool works, else iptables' },
  'healthz-ip': { type: 'string', default: '0.0.0.0', describe: 'address the healthz server listens on' },
  'healthz-port': { type: 'number', default: 0, describe: 'port of the healthz server (GET /healthz); 0 disables it' },
  socket: { type: 'string', default: DEFAULT_SOCKET_PATH, describe: 'Unix socket of the local API (plugin ↔ daemon)' },
  'data-dir': { type: 'string', default: DEFAULT_DATA_DIR, describe: 'directory for pod-address allocations, the VTEP MAC and queued releases' },
  'kernel-resync-interval': { type: 'number', default: 60, describe: 'seconds between re-reads of the kernel state twill owns (heals routes or entries changed by hand)' },
  'cleanup-on-exit': { type: 'boolean', default: false, describe: 'on a clean stop remove masquerade rules, routes and devices (the lease is kept)' },
  'log-level': { type: 'string', default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'], describe: 'log level' },
} as const;

/** FLANNELD_* variables as a yargs config object (lower precedence than TWILLD_* and argv). */
export function flanneldEnv(env: NodeJS.ProcessEnv, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(flags)) {
    const v = env[`FLANNELD_${name.toUpperCase().replace(/-/g, '_')}`];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** A repeated single-valued flag: the last one counts, as with flannel's Go flags (yargs would make a list). */
const lastValue = (v: unknown): unknown => (Array.isArray(v) ? v[v.length - 1] : v);

/** Adds flags + env handling to a yargs instance. */
export function withFlags(y: Argv, flags: Record<string, object>): Argv {
  const options = Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, 'array' in f && f.array ? f : { ...f, coerce: lastValue }]));
  return y.options(options as never).env('TWILLD').config(flanneldEnv(process.env, flags)) as unknown as Argv;
}

function list(v: unknown): string[] {
  const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return items.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
}

/** etcd settings from parsed flags. */
export function etcdOptionsFrom(a: Record<string, unknown>): EtcdOptions {
  const endpoints = list(a['etcd-endpoints']);
  if (endpoints.length === 0) throw new InvalidConfigError('--etcd-endpoints is empty: give at least one endpoint, e.g. http://127.0.0.1:2379', 'etcd-endpoints');
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(e.replace(/\/$/, ''))) {
      throw new InvalidConfigError(`--etcd-endpoints entry "${e}" is not an http(s)://host:port URL`, 'etcd-endpoints');
    }
  }
  const str = (k: string): string | undefined => (a[k] === undefined || a[k] === '' ? undefined : String(a[k]));
  const o: EtcdOptions = { endpoints: endpoints.map((e) => e.replace(/\/$/, '')), prefix: String(a['etcd-prefix']) };
  const opt = { certFile: str('etcd-certfile'), keyFile: str('etcd-keyfile'), caFile: str('etcd-cafile'), username: str('etcd-username'), password: str('etcd-password') };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (o as unknown as Record<string, string>)[k] = v;
  if (!o.prefix.startsWith('/')) throw new InvalidConfigError(`--etcd-prefix "${o.prefix}" must start with /`, 'etcd-prefix');
  return o;
}

/** Daemon settings from parsed flags; throws InvalidConfigError naming the flag. */
export function daemonSettingsFrom(a: Record<string, unknown>): DaemonSettings & { renewMarginS: number; ttlS: number } {
  const num = (k: string, min: number, max: number): number => {
    const v = Number(a[k]);
    if (!Number.isInteger(v) || v < min || v > max) throw new InvalidConfigError(`--${k} must be an integer between ${min} and ${max}, got ${String(a[k])}`, k);
    return v;
  };
  const publicIp = a['public-ip'] === undefined || a['public-ip'] === '' ? undefined : String(a['public-ip']);
  if (publicIp !== undefined && !isIp(publicIp)) throw new InvalidConfigError(`--public-ip "${publicIp}" is not an IPv4 address`, 'public-ip');
  const healthzIp = String(a['healthz-ip']);
  if (!isIp(healthzIp)) throw new InvalidConfigError(`--healthz-ip "${healthzIp}" is not an IPv4 address`, 'healthz-ip');
  const ttlS = num('subnet-lease-ttl', 5, 10 * 365 * 86400);
  const s: DaemonSettings & { renewMarginS: number; ttlS: number } = {
    iface: list(a['iface']),
    ifaceRegex: list(a['iface-regex']),
    subnetFile: String(a['subnet-file']),
    socketPath: String(a['socket']),
    dataDir: String(a['data-dir']),
    ipMasq: Boolean(a['ip-masq']),
    healthzIp,
    healthzPort: num('healthz-port', 0, 65535),
    cleanupOnExit: Boolean(a['cleanup-on-exit']),
    kernelResyncS: num('kernel-resync-interval', 1, 86400),
    masqMode: String(a['masq-mode'] ?? 'auto') as DaemonSettings['masqMode'],
    renewMarginS: num('subnet-lease-renew-margin', 0, 24 * 60 * 365) * 60,
    ttlS,
  };
  if (publicIp !== undefined) s.publicIp = publicIp;
  if (Buffer.byteLength(s.socketPath) > 107) throw new InvalidConfigError(`--socket path is ${Buffer.byteLength(s.socketPath)} bytes; Unix socket paths must be under 108`, 'socket');
  return s;
}

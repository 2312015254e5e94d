/**
 * twilld's flags: every flag of flanneld (flannel main.go init(), klog's -v) with its name, meaning
 * and default, plus twill's own. Command lines are read as Go's flag package reads them
 * (`-flag`, `--flag`, `-flag=value`, `-flag value`, booleans bare or `=true|false|1|0|t|f`), and each
 * flag can also come from the environment as TWILLD_<NAME> or FLANNELD_<NAME> (upper case, `-` and
 * `.` → `_`) with coreos/pkg flagutil's rules: a variable is one value (a list flag's variable is ONE
 * element, never split), empty variables are skipped, the command line wins; TWILLD_* before
 * FLANNELD_*.
 */
import { InvalidConfigError } from '../shared/errors.js';
import { isIp } from '../shared/ip/cidr.js';
import { DEFAULT_SOCKET_PATH } from '../shared/protocol/api.js';
import { DEFAULT_DATA_DIR } from '../shared/protocol/pending-release.js';
import type { IfaceSelection } from './external-interface.js';
import type { MasqMode } from './masq/masquerade.js';
import type { EtcdOptions } from './subnet/etcd-options.js';
import { LEASE_TTL_S } from './subnet/subnet-manager.js';
import { booleanFlags, type FlagSpec, goBool, goFlagForms as goForms } from './cli/go-flags.js';

export { flagsFromEnv, flanneldEnv, type FlagSpec, withFlags } from './cli/go-flags.js';

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
  /** One line per flanneld flag that was given but that twill does not act on, naming the flag. */
  warnings: string[];
}


/** flanneld's default etcd endpoint list (main.go). */
export const DEFAULT_ETCD_ENDPOINTS = 'http://127.0.0.1:4001,http://127.0.0.1:2379';

/** Flags shared by every subcommand that talks to etcd. */
export const etcdFlags = {
  'etcd-endpoints': { type: 'string', default: DEFAULT_ETCD_ENDPOINTS, describe: 'comma-separated list of etcd endpoints (http://, https:// or host:port)' },
  'etcd-prefix': { type: 'string', default: '/coreos.com/network', describe: 'etcd prefix of the network config and leases' },
  'etcd-certfile': { type: 'string', describe: 'client certificate (PEM) for etcd over TLS' },
  'etcd-keyfile': { type: 'string', describe: 'client key (PEM) for etcd over TLS' },
  'etcd-cafile': { type: 'string', describe: 'CA bundle (PEM) to verify the etcd servers' },
  'etcd-username': { type: 'string', describe: 'etcd username (auth)' },
  'etcd-password': { type: 'string', describe: 'etcd password (auth; never logged)' },
} as const satisfies Record<string, FlagSpec>;

const KUBE_ONLY = 'only used by the Kubernetes subnet manager (--kube-subnet-mgr), which twill does not have';

/** Flags of the daemon itself. */
export const daemonFlags = {
  ...etcdFlags,
  iface: { type: 'string', array: true, default: [] as string[], describe: 'interface (name or IP) for inter-host traffic; repeatable, first match wins' },
  'iface-regex': { type: 'string', array: true, default: [] as string[], describe: 'regex matched against interface addresses, then names; repeatable; tried after --iface' },
  'iface-can-reach': { type: 'string', describe: 'use the interface (and source address) of the route to this IP (`ip route get`); tried after --iface-regex' },
  'public-ip': { type: 'string', describe: 'IP advertised to the other hosts (default: the interface address)' },
  'public-ipv6': { type: 'string', describe: 'IPv6 address advertised to the other hosts (flannel, dual stack)', ignored: 'twill is IPv4-only: there is no IPv6 lease to advertise it in' },
  'subnet-file': { type: 'string', default: '/run/flannel/subnet.env', describe: 'file to write the env variables describing this host\'s subnet to' },
  'subnet-lease-renew-margin': { type: 'number', default: 60, describe: 'minutes before expiry at which the subnet lease is renewed' },
  'subnet-lease-ttl': { type: 'number', default: LEASE_TTL_S, describe: 'seconds a subnet lease lives in etcd without renewal (flannel: 24 h; shorten only for tests)' },
  'ip-masq': { type: 'boolean', default: false, describe: 'masquerade traffic leaving the pod network (nftables, else iptables)' },
  'ip-masq-fully-random-disable': { type: 'boolean', describe: 'flannel: masquerade without --random-fully', ignored: 'twill\'s masquerade rules always use fully-random port mapping', flannelDefault: 'false' },
  'masq-mode': { type: 'string', default: 'auto', choices: ['auto', 'nftables', 'iptables'], describe: 'how --ip-masq installs its rules: auto = nftables when the nft tool works, else iptables' },
  'iptables-resync': { type: 'number', describe: 'flannel: seconds between re-checks of its iptables rules', ignored: 'twill installs its rules once at start and does not re-check them', flannelDefault: '5' },
  'iptables-forward-rules': { type: 'boolean', describe: 'flannel: add accept rules for the pod network to the FORWARD chain', ignored: 'twill adds forward accept rules only with --ip-masq', flannelDefault: 'true' },
  'ip-blackhole-route': { type: 'boolean', describe: 'flannel: add a blackhole route for this host\'s subnet', ignored: 'twill adds no blackhole route', flannelDefault: 'false' },
  'healthz-ip': { type: 'string', default: '0.0.0.0', describe: 'address the healthz server listens on' },
  'healthz-port': { type: 'number', default: 0, describe: 'port of the healthz server (GET /healthz); 0 disables it' },
  'kube-subnet-mgr': { type: 'boolean', default: false, describe: 'flannel: lease subnets through the Kubernetes API instead of etcd (refused: twill has no such mode)' },
  'kube-api-url': { type: 'string', describe: 'flannel: Kubernetes API server URL', ignored: KUBE_ONLY },
  'kube-annotation-prefix': { type: 'string', describe: 'flannel: Kubernetes annotation prefix', ignored: KUBE_ONLY, flannelDefault: 'flannel.alpha.coreos.com' },
  'kubeconfig-file': { type: 'string', describe: 'flannel: kubeconfig file', ignored: KUBE_ONLY },
  'net-config-path': { type: 'string', describe: 'flannel: network config file of the Kubernetes subnet manager', ignored: `${KUBE_ONLY}; twill reads the network config from etcd`, flannelDefault: '/etc/kube-flannel/net-conf.json' },
  'set-node-network-unavailable': { type: 'boolean', describe: 'flannel: set the node condition NetworkUnavailable', ignored: KUBE_ONLY, flannelDefault: 'true' },
  'use-multi-cluster-cidr': { type: 'boolean', describe: 'flannel v0.22: use the MultiClusterCIDR API', ignored: KUBE_ONLY, flannelDefault: 'false' },
  socket: { type: 'string', default: DEFAULT_SOCKET_PATH, describe: 'Unix socket of the local API (plugin ↔ daemon)' },
  'data-dir': { type: 'string', default: DEFAULT_DATA_DIR, describe: 'directory for pod-address allocations, the VTEP MAC and queued releases' },
  'kernel-resync-interval': { type: 'number', default: 60, describe: 'seconds between re-reads of the kernel state twill owns (heals routes or entries changed by hand)' },
  'cleanup-on-exit': { type: 'boolean', default: false, describe: 'on a clean stop remove masquerade rules, routes and devices (the lease is kept)' },
  'log-level': { type: 'string', choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'], describe: 'log level (default: info, or from -v)', flannelDefault: 'info' },
  v: { type: 'number', describe: 'klog verbosity as flanneld takes it: sets the log level unless --log-level is given (0: info, 1-4: debug, 5 and up: trace)', flannelDefault: '0' },
  vmodule: { type: 'string', describe: 'klog per-file verbosity', ignored: 'twill logs JSON lines through one logger: use --log-level or -v' },
  log_backtrace_at: { type: 'string', describe: 'klog: a stack trace when logging at file:line', ignored: 'twill logs JSON lines through one logger' },
} as const satisfies Record<string, FlagSpec>;

/** The names of the daemon's boolean flags. */
const BOOLEAN_FLAGS: ReadonlySet<string> = booleanFlags(daemonFlags);

/** The daemon's command line in Go's flag forms made readable by yargs (go-flags.ts). */
export function goFlagForms(argv: readonly string[]): string[] {
  return goForms(argv, BOOLEAN_FLAGS);
}

/** Comma-separated lists (the etcd endpoints) and repeated --iface values. */
function list(v: unknown): string[] {
  const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return items.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
}

/** A repeatable flag's values as given: each one element (regexes keep their commas). */
function each(v: unknown): string[] {
  const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return items.map((x) => String(x)).filter((x) => x !== '');
}

/** etcd settings from parsed flags. */
export function etcdOptionsFrom(a: Record<string, unknown>): EtcdOptions {
  const endpoints = list(a['etcd-endpoints']).map((e) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `http://${e}`).replace(/\/$/, ''));
  if (endpoints.length === 0) throw new InvalidConfigError('--etcd-endpoints is empty: give at least one endpoint, e.g. http://127.0.0.1:2379', 'etcd-endpoints');
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(e)) {
      throw new InvalidConfigError(`--etcd-endpoints entry "${e}" is not an http(s)://host:port URL or a host:port`, 'etcd-endpoints');
    }
  }
  const str = (k: string): string | undefined => (a[k] === undefined || a[k] === '' ? undefined : String(a[k]));
  const o: EtcdOptions = { endpoints, prefix: String(a['etcd-prefix']) };
  const opt = { certFile: str('etcd-certfile'), keyFile: str('etcd-keyfile'), caFile: str('etcd-cafile'), username: str('etcd-username'), password: str('etcd-password') };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (o as unknown as Record<string, string>)[k] = v;
  if (!o.prefix.startsWith('/')) throw new InvalidConfigError(`--etcd-prefix "${o.prefix}" must start with /`, 'etcd-prefix');
  return o;
}

/** A warning for each flanneld flag given that twill does not act on, naming the flag. */
function ignoredFlagWarnings(a: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [name, f] of Object.entries(daemonFlags) as Array<[string, FlagSpec]>) {
    if (f.ignored === undefined || a[name] === undefined) continue;
    out.push(`--${name}=${String(a[name])} is accepted for flanneld compatibility but ignored: ${f.ignored}`);
  }
  return out;
}

/** Daemon settings from parsed flags; throws InvalidConfigError naming the flag. */
export function daemonSettingsFrom(a: Record<string, unknown>): DaemonSettings & { renewMarginS: number; ttlS: number } {
  if (goBool(a['kube-subnet-mgr']) === true) {
    throw new InvalidConfigError('--kube-subnet-mgr: twill has no Kubernetes subnet manager; it leases subnets in etcd only', 'kube-subnet-mgr', {
      hint: 'run twilld with --etcd-endpoints (the network config at <etcd-prefix>/config) and without --kube-subnet-mgr',
    });
  }
  const num = (k: string, min: number, max: number): number => {
    const v = Number(a[k]);
    if (!Number.isInteger(v) || v < min || v > max) throw new InvalidConfigError(`--${k} must be an integer between ${min} and ${max}, got ${String(a[k])}`, k);
    return v;
  };
  const str = (k: string): string | undefined => (a[k] === undefined || a[k] === '' ? undefined : String(a[k]));
  const publicIp = str('public-ip');
  if (publicIp !== undefined && !isIp(publicIp)) throw new InvalidConfigError(`--public-ip "${publicIp}" is not an IPv4 address`, 'public-ip');
  const canReach = str('iface-can-reach');
  if (canReach !== undefined && !isIp(canReach)) throw new InvalidConfigError(`--iface-can-reach "${canReach}" is not an IPv4 address`, 'iface-can-reach');
  const healthzIp = String(a['healthz-ip']);
  if (!isIp(healthzIp)) throw new InvalidConfigError(`--healthz-ip "${healthzIp}" is not an IPv4 address`, 'healthz-ip');
  const ttlS = num('subnet-lease-ttl', 5, 10 * 365 * 86400);
  const s: DaemonSettings & { renewMarginS: number; ttlS: number } = {
    iface: list(a['iface']),
    ifaceRegex: each(a['iface-regex']),
    subnetFile: String(a['subnet-file']),
    socketPath: String(a['socket']),
    dataDir: String(a['data-dir']),
    ipMasq: goBool(a['ip-masq']) ?? false,
    healthzIp,
    healthzPort: num('healthz-port', 0, 65535),
    cleanupOnExit: goBool(a['cleanup-on-exit']) ?? false,
    kernelResyncS: num('kernel-resync-interval', 1, 86400),
    masqMode: String(a['masq-mode'] ?? 'auto') as DaemonSettings['masqMode'],
    renewMarginS: num('subnet-lease-renew-margin', 0, 24 * 60 * 365) * 60,
    ttlS,
    warnings: ignoredFlagWarnings(a),
  };
  if (publicIp !== undefined) s.publicIp = publicIp;
  if (canReach !== undefined) s.ifaceCanReach = canReach;
  if (Buffer.byteLength(s.socketPath) > 107) throw new InvalidConfigError(`--socket path is ${Buffer.byteLength(s.socketPath)} bytes; Unix socket paths must be under 108`, 'socket');
  return s;
}

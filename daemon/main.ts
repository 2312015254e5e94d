/**
 * twilld: the lease daemon (default command) and its tools: `config get|put`, `leases`,
 * `docker-opts`. Flags keep flannel's names; see `twilld --help`.
 */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseNetConfig } from './config/net-config.js';
import { AppError, ConfigMissingError, describeError } from '../shared/errors.js';
import { subnetKeyOf } from '../shared/ip/cidr.js';
import { defaultPluginPath, installCni } from './cli/install-cni.js';
import { formatLeasesTable } from './cli/leases-table.js';
import { Daemon } from './daemon.js';
import { exitStopped, installSignalHandlers } from './lifecycle.js';
import { createLogger } from './logger.js';
import { daemonFlags, daemonSettingsFrom, etcdFlags, etcdOptionsFrom, goFlagForms, withFlags } from './options.js';
import { VERSION } from '../shared/version.js';
import { dockerOpts, readPreviousSubnet } from './subnet-file.js';
import { EtcdSubnetRegistry } from './subnet/etcd-registry.js';
import { LocalSubnetManager } from './subnet/subnet-manager.js';

type Args = Record<string, unknown>;

async function runDaemon(a: Args): Promise<void> {
  const log = createLogger({ level: String(a['log-level']) });
  let code = 1;
  try {
    const s = daemonSettingsFrom(a);
    const etcd = etcdOptionsFrom(a);
    log.info({ endpoints: etcd.endpoints, prefix: etcd.prefix, tls: Boolean(etcd.caFile || etcd.certFile), auth: Boolean(etcd.username) }, 'twilld starting');
    const signal = installSignalHandlers(log);
    // Stopping ends every etcd call at once: the daemon never waits for an etcd that cannot be reached.
    const registry = new EtcdSubnetRegistry(etcd, signal);
    const subnets = new LocalSubnetManager(registry, log.child({ component: 'subnet' }), { ttlS: s.ttlS, renewMarginS: s.renewMarginS });
    const reason = await new Daemon(s, subnets, log).run(signal);
    await registry.close();
    code = reason === 'signal' ? 0 : 1;
  } catch (e) {
    log.fatal({ err: describeError(e), hint: (e as AppError).hint }, 'twilld cannot start');
  }
  exitStopped(log, code);
}

async function withRegistry<T>(a: Args, fn: (r: EtcdSubnetRegistry) => Promise<T>): Promise<T> {
  const r = new EtcdSubnetRegistry(etcdOptionsFrom(a));
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

async function configPut(a: Args): Promise<void> {
  const file = String(a['file']);
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  parseNetConfig(text); // refuse to store an invalid config
  const key = `${String(a['etcd-prefix']).replace(/\/+$/, '')}/config`;
  const written = await withRegistry(a, async (r) => {
    if (a['if-absent'] && (await r.getNetworkConfig()) !== null) return false;
    await r.putNetworkConfig(text.trim());
    return true;
  });
  process.stdout.write(written ? `network config written to ${key}\n` : `network config already at ${key}: left unchanged (--if-absent)\n`);
}

async function configGet(a: Args): Promise<void> {
  const text = await withRegistry(a, (r) => r.getNetworkConfig());
  if (text === null) throw new ConfigMissingError(`no network config at ${String(a['etcd-prefix']).replace(/\/+$/, '')}/config`);
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

async function leases(a: Args): Promise<void> {
  const own = readPreviousSubnet(String(a['subnet-file']));
  const text = await withRegistry(a, async (r) => {
    const snap = await r.listLeases();
    const rows = await Promise.all(snap.leases.map(async (lease) => ({ lease, ttlS: await r.timeToLive(lease.leaseId) })));
    let out = formatLeasesTable(rows, own ? subnetKeyOf(own) : null);
    for (const s of snap.skipped) out += `skipped ${s.key}: ${s.reason}\n`;
    return out;
  });
  process.stdout.write(text);
}

function fail(e: unknown): void {
  const hint = e instanceof AppError && e.hint ? ` (${e.hint})` : '';
  process.stderr.write(`twilld: ${describeError(e)}${hint}\n`);
  process.exitCode = 1;
}

const cli = yargs(goFlagForms(hideBin(process.argv)))
  .scriptName('twilld')
  .usage('$0 [command] [flags]\n\nThe twill lease daemon: leases this host a subnet of the pod network in etcd (flannel layout),\nprograms routes to every other host and serves the CNI plugin on a Unix socket.\nEvery flag can also be set as TWILLD_<FLAG> or FLANNELD_<FLAG> (upper case, - → _).\nflanneld\'s flags are all accepted, in Go\'s forms too (-etcd-endpoints=…, -ip-masq=false, -v=2).')
  .command('$0', 'run the daemon (default)', (y) => withFlags(y, daemonFlags), (a) => runDaemon(a))
  .command('config <action> [file]', 'read or write the network config at <prefix>/config (validated before writing)', (y) =>
    withFlags(y, etcdFlags)
      .positional('action', { choices: ['get', 'put'] as const, describe: 'get prints it; put writes FILE (or - for stdin)' })
      .positional('file', { type: 'string', default: '-', describe: 'JSON file to write, - for stdin' })
      .option('if-absent', { type: 'boolean', default: false, describe: 'put: write only when no config exists yet (DaemonSet bootstrap)' }),
    (a) => (a['action'] === 'get' ? configGet(a) : configPut(a)).catch(fail))
  .command('leases', 'list every subnet lease: subnet, public IP, backend, VTEP MAC, expiry, this host', (y) =>
    withFlags(y, { ...etcdFlags, 'subnet-file': daemonFlags['subnet-file'] }), (a) => leases(a).catch(fail))
  .command('install-cni', 'copy the twill plugin into the CNI bin dir and write the conflist, atomically (flannel\'s install-cni step)', (y) =>
    y.options({
      'bin-dir': { type: 'string', default: '/opt/cni/bin', describe: 'CNI plugin directory' },
      'conf-dir': { type: 'string', default: '/etc/cni/net.d', describe: 'CNI config directory' },
      'conf-name': { type: 'string', default: '10-twill.conflist', describe: 'file name of the conflist' },
      conflist: { type: 'string', describe: 'conflist file to install (default: twill + portmap); its cniVersion/cniVersions are set to what its plugins speak' },
      plugin: { type: 'string', describe: 'the twill plugin executable (default: next to twilld)' },
      'cni-path': { type: 'string', describe: 'where the runtime finds the chained plugins (its CNI_PATH, ":"-separated), asked for the CNI versions they speak (default: --bin-dir)' },
    }).env('TWILLD'), async (a) => {
      try {
        const done = await installCni({
          binDir: a['bin-dir'], confDir: a['conf-dir'], confName: a['conf-name'], plugin: a.plugin ?? defaultPluginPath(),
          ...(a.conflist ? { conflist: a.conflist } : {}),
          ...(a['cni-path'] ? { pluginDirs: a['cni-path'].split(':').filter(Boolean) } : {}),
          warn: (text) => process.stderr.write(`warning: ${text}\n`),
        });
        process.stdout.write(done.join('\n') + '\n');
      } catch (e) {
        fail(e);
      }
    })
  .command('docker-opts', 'print mk-docker-opts.sh output (DOCKER_OPT_BIP, ...) from the subnet file', (y) =>
    withFlags(y, { 'subnet-file': daemonFlags['subnet-file'] }), (a) => {
      try {
        process.stdout.write(dockerOpts(readFileSync(String(a['subnet-file']), 'utf8')));
      } catch (e) {
        fail(e);
      }
    })
  .strict()
  .help()
  .version('version', 'print the version and exit', VERSION)
  .wrap(110);

void cli.parseAsync();

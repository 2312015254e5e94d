/**
 * flanneld's command lines and FLANNELD_* variables work unchanged (issue #17 point 1): every flag of
 * flannel's main.go, Go's flag forms (single dash, `=value`, bare booleans), coreos/pkg flagutil's
 * environment rules (a variable is one value, empty variables are skipped, the command line wins).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import { daemonFlags, daemonSettingsFrom, etcdOptionsFrom, goFlagForms, withFlags } from '../../daemon/options.js';
import { InvalidConfigError } from '../../shared/errors.js';

/** Parses a daemon command line as twilld does, with `env` as the process environment. */
async function parse(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  return withFlags(yargs(goFlagForms(argv)).strict().exitProcess(false).fail((m, e) => { throw e ?? new Error(m); }), daemonFlags, env).parse();
}

/** Every flag of flanneld (v0.22.3 and current master main.go), each with a value. */
const FLANNELD_COMMAND_LINE = [
  '-etcd-endpoints=http://10.0.0.4:2379', '-etcd-prefix=/coreos.com/network', '-etcd-keyfile=/k', '-etcd-certfile=/c', '-etcd-cafile=/ca',
  '-etcd-username=u', '-etcd-password=p', '-iface=eth0', '-iface-regex=^eth[0-9]{1,3}$', '-iface-can-reach=10.0.0.4',
  '-subnet-file=/run/flannel/subnet.env', '-public-ip=10.0.0.5', '-public-ipv6=fd00::5', '-subnet-lease-renew-margin=60',
  '-ip-masq', '-ip-masq-fully-random-disable=false', '-kube-subnet-mgr=false', '-kube-api-url=https://k:6443',
  '-kube-annotation-prefix=flannel.alpha.coreos.com', '-kubeconfig-file=/kc', '-healthz-ip=0.0.0.0', '-healthz-port=0',
  '-iptables-resync=5', '-iptables-forward-rules=true', '-net-config-path=/etc/kube-flannel/net-conf.json',
  '-set-node-network-unavailable=true', '-use-multi-cluster-cidr=false', '-ip-blackhole-route=false', '-v=2', '-vmodule=main=3',
  '-log_backtrace_at=main.go:1',
];

describe('flanneld command lines', () => {
  it('accepts every flanneld flag in Go\'s single-dash form', async () => {
    const a = await parse(FLANNELD_COMMAND_LINE);
    const s = daemonSettingsFrom(a);
    assert.deepEqual([s.iface, s.ifaceRegex, s.ifaceCanReach, s.publicIp, s.ipMasq], [['eth0'], ['^eth[0-9]{1,3}$'], '10.0.0.4', '10.0.0.5', true]);
    assert.deepEqual(etcdOptionsFrom(a).endpoints, ['http://10.0.0.4:2379']);
  });
  it('reads Go\'s boolean forms: bare, =true, =false, =0, =1, and --flag=value', async () => {
    for (const [arg, want] of [['-ip-masq', true], ['-ip-masq=false', false], ['--ip-masq=true', true], ['-ip-masq=0', false], ['-ip-masq=1', true], ['--ip-masq', true]] as const) {
      assert.equal(daemonSettingsFrom(await parse([arg])).ipMasq, want, arg);
    }
  });
  it('reads a value after a single-dash flag and the klog -v level', async () => {
    const a = await parse(['-etcd-endpoints', 'http://a:2379', '-v', '5', '-healthz-port', '8471']);
    assert.equal(daemonSettingsFrom(a).healthzPort, 8471);
    assert.equal(a['log-level'], 'trace');
    assert.equal((await parse(['-v=2']))['log-level'], 'debug');
    assert.equal((await parse(['-v=2', '--log-level=warn']))['log-level'], 'warn');
    assert.equal((await parse([]))['log-level'], 'info');
  });
  it('keeps flannel\'s defaults', async () => {
    const a = await parse([]);
    assert.deepEqual(etcdOptionsFrom(a).endpoints, ['http://127.0.0.1:4001', 'http://127.0.0.1:2379']);
    const s = daemonSettingsFrom(a);
    assert.deepEqual([s.subnetFile, s.renewMarginS, s.ipMasq, s.healthzIp, s.healthzPort], ['/run/flannel/subnet.env', 3600, false, '0.0.0.0', 0]);
    assert.deepEqual(s.warnings, []);
  });
  it('accepts scheme-less etcd endpoints as etcd\'s Go client does (plain http)', async () => {
    assert.deepEqual(etcdOptionsFrom(await parse(['-etcd-endpoints=10.0.0.4:2379,https://e2:2379'])).endpoints, ['http://10.0.0.4:2379', 'https://e2:2379']);
  });
  it('refuses --kube-subnet-mgr=true clearly, naming the flag', async () => {
    assert.throws(() => daemonSettingsFrom({ ...defaults(), 'kube-subnet-mgr': true }), (e: unknown) =>
      e instanceof InvalidConfigError && e.field === 'kube-subnet-mgr' && /Kubernetes/.test(e.message));
    await assert.rejects(async () => daemonSettingsFrom(await parse(['--kube-subnet-mgr'])), InvalidConfigError);
  });
  it('warns, naming the flag, for each flag it accepts but does not act on', async () => {
    const s = daemonSettingsFrom(await parse(['-iptables-resync=10', '-ip-blackhole-route', '-public-ipv6=fd00::1', '-kubeconfig-file=/kc', '-vmodule=x=2']));
    for (const f of ['iptables-resync', 'ip-blackhole-route', 'public-ipv6', 'kubeconfig-file', 'vmodule']) {
      assert.ok(s.warnings.some((w) => w.includes(`--${f}`)), `a warning names --${f}: ${s.warnings.join(' | ')}`);
    }
  });
});

describe('FLANNELD_* variables (coreos/pkg flagutil rules)', () => {
  it('takes a list flag\'s variable as ONE element (no comma split)', async () => {
    const s = daemonSettingsFrom(await parse([], { FLANNELD_IFACE_REGEX: '^eth[0-9]{1,3}$' }));
    assert.deepEqual(s.ifaceRegex, ['^eth[0-9]{1,3}$']);
    assert.deepEqual(daemonSettingsFrom(await parse(['--iface-regex', '^e{1,2}th']))['ifaceRegex'], ['^e{1,2}th']);
  });
  it('reads booleans and numbers from variables, skips empty ones, and lets the command line win', async () => {
    const env = { FLANNELD_IP_MASQ: 'false', FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '', FLANNELD_HEALTHZ_PORT: '8471', FLANNELD_IFACE_CAN_REACH: '10.0.0.9' };
    const s = daemonSettingsFrom(await parse([], env));
    assert.deepEqual([s.ipMasq, s.renewMarginS, s.healthzPort, s.ifaceCanReach], [false, 3600, 8471, '10.0.0.9']);
    assert.equal(daemonSettingsFrom(await parse([], { FLANNELD_IP_MASQ: 'true' })).ipMasq, true);
    assert.equal(daemonSettingsFrom(await parse(['-healthz-port=1'], env)).healthzPort, 1);
    assert.equal(daemonSettingsFrom(await parse([], { ...env, TWILLD_HEALTHZ_PORT: '2' })).healthzPort, 2);
  });
  it('has a variable for every flanneld flag', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const arg of FLANNELD_COMMAND_LINE) {
      const [name, value] = arg.replace(/^-+/, '').split(/=(.*)/s) as [string, string | undefined];
      env[`FLANNELD_${name.toUpperCase().replace(/[-.]/g, '_')}`] = value ?? 'true';
    }
    const a = await parse([], env);
    const s = daemonSettingsFrom(a);
    assert.deepEqual([s.iface, s.ifaceRegex, s.publicIp, s.ipMasq], [['eth0'], ['^eth[0-9]{1,3}$'], '10.0.0.5', true]);
    assert.equal(a['log-level'], 'debug');
  });
});

function defaults(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(daemonFlags).map(([k, v]) => [k, (v as { default?: unknown }).default]));
}

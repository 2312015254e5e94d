/**
 * twilld processes in lab hosts against one etcd: flannel layout, subnet files, restarts, config
 * waiting and validation, PublicIP conflicts, the socket, systemd readiness, signals, tools, the
 * modes of its state under any umask and the trust of queued releases.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sh } from '../helpers/netns.js';
import { DAEMON_BIN } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import { Lab } from '../lab/lab.js';
import { pendingDir, pendingReleaseName, queueRelease } from '../../shared/protocol/pending-release.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);

function twilld(lab: Lab, n: number, ...args: string[]): string {
  return sh('ip', ['netns', 'exec', lab.host(n).ns, DAEMON_BIN, ...args, '--etcd-endpoints', lab.etcdEndpoint]);
}

describe('twilld in three lab hosts', { skip }, () => {
  let lab: Lab;
  before(async () => {
    // The config is written by plain etcdctl, exactly as in flannel's docs.
    lab = await Lab.create({ hosts: 3, netConf: { Network: '10.42.0.0/16', Backend: { Type: 'vxlan' } } });
    await lab.startAll();
  });
  after(async () => lab?.destroy());

  it('each host holds a distinct subnet in flannel layout and writes a correct subnet file', () => {
    const keys = lab.etcd.ctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/').split('\n').filter(Boolean).sort();
    assert.equal(keys.length, 3);
    for (const h of lab.hosts) {
      const env = lab.subnetEnv(h);
      assert.equal(env['FLANNEL_NETWORK'], '10.42.0.0/16');
      assert.match(env['FLANNEL_SUBNET']!, /^10\.42\.\d+\.1\/24$/);
      assert.equal(env['FLANNEL_MTU'], '1450');
      assert.equal(env['FLANNEL_IPMASQ'], 'false');
      const key = `/coreos.com/network/subnets/${env['FLANNEL_SUBNET']!.replace(/\.1\/24$/, '.0-24')}`;
      assert.ok(keys.includes(key), `${key} in ${keys.join(',')}`);
      const value = JSON.parse(lab.etcd.ctl('get', '--print-value-only', key)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(value), ['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData'], 'flannel\'s LeaseAttrs fields, in its order');
      assert.equal(value['PublicIP'], h.ip);
      const mac = sh('ip', ['-n', h.ns, '-j', 'link', 'show', 'flannel.1']);
      assert.equal((value['BackendData'] as { VtepMAC: string }).VtepMAC, (JSON.parse(mac) as Array<{ address: string }>)[0]!.address);
    }
  });

  it('a restarted daemon gets its subnet back and keeps its VTEP MAC', async () => {
    const h = lab.host(2);
    const before = lab.subnetEnv(h)['FLANNEL_SUBNET'];
    const macBefore = sh('ip', ['-n', h.ns, '-j', 'link', 'show', 'flannel.1']);
    await lab.stopDaemon(h);
    sh('ip', ['-n', h.ns, 'link', 'del', 'flannel.1']); // as after a reboot
    await lab.startDaemon(h);
    assert.equal(lab.subnetEnv(h)['FLANNEL_SUBNET'], before);
    assert.equal((JSON.parse(sh('ip', ['-n', h.ns, '-j', 'link', 'show', 'flannel.1'])) as Array<{ address: string }>)[0]!.address,
      (JSON.parse(macBefore) as Array<{ address: string }>)[0]!.address);
  });

  it('serves the lease and health on a 0600 socket', async () => {
    const h = lab.host(1);
    assert.equal(statSync(h.socket).mode & 0o777, 0o600);
    const lease = await lab.api<Record<string, unknown>>(h, '/v1/lease');
    assert.equal(lease['network'], '10.42.0.0/16');
    assert.equal(`${lease['gateway']}/24`, lab.subnetEnv(h)['FLANNEL_SUBNET']);
    assert.equal(lease['mtu'], 1450);
    assert.equal(lease['backendType'], 'vxlan');
    assert.deepEqual(await lab.api(h, '/v1/healthz'), { ok: true, free: 253, total: 253 });
    const curl = sh('ip', ['netns', 'exec', h.ns, 'curl', '-s', '--unix-socket', h.socket, 'http://twilld/v1/lease']);
    assert.equal(JSON.parse(curl).subnet, lease['subnet']);
    const big = sh('ip', ['netns', 'exec', h.ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', h.socket,
      '-H', 'content-type: application/json', '--data-binary', `{"containerID":"${'x'.repeat(70000)}","ifName":"eth0"}`, 'http://twilld/v1/ipam/allocate']);
    assert.equal(big, '413');
    const bad = sh('ip', ['netns', 'exec', h.ns, 'curl', '-s', '-w', ' %{http_code}', '--unix-socket', h.socket,
      '-H', 'content-type: application/json', '--data-binary', '{"containerID":"","ifName":"eth0","extra":1}', 'http://twilld/v1/ipam/allocate']);
    assert.match(bad, / 400$/);
    assert.match(bad, /ERR_API_INVALID/);
    assert.match(bad, /containerID must NOT have fewer than 1 characters/, 'the generated validator names the field');
  });

  it('serves GET /healthz on --healthz-ip/--healthz-port (the DaemonSet probe)', async () => {
    const h = lab.host(1);
    await lab.stopDaemon(h);
    await lab.startDaemon(h, ['--healthz-ip', h.ip, '--healthz-port', '10270']);
    const get = (path: string) => sh('ip', ['netns', 'exec', h.ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${h.ip}:10270${path}`]);
    assert.equal(get('/healthz'), '200');
    assert.equal(get('/other'), '404');
  });

  it('replaces a stale socket file', async () => {
    const h = lab.host(3);
    await lab.stopDaemon(h, 'SIGKILL');
    assert.ok(statSync(h.socket).isSocket(), 'a killed daemon leaves its socket file behind');
    await lab.startDaemon(h);
    assert.equal((await lab.api<Record<string, unknown>>(h, '/v1/lease'))['network'], '10.42.0.0/16');
  });

  it('lists leases and prints docker options', () => {
    const table = twilld(lab, 1, 'leases', '--subnet-file', lab.host(1).subnetFile);
    assert.match(table, /^SUBNET\s+PUBLIC IP\s+BACKEND\s+VTEP MAC\s+EXPIRES\s+THIS HOST/);
    assert.equal(table.trim().split('\n').length, 4);
    assert.equal((table.match(/ yes$/gm) ?? []).length, 1);
    const opts = sh('ip', ['netns', 'exec', lab.host(1).ns, DAEMON_BIN, 'docker-opts', '--subnet-file', lab.host(1).subnetFile]);
    assert.match(opts, /^DOCKER_OPT_BIP="--bip=10\.42\.\d+\.1\/24"$/m);
    assert.match(opts, /^DOCKER_NETWORK_OPTIONS=" --bip=10\.42\.\d+\.1\/24 --mtu=1450"$/m);
  });

  it('config put validates before writing; config get prints it', () => {
    const bad = lab.writeFile('bad.json', '{"Network":"10.42.0.0/30"}');
    assert.throws(() => twilld(lab, 1, 'config', 'put', bad), /Network 10\.42\.0\.0\/30 is too small/);
    assert.equal(JSON.parse(twilld(lab, 1, 'config', 'get')).Network, '10.42.0.0/16');
  });

  it('takes flannel environment variables (FLANNELD_*)', () => {
    const out = sh('ip', ['netns', 'exec', lab.host(1).ns, 'env', `FLANNELD_ETCD_ENDPOINTS=${lab.etcdEndpoint}`, DAEMON_BIN, 'config', 'get']);
    assert.equal(JSON.parse(out).Network, '10.42.0.0/16');
  });

  it('documents every flag in --help', () => {
    const help = sh(DAEMON_BIN, ['--help']);
    for (const f of ['etcd-endpoints', 'etcd-prefix', 'etcd-certfile', 'etcd-keyfile', 'etcd-cafile', 'etcd-username', 'etcd-password', 'iface', 'iface-regex',
      'public-ip', 'subnet-file', 'subnet-lease-renew-margin', 'ip-masq', 'healthz-ip', 'healthz-port', 'socket', 'data-dir']) {
      assert.match(help, new RegExp(`--${f}\\b`), f);
    }
  });
});

describe('twilld start-up conditions', { skip }, () => {
  let lab: Lab;
  before(async () => (lab = await Lab.create({ hosts: 2, netConf: { Network: '10.44.0.0/16', Backend: { Type: 'host-gw' } } })));
  after(async () => lab?.destroy());

  it('waits with a clear log line while the config is missing, then starts', async () => {
    lab.etcd.ctl('del', '/coreos.com/network/config');
    const h = lab.host(1);
    await lab.startDaemon(h, [], false);
    const waiting = /"problem":"network config key is missing[^"]*","msg":"waiting for a valid network config"/;
    await until('the log line that the config is missing', () => waiting.test(readFileSync(h.log, 'utf8')), 10_000);
    assert.match(readFileSync(h.log, 'utf8'), waiting);
    assert.equal(h.daemon!.exitCode, null, 'still running, waiting');
    lab.etcd.ctl('put', '/coreos.com/network/config', '{"Network":"10.44.0.0/16","Backend":{"Type":"host-gw"}}');
    await lab.waitReady(h);
    await lab.stopDaemon(h);
  });

  it('deletes a stale lease carrying our PublicIP at start; refuses only when no subnet.env says which lease is ours', async () => {
    const h1 = lab.host(1);
    await lab.startDaemon(h1);
    const ours = lab.subnetEnv(h1)['FLANNEL_SUBNET']!.replace(/\.1\/24$/, '.0');
    await lab.stopDaemon(h1);
    const key = (s: string): string => `/coreos.com/network/subnets/${s}-24`;
    const stale = ['10.44.7.0', '10.44.8.0', '10.44.9.0'].filter((s) => s !== ours);
    const value = JSON.stringify({ PublicIP: h1.ip, PublicIPv6: null, BackendType: 'host-gw' });
    lab.etcd.ctl('put', key(stale[0]!), value);
    await lab.startDaemon(h1);
    assert.equal(lab.subnetEnv(h1)['FLANNEL_SUBNET'], `${ours.replace(/\.0$/, '.1')}/24`, 'our previous subnet, from subnet.env');
    assert.equal(lab.etcd.ctl('get', '--print-value-only', key(stale[0]!)).trim(), '', 'the stale lease is gone');
    assert.match(readFileSync(h1.log, 'utf8'), /deleted a stale lease carrying our PublicIP/);
    await lab.stopDaemon(h1);
    // Without subnet.env, two leases with our PublicIP and our own: nothing says which is this host's.
    for (const s of stale) lab.etcd.ctl('put', key(s), value);
    rmSync(h1.subnetFile, { force: true });
    await lab.startDaemon(h1, [], false);
    const code = await Promise.race([
      new Promise<number | null>((r) => h1.daemon!.once('exit', (c) => r(c))),
      new Promise<string>((r) => setTimeout(() => r('still running after 30 s'), 30_000).unref()),
    ]);
    assert.equal(code, 1);
    assert.match(readFileSync(h1.log, 'utf8'), new RegExp(`PublicIP ${h1.ip.replace(/\./g, '\\.')} is already advertised by live leases`));
    for (const s of stale) lab.etcd.ctl('del', key(s));
  });

  it('tells systemd it is ready (READY=1 on $NOTIFY_SOCKET) and exits 0 on SIGTERM', async () => {
    const h = lab.host(2);
    const sock = `${h.dir}/notify.sock`;
    const py = 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\ns.settimeout(30)\nprint(s.recv(4096).decode(),flush=True)';
    const rx = spawn('python3', ['-c', py, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    rx.stdout.on('data', (b: Buffer) => (got += b.toString()));
    const done = new Promise<void>((r) => rx.on('exit', () => r()));
    await until('python to bind the notify socket', () => existsSync(sock), 10_000);
    const daemon = spawn('ip', ['netns', 'exec', h.ns, 'env', `NOTIFY_SOCKET=${sock}`, DAEMON_BIN, '--etcd-endpoints', lab.etcdEndpoint, '--iface', 'eth0',
      '--subnet-file', h.subnetFile, '--socket', h.socket, '--data-dir', h.dataDir], { stdio: 'ignore' });
    await done;
    assert.match(got, /READY=1/);
    const exit = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
    daemon.kill('SIGTERM');
    assert.equal(await exit, 0);
  });
});

describe('twilld state on disk', { skip }, () => {
  let lab: Lab;
  before(async () => (lab = await Lab.create({ hosts: 1, netConf: { Network: '10.47.0.0/16', Backend: { Type: 'vxlan' } } })));
  after(async () => lab?.destroy());
  const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

  it('creates every piece of state with its own mode when started under umask 000', async () => {
    const h = lab.host(1);
    h.socket = join(h.dir, 'run', 'twilld.sock'); // directories the daemon has to make
    h.subnetFile = join(h.dir, 'flannel', 'subnet.env');
    // A child inherits its parent's umask: 000 for the one spawn of the daemon (startDaemon spawns before its first await).
    const before = process.umask(0);
    let started: Promise<void>;
    try {
      started = lab.startDaemon(h);
    } finally {
      process.umask(before);
    }
    await started;
    const pod = await lab.addPod(h);
    const ipam = join(h.dataDir, 'ipam');
    assert.deepEqual({
      dataDir: mode(h.dataDir), ipam: mode(ipam), store: mode(join(ipam, readdirSync(ipam).find((n) => n.endsWith('.json'))!)),
      pending: mode(pendingDir(h.dataDir)), vtepMac: mode(join(h.dataDir, 'vtep-mac-1')),
      socket: mode(h.socket), socketDir: mode(dirname(h.socket)), subnetFile: mode(h.subnetFile), subnetDir: mode(dirname(h.subnetFile)),
    }, { dataDir: '700', ipam: '700', store: '600', pending: '700', vtepMac: '644', socket: '600', socketDir: '755', subnetFile: '644', subnetDir: '755' });
    await lab.delPod(pod);
  });

  it('applies only queued releases that root wrote and nobody else may write, and makes a data dir others could write private', async () => {
    const h = lab.host(1);
    const p = await lab.addPod(h);
    const q = await lab.addPod(h);
    const file = (pod: { containerID: string }) => join(pendingDir(h.dataDir), pendingReleaseName({ containerID: pod.containerID, ifName: 'eth0' }));
    const mark = readFileSync(h.log, 'utf8').length;
    const refusals = () => readFileSync(h.log, 'utf8').slice(mark).split('\n').filter((l) => l.includes('"msg":"queued release refused"'));
    queueRelease(h.dataDir, { containerID: p.containerID, ifName: 'eth0' });
    chownSync(file(p), 65534, 65534); // another user's
    queueRelease(h.dataDir, { containerID: q.containerID, ifName: 'eth0' });
    chmodSync(file(q), 0o666); // root's, but anyone may change it
    await until('both files refused in the log', () => refusals().length === 2, 10_000, 50);
    assert.ok(refusals().some((l) => l.includes('owned by uid 65534')), refusals().join('\n'));
    assert.ok(refusals().some((l) => l.includes('mode 666')), refusals().join('\n'));
    const held = (await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations')).map((x) => x.containerID);
    assert.ok(held.includes(p.containerID) && held.includes(q.containerID), 'neither address was released');
    assert.ok(existsSync(file(p)) && existsSync(file(q)), 'the files are left alone');
    rmSync(file(p));
    rmSync(file(q));

    await lab.stopDaemon(h);
    chmodSync(h.dataDir, 0o777); // as an older daemon started under umask 000 left it
    await lab.startDaemon(h);
    assert.equal(mode(h.dataDir), '700');
    assert.match(readFileSync(h.log, 'utf8').slice(mark), /"msg":"group or others could write this directory of state: made private"/);
    await lab.delPod(p);
    await lab.delPod(q);
  });
});

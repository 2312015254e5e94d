/**
 * The OCI image (`npm run image`, scripts/image.mjs): built (or reused) from Debian packages and
 * the executables, then run with podman as a node would run it: twilld from the image in a private
 * host made with `unshare --net --mount`, plugged into a lab's underlay, leases a subnet from the
 * lab's etcd and writes its subnet file; `twilld --version` from the image names this build.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { ipIn, uniqueId } from '../helpers/netns.js';
import { DAEMON_BIN, DIST } from '../helpers/paths.js';
import { ETCD, NETNS, PODMAN, skipUnless } from '../helpers/require.js';
import { Lab, UNDERLAY_GW } from './lab.js';

const skip = skipUnless(NETNS, ETCD, PODMAN);
const ROOT = join(DIST, '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const IMAGE = `localhost/twill:${version}`;
const HOST_IP = '10.199.0.50';

/**
 * The shell that makes the private host, then execs `podman run`. In its own mount namespace it
 * drops the cgroup v2 mount of a hybrid cgroup layout (crun refuses hybrid hierarchies with a v2
 * controller); podman's default rlimits (raised hard limits) need CAP_SYS_RESOURCE, which a
 * sandboxed test machine may lack, so the container gets lower ones. Neither touches the machine.
 */
function privateHostScript(network: boolean): string {
  return [
    'set -e',
    'ip link set lo up',
    ...(network ? [
      'i=0; while ! ip link show eth0 >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 400 ] || { echo "no eth0" >&2; exit 1; }; sleep 0.05; done',
      `ip addr add ${HOST_IP}/24 dev eth0`,
      'ip link set eth0 up',
      `ip route add default via ${UNDERLAY_GW}`,
    ] : []),
    'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi',
    'exec podman run --rm --pull=never --network host --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096 "$@"',
  ].join('\n');
}

/** The twilld container's memory request in conf/kube-twill.yml, in MiB. */
function memoryRequestMiB(): number {
  const daemonSet = parseAllDocuments(readFileSync(join(ROOT, 'conf', 'kube-twill.yml'), 'utf8')).map((d) => d.toJS() as Record<string, any>).find((o) => o['kind'] === 'DaemonSet')!;
  const twilld = (daemonSet['spec']['template']['spec']['containers'] as Record<string, any>[]).find((c) => c['name'] === 'twilld')!;
  const m = /^(\d+)Mi$/.exec(String(twilld['resources']['requests']['memory']));
  assert.ok(m, 'the memory request is in Mi');
  return Number(m[1]);
}

/** Runs `podman run <args>` in a fresh private host (no network but loopback) and returns its output. */
function podmanRunOnce(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--net', '--mount', '--', 'sh', '-c', privateHostScript(false), 'sh', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the OCI image (npm run image)', { skip, timeout: 1_500_000 }, () => {
  let lab: Lab;
  let host: ChildProcess | null = null;
  let hostErr = '';
  const name = `twill-image-test-${uniqueId()}`;

  before(async () => {
    // Builds, or reuses the base and the layers, of the image npm run image makes.
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'image.mjs')], { encoding: 'utf8', timeout: 1_200_000 });
    assert.equal(b.status, 0, `npm run image failed:\n${b.stdout}${b.stderr}`);
    lab = await Lab.create({ hosts: 0, netConf: { Network: '10.46.0.0/16', Backend: { Type: 'vxlan' } } });
  });

  after(async () => {
    if (host && host.exitCode === null && host.signalCode === null) {
      const exited = new Promise((r) => host!.once('exit', r));
      host.kill('SIGTERM');
      const t = setTimeout(() => host?.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
    // A container left behind by a killed podman client: removed by its unique name.
    spawnSync('podman', ['rm', '--force', '--time', '0', '--ignore', name], { stdio: 'ignore' });
    await lab?.destroy();
  });

  it('twilld --version from the image prints this build\'s version', () => {
    const r = podmanRunOnce([IMAGE, '--version']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const local = spawnSync(DAEMON_BIN, ['--version'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(r.stdout.trim(), local);
    assert.match(r.stdout, new RegExp(`^${version.replace(/\./g, '\\.')}\\b`));
  });

  it('the image holds iproute2, iptables and nftables', () => {
    const r = podmanRunOnce(['--entrypoint', 'sh', IMAGE, '-c', 'ip -V && iptables --version && nft --version && test -x /opt/twill/twill']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /iproute2/);
    assert.match(r.stdout, /iptables v1\.8/);
    assert.match(r.stdout, /nftables v1/);
  });

  it('twilld from the image, in a private host made with unshare --net --mount, leases a subnet from the lab\'s etcd', async () => {
    const dir = join(lab.dir, 'image-host');
    for (const d of ['run-flannel', 'run-twill', 'data']) mkdirSync(join(dir, d), { recursive: true });
    const args = ['--name', name, '--cap-drop', 'all', '--cap-add', 'NET_ADMIN,NET_RAW',
      '-v', `${join(dir, 'run-flannel')}:/run/flannel`, '-v', `${join(dir, 'run-twill')}:/run/twill`, '-v', `${join(dir, 'data')}:/var/lib/twill`,
      IMAGE, '--etcd-endpoints', lab.etcdEndpoint, '--iface', 'eth0', '--healthz-port', '0'];
    host = spawn('unshare', ['--net', '--mount', '--', 'sh', '-c', privateHostScript(true), 'sh', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    host.stderr!.on('data', (b: Buffer) => { hostErr += b.toString(); });
    const hostPid = host.pid!;
    // The private host's eth0: a veth whose peer is on the lab's underlay bridge, moved in by PID.
    ipIn(lab.underlay, 'link', 'add', 'uimg', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(hostPid));
    ipIn(lab.underlay, 'link', 'set', 'uimg', 'master', 'br0', 'up');

    const subnetFile = join(dir, 'run-flannel', 'subnet.env');
    const deadline = Date.now() + 60_000;
    // Ready: the lease is held, the subnet file written and the kernel programmed.
    while (!hostErr.includes('"msg":"ready"') && Date.now() < deadline) {
      assert.equal(host.exitCode, null, `the private host exited ${host.exitCode}:\n${hostErr}`);
      await delay(200);
    }
    assert.match(hostErr, /"msg":"ready"/, 'twilld in the image is ready within 60 s and logs to the container\'s stderr');
    assert.ok(existsSync(subnetFile), `no subnet file from twilld in the image:\n${hostErr}`);
    const subnet = /^FLANNEL_SUBNET=(10\.46\.\d+)\.1\/24$/m.exec(readFileSync(subnetFile, 'utf8'))?.[1];
    assert.ok(subnet, readFileSync(subnetFile, 'utf8'));
    const lease = lab.etcd.ctl('get', '--print-value-only', `/coreos.com/network/subnets/${subnet}.0-24`);
    assert.match(lease, new RegExp(`"PublicIP":"${HOST_IP.replace(/\./g, '\\.')}"`), 'the lease names the private host');

    // The memory request in conf/kube-twill.yml covers what twilld holds once it runs.
    const pid = Number(spawnSync('podman', ['inspect', '--format', '{{.State.Pid}}', name], { encoding: 'utf8' }).stdout.trim());
    const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    const request = memoryRequestMiB();
    console.log(`twilld in the image: ${(rssKb / 1024).toFixed(1)} MiB resident; conf/kube-twill.yml requests ${request} MiB`);
    assert.ok(rssKb / 1024 <= request, `twilld holds ${(rssKb / 1024).toFixed(1)} MiB, more than the ${request} MiB the DaemonSet requests`);

    // Stopping the container stops twilld cleanly (podman hands SIGTERM on to it).
    const exited = new Promise<number | null>((r) => host!.once('exit', (code) => r(code)));
    host.kill('SIGTERM');
    assert.equal(await exited, 0, hostErr);
  });
});

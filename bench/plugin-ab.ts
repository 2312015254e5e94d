/**
 * A/B of two plugin executables: the same lab host, the same running twilld and the same config;
 * each round times VERSION (through nsenter, as ADD is started), ADD and DEL of a fresh pod for
 * both, alternating which goes first. Prints p50/p95 of each and B/A, their peak RSS during one
 * ADD, and twilld's RSS around all the ADD/DELs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createNetns, deleteNetns } from '../test/helpers/netns.js';
import { DAEMON_BIN } from '../test/helpers/paths.js';
import { Lab } from '../test/lab/lab.js';
import { addDel, cniEnv, peakRssOfAdd, timedInHost, versionInHost } from './cni-exec.js';
import { mdTable } from './report.js';
import { readRss, rssSummary } from './rss.js';
import { fmt, median, percentile } from './stats.js';

interface Timings { version: number[]; add: number[]; del: number[] }

/** The first 12 hex digits of a file's sha256, to tell executables apart in the output. */
function digest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
}

/** Runs the A/B of plugin executables `a` and `b` over `runs` rounds; returns its markdown lines. */
export async function benchPluginAb(a: string, b: string, runs: number): Promise<string[]> {
  const lab = await Lab.create({ hosts: 1, netConf: { Network: '10.65.0.0/16', Backend: { Type: 'vxlan' } } });
  try {
    await lab.startDaemon(lab.host(1));
    const daemonPid = lab.host(1).daemon!.pid!;
    const host = lab.host(1).ns;
    const conf = JSON.stringify(lab.pluginConf(lab.host(1), '1.0.0'));
    const bins = { A: a, B: b } as const;
    const t: Record<keyof typeof bins, Timings> = { A: { version: [], add: [], del: [] }, B: { version: [], add: [], del: [] } };
    const daemonRss: number[] = [];
    const rssBefore = readRss(daemonPid).rssMb;
    for (let i = 0; i < runs; i++) {
      for (const who of i % 2 ? (['B', 'A'] as const) : (['A', 'B'] as const)) {
        t[who].version.push(await versionInHost(host, bins[who]));
        const ns = createNetns(`tw-${lab.id}-ab${who}${i}`);
        const r = await addDel(host, bins[who], conf, `ab-${who}-${i}`, ns);
        t[who].add.push(r.add);
        t[who].del.push(r.del);
        deleteNetns(ns);
        daemonRss.push(readRss(daemonPid).rssMb);
      }
    }
    const peak: Record<string, number> = {};
    for (const who of ['A', 'B'] as const) {
      const ns = createNetns(`tw-${lab.id}-abr${who}`);
      peak[who] = peakRssOfAdd(host, bins[who], conf, `ab-rss-${who}`, ns);
      await timedInHost(host, bins[who], cniEnv('DEL', `ab-rss-${who}`, ns), conf);
      deleteNetns(ns);
    }

    const p50 = median;
    const p95 = (xs: number[]): number => percentile(xs, 95);
    const row = (name: string, pick: (x: Timings) => number[]): string[] => {
      const [xa, xb] = [pick(t.A), pick(t.B)];
      return [name, fmt(p50(xa)), fmt(p95(xa)), fmt(p50(xb)), fmt(p95(xb)), fmt(p50(xb) / p50(xa), 2), fmt(p95(xb) / p95(xa), 2)];
    };
    const over = (x: Timings, k: 'add' | 'del'): string => fmt(p50(x[k]) - p50(x.version));
    return [
      '## Plugin A/B',
      '',
      `- A: \`${a}\` (sha256 ${digest(a)}…)`,
      `- B: \`${b}\` (sha256 ${digest(b)}…)`,
      `- twilld: \`${DAEMON_BIN}\` (sha256 ${digest(DAEMON_BIN)}…), one daemon for both`,
      '',
      `${runs} rounds in one lab host with one running twilld and one config; each round times, for A and for B (A first in even ` +
        'rounds, B first in odd ones), VERSION started through `nsenter` as ADD is, then ADD and DEL of a fresh pod netns; ms.',
      '',
      mdTable([
        ['', 'A p50', 'A p95', 'B p50', 'B p95', 'B/A p50', 'B/A p95'],
        row('VERSION through nsenter', (x) => x.version), row('ADD', (x) => x.add), row('DEL', (x) => x.del),
      ]),
      '',
      `- Over VERSION (p50 − p50): ADD A ${over(t.A, 'add')} ms, B ${over(t.B, 'add')} ms; DEL A ${over(t.A, 'del')} ms, B ${over(t.B, 'del')} ms.`,
      `- Peak RSS during one ADD: A ${fmt(peak['A']!)} MB, B ${fmt(peak['B']!)} MB.`,
      `- twilld's RSS around the ${2 * runs} ADD/DELs: ${fmt(rssBefore)} MB before, ${fmt(daemonRss.at(-1)!)} MB after; ` +
        `read after each ADD/DEL, min / median / max ${rssSummary(daemonRss)}.`,
    ];
  } finally {
    await lab.destroy();
  }
}

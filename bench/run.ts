/**
 * npm run bench: every benchmark, side by side in one run, printing ratios against targets.
 * Not part of CI's pass/fail. Options: --only latency|dataplane|scale (repeatable), --runs N,
 * --seconds S and --rounds N (iperf3), --samples N (propagation).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchDataplane } from './dataplane.js';
import { benchPluginLatency } from './plugin-latency.js';
import { benchScale } from './scale.js';

const a = await yargs(hideBin(process.argv))
  .option('only', { type: 'string', array: true, choices: ['latency', 'dataplane', 'scale'], default: ['latency', 'dataplane', 'scale'] })
  .option('runs', { type: 'number', default: 30, describe: 'ADD/DEL runs per plugin' })
  .option('seconds', { type: 'number', default: 3, describe: 'iperf3 seconds per path' })
  .option('rounds', { type: 'number', default: 5, describe: 'iperf3 runs per path (the best counts)' })
  .option('samples', { type: 'number', default: 30, describe: 'new leases for the propagation test' })
  .strict().help().parse();

console.log(`twill benchmarks, ${new Date().toISOString()}`);
const sections: Array<[string, () => Promise<string[]>]> = [
  ['latency', () => benchPluginLatency(a.runs)],
  ['dataplane', () => benchDataplane(a.seconds, a.rounds)],
  ['scale', () => benchScale([1000, 5000], a.samples)],
];
let failed = false;
for (const [name, run] of sections) {
  if (!a.only.includes(name)) continue;
  try {
    console.log('\n' + (await run()).join('\n'));
  } catch (e) {
    failed = true;
    console.log(`\n${name}: FAILED: ${(e as Error).stack ?? String(e)}`);
  }
}
process.exitCode = failed ? 1 : 0;

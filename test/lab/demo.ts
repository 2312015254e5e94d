/**
 * `npm run demo`: builds the lab (etcd + N hosts in namespaces, one twilld each), creates pods
 * through the CNI plugin as a runtime would, prints the connectivity matrix and each host's routes,
 * then waits for Ctrl-C (or exits at once with --once, or when stdin is not a terminal) and cleans
 * up. `npm run demo -- --down` removes a demo left behind by a killed run.
 */
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BACKEND_TYPES, backendNamed } from '../../daemon/backend/backends.js';
import { deleteNetns, ipIn, sh } from '../helpers/netns.js';
import { DAEMON_BIN } from '../helpers/paths.js';
import { Lab, type LabPod } from './lab.js';

const STATE_DIR = join(tmpdir(), 'twill-demo');
const STATE_FILE = join(STATE_DIR, 'state.json');

interface DemoState {
  id: string;
  pids: number[];
  namespaces: string[];
  dir: string;
}

function saveState(lab: Lab): void {
  mkdirSync(STATE_DIR, { recursive: true });
  const state: DemoState = {
    id: lab.id,
    pids: [...lab.hosts.map((h) => h.daemon?.pid), lab.etcd.pid].filter((p): p is number => typeof p === 'number'),
    namespaces: [lab.underlay, ...lab.hosts.map((h) => h.ns), ...lab.pods.map((p) => p.ns)],
    dir: lab.dir,
  };
  writeFileSync(STATE_FILE, JSON.stringify(state));
}

/** Removes what a previous demo left: its recorded processes (by PID) and namespaces. */
function down(): void {
  let state: DemoState;
  try {
    state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DemoState;
  } catch {
    console.log('no demo state found: nothing to clean up');
    return;
  }
  for (const pid of state.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
  for (const ns of state.namespaces) deleteNetns(ns);
  rmSync(state.dir, { recursive: true, force: true });
  rmSync(STATE_FILE, { force: true });
  console.log(`demo ${state.id} removed: ${state.namespaces.length} namespaces, ${state.pids.length} processes`);
}

function matrix(lab: Lab, pods: LabPod[]): string {
  const label = (p: LabPod): string => `h${p.host.n}:${p.ip}`;
  const width = Math.max(...pods.map((p) => label(p).length)) + 2;
  let out = ''.padEnd(width) + pods.map((p) => label(p).padEnd(width)).join('') + '\n';
  let ok = 0;
  let total = 0;
  for (const a of pods) {
    out += label(a).padEnd(width);
    for (const b of pods) {
      if (a === b) {
        out += '-'.padEnd(width);
        continue;
      }
      total++;
      const r = lab.ping(a.ns, b.ip, { count: 2, waitS: 1 });
      if (r) ok++;
      out += (r ? 'ok' : 'FAIL').padEnd(width);
    }
    out += '\n';
  }
  if (ok !== total) process.exitCode = 1;
  return out + `\n${ok}/${total} pod pairs reach each other\n`;
}

async function main(): Promise<void> {
  const a = await yargs(hideBin(process.argv))
    .scriptName('npm run demo --')
    .option('backend', { choices: BACKEND_TYPES, default: 'vxlan', describe: 'Backend.Type of the network config' })
    .option('hosts', { type: 'number', default: 3, describe: 'number of lab hosts' })
    .option('pods', { type: 'number', default: 1, describe: 'pods per host' })
    .option('once', { type: 'boolean', default: false, describe: 'clean up right after printing (default when stdin is not a terminal)' })
    .option('down', { type: 'boolean', default: false, describe: 'remove a demo left behind by a killed run, then exit' })
    .strict().help().parse();
  if (a.down) return down();
  if (!Number.isInteger(a.hosts) || a.hosts < 1 || a.hosts > 50) throw new Error('--hosts must be between 1 and 50');
  down();

  console.log(`twill demo: ${a.hosts} hosts, backend ${a.backend}`);
  const lab = await Lab.create({ hosts: a.hosts, netConf: { Network: '10.42.0.0/16', Backend: { Type: a.backend } }, daemonArgs: ['--ip-masq'] });
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await lab.destroy();
    rmSync(STATE_FILE, { force: true });
    console.log('demo cleaned up');
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    saveState(lab);
    console.log(`etcd in ${lab.underlay} at ${lab.etcdEndpoint}; network config:\n  ${lab.etcd.ctl('get', '--print-value-only', '/coreos.com/network/config').trim()}`);
    await lab.startAll();
    for (const h of lab.hosts) console.log(`host h${h.n} (${h.ns}, ${h.ip}): ${readFileSync(h.subnetFile, 'utf8').trim().split('\n').join(' ')}`);
    const pods: LabPod[] = [];
    for (const h of lab.hosts) for (let i = 0; i < a.pods; i++) pods.push(await lab.addPod(h));
    saveState(lab);
    console.log(`\n${pods.length} pods created through the CNI plugin (exec with CNI_* env, config on stdin)\n`);
    const h1 = lab.host(1);
    console.log('leases (twilld leases, on h1):\n' + sh('ip', ['netns', 'exec', h1.ns, DAEMON_BIN, 'leases', '--etcd-endpoints', lab.etcdEndpoint, '--subnet-file', h1.subnetFile]));
    const backend = backendNamed(a.backend);
    if (backend && !backend.programsRoutes) {
      console.log(`\nbackend ${backend.type}: ${backend.summary}; no connectivity matrix (pods on different hosts cannot reach each other)`);
    } else {
      console.log('\nconnectivity (ping from row to column):\n' + matrix(lab, pods));
    }
    for (const h of lab.hosts) {
      console.log(`routes on h${h.n}:\n  ` + ipIn(h.ns, 'route', 'show').trim().split('\n').join('\n  '));
    }
    if (a.once || !process.stdin.isTTY) return;
    console.log(`\nthe lab is up: try  ip netns exec ${pods[0]!.ns} ping ${pods[pods.length - 1]!.ip}\npress Ctrl-C to stop and clean up`);
    await new Promise(() => undefined);
  } finally {
    await cleanup();
  }
}

main().catch((e: Error) => {
  console.error(`demo failed: ${e.message}`);
  process.exitCode = 1;
});

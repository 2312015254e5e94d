/**
 * `npm run demo`: builds the lab (etcd + N hosts in namespaces, one twilld each), creates pods
 * through the CNI plugin as a runtime would, prints the connectivity matrix and each host's routes,
 * then waits for Ctrl-C (or exits at once with --once, or when stdin is not a terminal) and cleans
 * up. `npm run demo -- --down` removes a demo left behind by a killed run.
 *
 * Ctrl-C reaches only the demo: the lab starts its processes in process groups of their own, so
 * the terminal's SIGINT does not stop etcd and the daemons under the demo's feet; the demo then
 * removes everything and exits 130. The state file records each process with its start time, so
 * that `--down` never kills a PID that now belongs to something else.
 */
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BACKEND_TYPES, backendNamed } from '../../daemon/backend/backends.js';
import { deleteNetns, ipIn, sh } from '../helpers/netns.js';
import { DAEMON_BIN } from '../helpers/paths.js';
import { Lab, type LabPod } from './lab.js';

/** Where the demo records what it made (TWILL_DEMO_STATE_DIR for a private one, as the tests use). */
const STATE_DIR = process.env['TWILL_DEMO_STATE_DIR'] || join(tmpdir(), 'twill-demo');
const STATE_FILE = join(STATE_DIR, 'state.json');

/** A process the demo started, with what proves it is still that process. */
interface DemoProcess {
  pid: number;
  /** Field 22 of /proc/PID/stat: the start time in clock ticks since boot. */
  startTime: string;
  /** The executable's base name, for the messages. */
  cmd: string;
}

interface DemoState {
  id: string;
  /** The demo's own PID and its start time. */
  pid: number;
  pidStartTime: string | null;
  processes: DemoProcess[];
  namespaces: string[];
  dir: string;
}

/** The start time of PID (field 22 of /proc/PID/stat), or null when there is no such process. */
function startTimeOf(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function saveState(lab: Lab): void {
  mkdirSync(STATE_DIR, { recursive: true });
  const children = [...lab.hosts.map((h) => ({ pid: h.daemon?.pid, cmd: 'twilld' })), { pid: lab.etcd.pid, cmd: 'etcd' }];
  const processes = children.flatMap(({ pid, cmd }) => {
    const startTime = typeof pid === 'number' ? startTimeOf(pid) : null;
    return typeof pid === 'number' && startTime !== null ? [{ pid, startTime, cmd }] : [];
  });
  const state: DemoState = {
    id: lab.id,
    pid: process.pid,
    pidStartTime: startTimeOf(process.pid),
    processes,
    namespaces: [lab.underlay, ...lab.hosts.map((h) => h.ns), ...lab.pods.map((p) => p.ns)],
    dir: lab.dir,
  };
  writeFileSync(STATE_FILE, JSON.stringify(state));
}

/**
 * Removes what a previous demo left: its recorded processes, each only while its PID still has the
 * recorded start time (a PID reused by another process is left alone, and said so), its namespaces
 * (only tw-<id>-*) and its lab dir (only a twill-lab-* dir in the temp dir).
 */
function down(o: { atStart: boolean }): void {
  let state: Partial<DemoState> & { pids?: number[] };
  try {
    state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as typeof state;
  } catch {
    console.log('no demo state found: nothing to clean up');
    return;
  }
  const id = String(state.id ?? '');
  // A demo that still runs is not left behind: a new demo does not tear it down under its feet.
  if (o.atStart && typeof state.pid === 'number' && state.pidStartTime && startTimeOf(state.pid) === state.pidStartTime) {
    throw new Error(`demo ${id} is still running (PID ${state.pid}): stop it with Ctrl-C, or remove it with npm run demo -- --down`);
  }
  let killed = 0;
  for (const p of state.processes ?? []) {
    const now = startTimeOf(p.pid);
    if (now === null) continue;
    if (now !== p.startTime) {
      console.log(`process ${p.pid} is not the demo's ${p.cmd} any more (started at another time): left alone`);
      continue;
    }
    try {
      process.kill(p.pid, 'SIGKILL');
      killed++;
    } catch { /* gone meanwhile */ }
  }
  // A state file from before the start times were recorded: its PIDs cannot be told apart.
  for (const pid of state.pids ?? []) if (startTimeOf(pid) !== null) console.log(`process ${pid} may not be the demo's (the state file has no start time): left alone`);
  const namespaces = (state.namespaces ?? []).filter((ns) => /^[0-9a-f]+$/.test(id) && ns.startsWith(`tw-${id}-`));
  for (const ns of namespaces) deleteNetns(ns);
  const dir = state.dir ? resolve(state.dir) : '';
  if (dir.startsWith(join(tmpdir(), 'twill-lab-'))) rmSync(dir, { recursive: true, force: true });
  rmSync(STATE_FILE, { force: true });
  console.log(`demo ${id} removed: ${namespaces.length} namespaces, ${killed} processes`);
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
  if (a.down) return down({ atStart: false });
  if (!Number.isInteger(a.hosts) || a.hosts < 1 || a.hosts > 50) throw new Error('--hosts must be between 1 and 50');
  down({ atStart: true });

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
  // 128 + the signal's number, as a shell reports a command a signal ended.
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  process.on('SIGHUP', () => void cleanup().then(() => process.exit(129)));
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

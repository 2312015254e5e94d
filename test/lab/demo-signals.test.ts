/**
 * The demo as a person runs it: in a terminal (a pty made by util-linux's `script`), Ctrl-C (the
 * pty sends SIGINT to the foreground process group) cleans up everything and exits 130, because
 * the lab's processes live in process groups of their own and get no SIGINT from the terminal. And
 * `--down` with a left-over state file kills only processes that are still the demo's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { sh } from '../helpers/netns.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);
const DEMO = join(dirname(fileURLToPath(import.meta.url)), 'demo.js');

/** /proc/PID/stat's fields after the command name: [state, ppid, pgrp, ...]; null when PID is gone. */
function stat(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s[0] !== 'Z';
}

function namespacesOf(id: string): string[] {
  return sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(`${id}-`));
}

describe('npm run demo: Ctrl-C and --down', { skip }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'twill-demo-test-'));
  const env = { ...process.env, TWILL_DEMO_STATE_DIR: stateDir };
  const started: ChildProcess[] = [];
  after(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('Ctrl-C in a terminal: the lab\'s processes are not in the terminal\'s process group; everything is removed; exit 130', async () => {
    // script gives the demo a pty as its controlling terminal; ^C written to it is a real Ctrl-C.
    const cmd = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(DEMO)} --hosts 2 --backend host-gw`;
    const term = spawn('script', ['--quiet', '--return', '--command', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(term);
    let out = '';
    term.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    term.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    const exited = new Promise<number | null>((r) => term.once('exit', (code) => r(code)));
    const deadline = Date.now() + 120_000;
    while (!out.includes('press Ctrl-C') && Date.now() < deadline && term.exitCode === null) await delay(100);
    assert.match(out, /press Ctrl-C/, out);

    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { pid: number; processes: { pid: number }[]; namespaces: string[] };
    const demoGroup = stat(state.pid)![2];
    assert.ok(state.processes.length >= 3, 'etcd and two twillds are recorded');
    for (const p of state.processes) {
      assert.ok(alive(p.pid), `process ${p.pid} runs`);
      assert.notEqual(stat(p.pid)![2], demoGroup, `process ${p.pid} is in a process group of its own, not the terminal's`);
    }
    const id = /etcd in (tw-[0-9a-f]+)-/.exec(out)?.[1];
    assert.ok(id, out);

    // A second demo does not tear the running one down.
    const second = spawnSync(process.execPath, [DEMO, '--once', '--hosts', '1'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(second.status, 1, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`still running \\(PID ${state.pid}\\)`));
    for (const p of state.processes) assert.ok(alive(p.pid), `process ${p.pid} still runs`);

    term.stdin!.write('\x03');
    const code = await Promise.race([exited, delay(60_000).then(() => 'timeout')]);
    assert.equal(code, 130, `exit status after Ctrl-C:\n${out}`);
    assert.match(out, /demo cleaned up/);
    assert.doesNotMatch(out, /demo failed/);
    for (const p of state.processes) assert.ok(!alive(p.pid), `process ${p.pid} is gone`);
    assert.deepEqual(namespacesOf(id), [], 'no namespace of the demo is left');
    assert.ok(!existsSync(join(stateDir, 'state.json')), 'the state file is gone');
  });

  it('--down with a stale state file leaves a process that is not the demo\'s alone', async () => {
    // A process that now holds a PID the state file names, as after a reboot or PID reuse.
    const foreign = spawn('sleep', ['300'], { stdio: 'ignore' });
    started.push(foreign);
    const pid = foreign.pid!;
    const realStart = stat(pid)![19]!;
    mkdirSync(stateDir, { recursive: true });
    const labDir = mkdtempSync(join(tmpdir(), 'twill-lab-stale-'));
    writeFileSync(join(stateDir, 'state.json'), JSON.stringify({
      id: 'stale1', pid: 1, namespaces: [], dir: labDir,
      processes: [{ pid, startTime: String(Number(realStart) - 12345), cmd: 'etcd' }],
    }));
    const r = spawnSync(process.execPath, [DEMO, '--down'], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(alive(pid), `--down killed ${pid}, which is not the demo's: ${r.stdout}`);
    assert.match(r.stdout, new RegExp(`${pid}.*not the demo's`));
    assert.ok(!existsSync(join(stateDir, 'state.json')), 'the stale state file is removed');
    assert.ok(!existsSync(labDir), 'the stale lab dir is removed');
    // A state file of an older demo (PIDs only, no identity) kills nothing either.
    writeFileSync(join(stateDir, 'state.json'), JSON.stringify({ id: 'stale2', pids: [pid], namespaces: [], dir: labDir }));
    const r2 = spawnSync(process.execPath, [DEMO, '--down'], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r2.status, 0, r2.stdout + r2.stderr);
    assert.ok(alive(pid), `--down killed ${pid} from a state file without identities: ${r2.stdout}`);
    foreign.kill('SIGKILL');
  });
});

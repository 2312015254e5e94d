/**
 * The skip policy: test/helpers/require.ts decides, and scripts/run-tests.mjs refuses any skip but
 * a kernel's when TWILL_TEST_REQUIRE=all. The required cases run node's test runner on small test
 * files written here, so that this file itself never skips or registers a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DIST } from '../helpers/paths.js';
import { REPO } from '../helpers/repo.js';
import { KERNEL_SKIP_PREFIX, REQUIRE_VAR, type Need, skipOnThisKernel, skipUnless } from '../helpers/require.js';

const dir = mkdtempSync(join(tmpdir(), 'twill-require-'));
const requireJs = pathToFileURL(join(DIST, 'test', 'helpers', 'require.js')).href;

/** A test file using skipUnless with a need this machine lacks, and a kernel skip when asked. */
function fixture(name: string, opts: { need?: boolean; kernel?: boolean }): string {
  const file = join(dir, `${name}.test.mjs`);
  writeFileSync(file, [
    `import { describe, it } from 'node:test';`,
    `import { skipOnThisKernel, skipUnless } from '${requireJs}';`,
    `const FROB = { what: 'the frob tool', install: 'apt-get install frob', met: () => false };`,
    `describe('plain', () => { it('runs', () => {}); });`,
    opts.need ? `describe('wants frob', { skip: skipUnless(FROB) }, () => { it('uses frob', () => {}); });` : '',
    opts.kernel ? `it('uses wireguard', { skip: skipOnThisKernel('wireguard', false) }, () => {});` : '',
  ].join('\n'));
  return file;
}

function run(args: string[], required: boolean, value = 'all'): { status: number | null; out: string; last: string } {
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT']; // set by the runner of this file; the child is a run of its own
  if (required) env[REQUIRE_VAR] = value;
  else delete env[REQUIRE_VAR];
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', cwd: REPO });
  const out = r.stdout + r.stderr;
  return { status: r.status, out, last: r.stdout.trimEnd().split('\n').at(-1) ?? '' };
}

const runner = (file: string, required: boolean) => run([join(REPO, 'scripts', 'run-tests.mjs'), file], required);

/** Runs `fn` with TWILL_TEST_REQUIRE unset, as on a developer's machine. */
function unrequired<T>(fn: () => T): T {
  const saved = process.env[REQUIRE_VAR];
  delete process.env[REQUIRE_VAR];
  try {
    return fn();
  } finally {
    if (saved !== undefined) process.env[REQUIRE_VAR] = saved;
  }
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('skipUnless and skipOnThisKernel', () => {
  const met: Need = { what: 'air', install: 'breathe', met: () => true };
  const unmet: Need = { what: 'the frob tool', install: 'apt-get install frob', met: () => false };
  it('runs a test whose needs are met', () => {
    assert.equal(unrequired(() => skipUnless(met)), false);
  });
  it('without TWILL_TEST_REQUIRE, skips naming what is missing and how to install it', () => {
    const reason = unrequired(() => skipUnless(met, unmet));
    assert.equal(reason, 'needs the frob tool (apt-get install frob)');
  });
  it('marks a kernel skip with its own reason, and only when the feature is absent', () => {
    assert.equal(skipOnThisKernel('wireguard', true), false);
    assert.equal(skipOnThisKernel('wireguard', false), `${KERNEL_SKIP_PREFIX}wireguard`);
  });
  it('with TWILL_TEST_REQUIRE=all, an unmet need fails a test named after it, saying how to install it', () => {
    const file = fixture('need', { need: true });
    const r = run(['--test', '--test-reporter=spec', file], true);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /✖ needs the frob tool/);
    assert.match(r.out, /lacks the frob tool, and TWILL_TEST_REQUIRE=all forbids skipping: apt-get install frob/);
    const plain = run(['--test', '--test-reporter=spec', file], false);
    assert.equal(plain.status, 0, plain.out);
    assert.match(plain.out, /wants frob .*# needs the frob tool \(apt-get install frob\)/);
  });
  it('refuses any other value of TWILL_TEST_REQUIRE', () => {
    const file = fixture('value', { need: true });
    const r = run(['--test', file], true, 'yes');
    assert.notEqual(r.status, 0);
    assert.match(r.out, /TWILL_TEST_REQUIRE=yes: the only value is "all"/);
  });
});

describe('scripts/run-tests.mjs', () => {
  it('with TWILL_TEST_REQUIRE=all fails a run in which a suite skipped, naming it, and prints its summary last', () => {
    // The failing "needs" test alone would fail the run; a skip by any other means must too.
    const file = join(dir, 'bare.test.mjs');
    writeFileSync(file, `import { describe, it } from 'node:test';\ndescribe('skipped by hand', { skip: 'no reason' }, () => { it('x', () => {}); });\nit('runs', () => {});\n`);
    const r = runner(file, true);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /✖ skipped while TWILL_TEST_REQUIRE=all: .*bare\.test\.mjs › skipped by hand # no reason/);
    assert.match(r.last, /^✖ run-tests .*: 1 passed, 0 failed, 1 skipped \(tests and suites\), 0 skipped as not on this kernel \(TWILL_TEST_REQUIRE=all\); exit 1$/);
  });
  it('without TWILL_TEST_REQUIRE lets the same run pass, skips and all', () => {
    const r = runner(fixture('loose', { need: true }), false);
    assert.equal(r.status, 0, r.out);
    assert.match(r.last, /^ℹ run-tests .*: 1 passed, 0 failed, 1 skipped .*\(TWILL_TEST_REQUIRE unset: skips allowed\); exit 0$/);
  });
  it('with TWILL_TEST_REQUIRE=all allows a skip as "not on this kernel", and lists it by name', () => {
    const r = runner(fixture('kernel', { kernel: true }), true);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /﹣ allowed skip: .*kernel\.test\.mjs › uses wireguard # not on this kernel: wireguard/);
    assert.match(r.last, /^ℹ run-tests .*: 1 passed, 0 failed, 0 skipped .*, 1 skipped as not on this kernel/);
  });
});

describe('skips in test/', () => {
  const sources = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
  // This file writes skips into its fixtures on purpose; the helper is where skips are decided.
  const files = sources(join(REPO, 'test')).map((f) => relative(REPO, f)).filter((f) => f !== 'test/unit/require.test.ts' && f !== 'test/helpers/require.ts');
  it('all go through test/helpers/require.ts', () => {
    assert.ok(files.length > 40);
    const bad: string[] = [];
    for (const f of files) {
      readFileSync(join(REPO, f), 'utf8').split('\n').forEach((line, i) => {
        const at = `${f}:${i + 1}: ${line.trim()}`;
        if (/\b(it|test|describe|t)\.(skip|todo)\b|\btodo\s*:/.test(line)) bad.push(at);
        else if (/\bskip\s*[:=]/.test(line) && !/\bskip\s*[:=]\s*(skipUnless|skipOnThisKernel)\(/.test(line)) bad.push(at);
        else if (/\bcanUseNetns\(/.test(line) && f !== 'test/helpers/netns.ts') bad.push(at);
      });
    }
    assert.deepEqual(bad, []);
  });
});

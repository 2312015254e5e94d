// Runs the compiled test files with node's test runner, one file at a time (the lab tests share
// the machine's two cores), tiers in order: unit, etcd, netns, lab, interop. Arguments ending in .js or .mjs
// are test files, run as given. Usage: node scripts/run-tests.mjs [tier | file ...]
//
// With TWILL_TEST_REQUIRE=all (.ci/run sets it; test/helpers/require.ts reads it) the run fails
// when any test or suite skipped, except those skipped as "not on this kernel: …", which are
// listed by name. Either way the runner's own summary line is the last thing printed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REQUIRE_VAR = 'TWILL_TEST_REQUIRE';
const KERNEL_SKIP_PREFIX = 'not on this kernel: ';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'etcd', 'netns', 'lab', 'interop'];
const required = process.env[REQUIRE_VAR] ?? '';
if (required !== '' && required !== 'all') {
  console.error(`${REQUIRE_VAR}=${required}: the only value is "all" (or leave it unset)`);
  process.exit(2);
}

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p) : n.endsWith('.test.js') ? [p] : [];
  }).sort();
}

const files = args.flatMap((a) => (/\.m?js$/.test(a) ? [resolve(a)] : find(join(root, 'dist', 'test', a))));
if (files.length === 0) {
  console.error(`no test files for ${args.join(', ')}`);
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), 'twill-tally-'));
const tallyFile = join(work, 'tally.jsonl');
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts', 'test-tally.mjs')}`, `--test-reporter-destination=${tallyFile}`,
  ...files], { stdio: 'inherit' });
const rows = existsSync(tallyFile) ? readFileSync(tallyFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(work, { recursive: true, force: true });

const where = (t) => `${relative(root, t.file) || '?'} › ${t.name}`;
const why = (t) => (typeof t.skip === 'string' ? t.skip : typeof t.todo === 'string' ? `todo: ${t.todo}` : t.todo ? 'todo' : 'skipped');
const skipped = rows.filter((t) => t.skip !== false || t.todo !== false);
const onKernel = skipped.filter((t) => typeof t.skip === 'string' && t.skip.startsWith(KERNEL_SKIP_PREFIX));
const others = skipped.filter((t) => !onKernel.includes(t));
const tests = rows.filter((t) => !t.suite);
const failed = tests.filter((t) => t.failed).length;
const passed = tests.filter((t) => !t.failed && !skipped.includes(t)).length;

for (const t of onKernel) console.log(`﹣ allowed skip: ${where(t)} # ${t.skip}`);
if (required === 'all') for (const t of others) console.log(`✖ skipped while ${REQUIRE_VAR}=all: ${where(t)} # ${why(t)}`);
// A run that reported no test or suite at all (not even a skipped one) has checked nothing.
if (rows.length === 0) console.log('✖ the test runner reported no test');
const hollow = rows.length === 0 || (required === 'all' && others.length > 0);
const status = r.status ?? 1;
const exit = status !== 0 ? status : hollow ? 1 : 0;
const mode = required === 'all' ? `${REQUIRE_VAR}=all` : `${REQUIRE_VAR} unset: skips allowed`;
console.log(`${exit === 0 ? 'ℹ' : '✖'} run-tests ${args.join(' ')}: ${passed} passed, ${failed} failed, ${others.length} skipped (tests and suites), ${onKernel.length} skipped as not on this kernel (${mode}); exit ${exit}`);
process.exit(exit);

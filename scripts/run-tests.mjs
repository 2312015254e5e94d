// Runs the compiled test files with node's test runner, one file at a time (the lab tests share
// the machine's two cores), tiers in order: unit, etcd, netns, lab, interop. The runner's summary is the
// last thing printed. Usage: node scripts/run-tests.mjs [tier ...]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tiers = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'etcd', 'netns', 'lab', 'interop'];

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p) : n.endsWith('.test.js') ? [p] : [];
  }).sort();
}

const files = tiers.flatMap((t) => find(join(root, 'dist', 'test', t)));
if (files.length === 0) {
  console.error(`no test files for tiers ${tiers.join(', ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);

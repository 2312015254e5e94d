// Runs under the Node 22 that becomes the executable (the SEA blob and its code cache must be made
// by the same Node build): writes the SEA blob for a bundle, copies this Node binary and injects
// the blob with postject. Offline: nothing is downloaded.
// (@yao-pkg/pkg's sea() does the same two steps but runs `npx postject` from a temporary
// directory, which cannot resolve a local postject offline, and hides the failure.)
// Usage: node22 scripts/sea.cjs <bundle.cjs> <output> [<JSON of more sea-config fields: assets,
// execArgv; and `fullCodeCache: true`, see below>]
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { inject } = require('postject');
const { dropNoise } = require('./sea-noise.cjs');

const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

async function main() {
  const [bundle, output] = process.argv.slice(2, 4).map((p) => path.resolve(p));
  const { fullCodeCache, ...extra } = JSON.parse(process.argv[4] || '{}');
  const execArgv = extra.execArgv ?? [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'twill-sea-'));
  try {
    let main = bundle;
    if (fullCodeCache) {
      // The executable's main becomes sea-entry.cjs, which runs the bundle with a code cache of all
      // its functions (Node's own holds only the top-level code). Made and checked in fresh
      // processes under the executable's flags: V8 accepts a cache only under the flags it was made with.
      const entry = path.join(__dirname, 'sea-entry.cjs');
      const cache = bundle.replace(/\.c?js$/, '') + '.cache';
      const run = (fn) => execFileSync(process.execPath, [...execArgv, '-e', `require(${JSON.stringify(entry)}).${fn}(${JSON.stringify(bundle)}, ${JSON.stringify(cache)})`], { stdio: ['ignore', 'ignore', 'inherit'] });
      run('makeCodeCache');
      run('checkCodeCache');
      extra.assets = { ...extra.assets, 'main.cjs': bundle, 'main.cache': cache };
      main = entry;
    }
    const blob = path.join(tmp, 'sea-prep.blob');
    const config = path.join(tmp, 'sea-config.json');
    fs.writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false, ...extra }));
    // The code cache is only accepted by a V8 with the same flags: make it under the executable's execArgv.
    const made = spawnSync(process.execPath, [...execArgv, '--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    process.stderr.write(dropNoise(made.stderr ?? ''));
    if (made.status !== 0) throw new Error(`node --experimental-sea-config failed (exit ${made.status ?? made.signal})`);
    const staged = path.join(tmp, 'exe');
    fs.copyFileSync(process.execPath, staged);
    // postject's WebAssembly prints through console.warn (bound when inject loads it): only what
    // is not known noise is printed.
    const warn = console.warn;
    console.warn = (...args) => process.stderr.write(dropNoise(args.join(' ') + '\n'));
    try {
      await inject(staged, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SENTINEL_FUSE });
    } finally {
      console.warn = warn;
    }
    // Installed by copying, not renamed: postject writes the whole file at once, which leaves it in
    // the page cache as huge folios, and every process then maps whole folios around each page it
    // touches (measured: 55 MB resident for VERSION against 41 MB for the same bytes copied, or
    // read back from disk). copyFileSync (copy_file_range) fills the cache as `cp` or
    // a read from disk does, so the executable's footprint here is what it is on a host.
    fs.copyFileSync(staged, output);
    fs.chmodSync(output, 0o755);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`sea: ${e.stack || e}`);
  process.exit(1);
});

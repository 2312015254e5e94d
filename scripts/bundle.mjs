// Bundles an entry point and its dependencies into one CommonJS file for a Node single executable.
// Three dependencies read files at run time and are fixed here, at build time:
// - etcd3 loads proto/rpc.proto with @grpc/proto-loader: the protos are compiled to JSON now and
//   loaded with proto-loader's fromJSON instead;
// - yargs' ESM shim uses import.meta.url, which a CommonJS bundle lacks: it is defined from __filename;
// - koffi finds its native library (package @koromix/koffi-linux-x64) on disk: `koffi` becomes
//   that library, loaded by shared/native/native-addon.ts from the copy embedded in the executable.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

function etcdProtoJson() {
  const etcdDir = dirname(require.resolve('etcd3/package.json'));
  const protobuf = createRequire(join(etcdDir, 'package.json'))('protobufjs');
  const r = new protobuf.Root();
  r.loadSync(join(etcdDir, 'proto', 'rpc.proto'), { keepCase: true });
  return JSON.stringify(r.toJSON());
}

const inlineEtcdProto = {
  name: 'inline-etcd-proto',
  setup(b) {
    b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const call = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,';
      if (!src.includes(call)) throw new Error('etcd3 connection-pool.js changed: update scripts/bundle.mjs');
      return { contents: src.replace(call, `(0, proto_loader_1.fromJSON)(${etcdProtoJson()},`), loader: 'js' };
    });
  },
};

/** Where the native library koffi needs is, to embed it as the SEA asset `koffi.node`. */
export function koffiNativePath() {
  return join(dirname(require.resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node');
}

const embeddedKoffi = {
  name: 'embedded-koffi',
  setup(b) {
    // `koffi` is its native library itself, loaded from the copy embedded in the executable: koffi's
    // JavaScript entry only finds that library on disk and adds deprecation shims, and cost the
    // plugin ~2.5 ms per pod.
    b.onResolve({ filter: /^koffi$/ }, () => ({ path: 'koffi.node', namespace: 'embedded-addon' }));
    // The library's digest names its cached copy (native-addon.ts).
    const sha256 = createHash('sha256').update(readFileSync(koffiNativePath())).digest('hex');
    b.onLoad({ filter: /.*/, namespace: 'embedded-addon' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(join(root, 'dist', 'shared', 'native', 'native-addon.js'))}).loadEmbeddedAddon(${JSON.stringify(args.path)}, ${JSON.stringify(sha256)});`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

/** Bundles `entry` (a compiled dist/*.js file) into `outfile`. */
export async function bundle(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'import.meta.url': '__twill_import_meta_url' },
    banner: { js: 'var __twill_import_meta_url = require("url").pathToFileURL(__filename).href;' },
    plugins: [inlineEtcdProto, embeddedKoffi],
  });
}

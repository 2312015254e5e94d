// npm run image: the OCI image conf/kube-twill.yml runs (twill:<version>), built offline from
// Debian packages and the two executables, into podman's image store.
//
//   base    Debian 12 (minbase) + iproute2, iptables, nftables, made by mmdebstrap from the Debian
//           mirror the host's apt uses, imported with `podman import` as localhost/twill-base:<key>.
//           <key> hashes every input of the base (suite, packages, options, the apt sources, the
//           mmdebstrap version), so a second build reuses it; the root filesystem tarball is also
//           kept under $TWILL_IMAGE_CACHE (default <tmpdir>/twill-image-cache) for a podman store
//           that was emptied.
//   image   base + dist/bin/twilld and dist/bin/twill in /opt/twill, entrypoint twilld, built with
//           `podman build --pull=never` (no registry is asked). Tagged localhost/twill:<version>.
//
// Usage: node scripts/image.mjs [--tag NAME] [--save FILE]   (--save writes an OCI archive too,
// for `ctr images import` or a registry push from elsewhere). Needs root, mmdebstrap and podman.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { tag: { type: 'string' }, save: { type: 'string' } } });
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tag = opts.tag ?? `localhost/twill:${version}`;

const SUITE = 'bookworm';
const PACKAGES = ['iproute2', 'iptables', 'nftables', 'ca-certificates'];
// Documentation, manuals and translations are of no use in the image.
const DPKG_OPTS = ['path-exclude=/usr/share/doc/*', 'path-exclude=/usr/share/man/*', 'path-exclude=/usr/share/info/*', 'path-exclude=/usr/share/locale/*', 'path-include=/usr/share/doc/*/copyright'];

function fail(message) {
  console.error(`image: ${message}`);
  process.exit(1);
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

for (const cmd of ['mmdebstrap', 'podman']) if (!have(cmd)) fail(`${cmd} is missing: apt-get install mmdebstrap podman`);
const executables = ['twilld', 'twill'].map((n) => join(root, 'dist', 'bin', n));
for (const f of executables) if (!existsSync(f)) fail(`${f} is missing: run npm run build first (npm run image does)`);

/**
 * The Debian sources the host's apt uses, as one deb822 text (mmdebstrap reads it from stdin):
 * TWILL_IMAGE_MIRROR (a mirror URL) wins; else every enabled sources file naming the suite.
 */
function aptSources() {
  const mirror = process.env.TWILL_IMAGE_MIRROR;
  if (mirror) return `Types: deb\nURIs: ${mirror}\nSuites: ${SUITE} ${SUITE}-updates\nComponents: main\n`;
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d')
    ? readdirSync('/etc/apt/sources.list.d').filter((n) => /\.(list|sources)$/.test(n)).map((n) => join('/etc/apt/sources.list.d', n)).sort() : [])];
  const deb822 = [];
  for (const f of files.filter((x) => existsSync(x))) {
    const text = readFileSync(f, 'utf8');
    if (!text.includes(SUITE)) continue;
    if (f.endsWith('.sources')) {
      deb822.push(...text.split(/\n\s*\n/).filter((s) => s.includes(SUITE) && /^Types:.*\bdeb\b/m.test(s)).map((s) => s.trim()));
    } else {
      // One-line format: deb [opts] URI suite components...
      for (const line of text.split('\n')) {
        const m = /^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line.trim());
        if (m && m[3].startsWith(SUITE)) deb822.push(`Types: deb\nURIs: ${m[2]}\nSuites: ${m[3]}\nComponents: ${m[4].trim()}\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg`);
      }
    }
  }
  if (deb822.length === 0) fail(`no apt source for Debian ${SUITE} in /etc/apt: set TWILL_IMAGE_MIRROR to a Debian mirror URL`);
  return deb822.join('\n\n') + '\n';
}

const sources = aptSources();
const mmVersion = execFileSync('mmdebstrap', ['--version'], { encoding: 'utf8' }).trim();
const key = createHash('sha256').update(JSON.stringify({ SUITE, PACKAGES, DPKG_OPTS, sources, mmVersion })).digest('hex').slice(0, 16);
const baseTag = `localhost/twill-base:${key}`;
const imageExists = (name) => spawnSync('podman', ['image', 'exists', name]).status === 0;

const started = Date.now();
if (imageExists(baseTag)) {
  console.log(`image: base ${baseTag} (reused)`);
} else {
  const cacheDir = process.env.TWILL_IMAGE_CACHE ?? join(tmpdir(), 'twill-image-cache');
  mkdirSync(cacheDir, { recursive: true });
  const tarball = join(cacheDir, `base-${key}.tar`);
  if (!existsSync(tarball)) {
    console.log(`image: making the Debian ${SUITE} base with mmdebstrap (${PACKAGES.join(', ')}) …`);
    const partial = `${tarball}.${process.pid}.partial`;
    const mm = spawnSync('mmdebstrap', ['--variant=minbase', '--mode=root', '--format=tar', '--quiet',
      `--include=${PACKAGES.join(',')}`, ...DPKG_OPTS.map((o) => `--dpkgopt=${o}`),
      // An image has no init and no services to keep from starting; apt's lists are not needed.
      '--aptopt=APT::Install-Recommends "false"', SUITE, partial, '-'],
    { input: sources, stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
    if (mm.status !== 0) {
      rmSync(partial, { force: true });
      fail(`mmdebstrap failed (exit ${mm.status}); is the Debian mirror in /etc/apt reachable?`);
    }
    renameSync(partial, tarball);
  }
  execFileSync('podman', ['import', '--quiet', tarball, baseTag], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`image: base ${baseTag} imported`);
}

// The image the tag names now: replaced by this build, then removed (no untagged 400 MB per build).
const imageId = (name) => {
  const r = spawnSync('podman', ['image', 'inspect', '--format', '{{.Id}}', name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
};
const previous = imageId(tag);
// The build context: the two executables and a Containerfile, in a directory of their own.
const ctx = mkdtempSync(join(tmpdir(), 'twill-image-'));
try {
  for (const f of executables) copyFileSync(f, join(ctx, f.split('/').pop()));
  const digest = createHash('sha256');
  for (const f of executables) digest.update(readFileSync(f));
  writeFileSync(join(ctx, 'Containerfile'), [
    `FROM ${baseTag}`,
    'COPY --chmod=0755 twilld twill /opt/twill/',
    `LABEL org.opencontainers.image.title="twill" org.opencontainers.image.version="${version}" io.twill.executables.sha256="${digest.digest('hex')}"`,
    'ENV PATH=/opt/twill:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'ENTRYPOINT ["/opt/twill/twilld"]',
    '',
  ].join('\n'));
  execFileSync('podman', ['build', '--quiet', '--pull=never', '--network=none', '-t', tag, '-f', join(ctx, 'Containerfile'), ctx], { stdio: ['ignore', 'ignore', 'inherit'] });
} finally {
  rmSync(ctx, { recursive: true, force: true });
}
if (previous && previous !== imageId(tag)) {
  // Still used by a container, or tagged otherwise: then it stays.
  spawnSync('podman', ['rmi', previous], { stdio: 'ignore' });
}
if (opts.save) {
  const out = resolve(opts.save);
  rmSync(out, { force: true });
  execFileSync('podman', ['save', '--quiet', '--format', 'oci-archive', '-o', out, tag], { stdio: 'inherit' });
  console.log(`image: saved as ${out}`);
}
console.log(`image: ${tag} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);

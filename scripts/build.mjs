// Compiles the TypeScript sources to dist/ and makes the two entry points executable as
// dist/bin/twill (the CNI plugin) and dist/bin/twilld (the daemon).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

const bin = join(root, 'dist', 'bin');
mkdirSync(bin, { recursive: true });
for (const [name, entry] of [['twill', 'plugin/main.js'], ['twilld', 'daemon/main.js']]) {
  const file = join(root, 'dist', entry);
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith('#!')) writeFileSync(file, '#!/usr/bin/env node\n' + text);
  chmodSync(file, 0o755);
  rmSync(join(bin, name), { force: true });
  symlinkSync(join('..', entry), join(bin, name));
}

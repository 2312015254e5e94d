/** Paths in the repository (from dist/test/helpers). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST } from './paths.js';

export const REPO = join(DIST, '..');
export const CONF_DIR = join(REPO, 'conf');

export function confText(name: string): string {
  return readFileSync(join(CONF_DIR, name), 'utf8');
}

/** The twill entry of conf/10-twill.conflist, as libcni hands it to the plugin (name and cniVersion injected). */
export function twillEntryFromConflist(cniVersion?: string): Record<string, unknown> {
  const list = JSON.parse(confText('10-twill.conflist')) as { name: string; cniVersion: string; plugins: Array<Record<string, unknown>> };
  const entry = list.plugins.find((p) => p['type'] === 'twill')!;
  return { ...entry, name: list.name, cniVersion: cniVersion ?? list.cniVersion };
}

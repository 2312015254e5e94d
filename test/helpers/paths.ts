/** Paths of the built executables, from dist/test/helpers. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PLUGIN_BIN = process.env['TWILL_PLUGIN_BIN'] ?? join(DIST, 'bin', 'twill');
export const DAEMON_BIN = process.env['TWILL_DAEMON_BIN'] ?? join(DIST, 'bin', 'twilld');
export const REF_PLUGINS = '/usr/lib/cni';
/** flannel's flanneld for the interop tier: $FLANNELD_BIN, else where build-flanneld.sh puts it by default. */
export const FLANNELD_BIN = process.env['FLANNELD_BIN'] || '/tmp/flannel-build/flanneld';

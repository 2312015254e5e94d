/**
 * What a test needs from the machine, in one place: every conditional skip in test/ goes through
 * here, so none can skip silently.
 *
 * A test gets its `skip` option from `skipUnless(NETNS, ETCD)`. On a developer's machine an unmet
 * need skips the test and the summary says why. With TWILL_TEST_REQUIRE=all (`.ci/run` sets it)
 * an unmet need is a failure: a test named "needs <what>" fails, saying how to install it, and
 * scripts/run-tests.mjs fails the run for every test that skipped.
 *
 * The one skip a required run allows is a kernel's: `skipOnThisKernel(feature, available)` skips
 * with the reason "not on this kernel: <feature>", and the runner lists each such test by name.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { ETCD_BIN } from './etcd.js';
import { LIBCNI_SRC } from './libcni.js';
import { canUseNetns } from './netns.js';
import { FLANNELD_BIN, REF_PLUGINS } from './paths.js';

/** The environment variable that turns unmet needs into failures; its only value is `all`. */
export const REQUIRE_VAR = 'TWILL_TEST_REQUIRE';

/** The start of the one skip reason a required run allows (scripts/run-tests.mjs matches it). */
export const KERNEL_SKIP_PREFIX = 'not on this kernel: ';

/** Something a test needs from the machine, and how to get it. */
export interface Need {
  /** What is needed, as the skip reason and the failing test name say it. */
  readonly what: string;
  /** How to install or enable it. */
  readonly install: string;
  /** True when this machine has it. */
  met(): boolean;
}

/** A need that is unmet while TWILL_TEST_REQUIRE=all. */
export class UnmetNeedError extends Error {
  readonly code = 'ERR_TEST_NEED_UNMET';
  constructor(need: Need) {
    super(`this machine lacks ${need.what}, and ${REQUIRE_VAR}=all forbids skipping: ${need.install}`);
    this.name = 'UnmetNeedError';
  }
}

/** A value of TWILL_TEST_REQUIRE other than `all` or nothing. */
export class RequireVarError extends Error {
  readonly code = 'ERR_TEST_REQUIRE_VAR';
}

function onPath(file: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, file)));
}

/** Root, and network namespaces the test can create (the netns and lab tiers). */
export const NETNS: Need = {
  what: 'root and network namespaces',
  install: 'run as root on Linux, with util-linux (unshare) and iproute2 installed: apt-get install util-linux iproute2',
  met: () => canUseNetns(),
};

/** A real etcd and etcdctl (the etcd tier, and every lab, which runs one). */
export const ETCD: Need = {
  what: `etcd at ${ETCD_BIN} and etcdctl on PATH`,
  install: 'apt-get install etcd-server etcd-client, or set ETCD_BIN to an etcd executable',
  met: () => existsSync(ETCD_BIN) && onPath('etcdctl'),
};

/** The reference CNI plugins' portmap, to chain after twill. */
export const PORTMAP: Need = {
  what: `the reference portmap plugin at ${REF_PLUGINS}/portmap`,
  install: 'apt-get install containernetworking-plugins',
  met: () => existsSync(join(REF_PLUGINS, 'portmap')),
};

/** flannel's own flanneld (the interop tier), built offline from flannel's source. */
export const FLANNELD: Need = {
  what: `flanneld at ${FLANNELD_BIN}`,
  install: 'build it with `bash ../shared/interop/build-flanneld.sh /tmp/flannel-build` (Debian 12; it installs Go packages with apt), or point FLANNELD_BIN at one',
  met: () => {
    try {
      accessSync(FLANNELD_BIN, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

/** Go and libcni's source, to build a cnitool that runs conflists through the real libcni. */
export const LIBCNI: Need = {
  what: `Go and libcni's source at ${LIBCNI_SRC}`,
  install: 'apt-get install golang-go golang-github-appc-cni-dev',
  met: () => onPath('go') && existsSync(LIBCNI_SRC),
};

/** podman and mmdebstrap, to build the OCI image (`npm run image`) and run twilld from it. */
export const PODMAN: Need = {
  what: 'podman and mmdebstrap on PATH',
  install: 'apt-get install podman mmdebstrap',
  met: () => onPath('podman') && onPath('mmdebstrap'),
};

/** systemd's unit checker, to verify conf/twilld.service. */
export const SYSTEMD_ANALYZE: Need = {
  what: 'systemd-analyze on PATH',
  install: 'apt-get install systemd',
  met: () => onPath('systemd-analyze'),
};

/** True when TWILL_TEST_REQUIRE=all: an unmet need fails instead of skipping. Throws on any other value. */
export function requireAll(): boolean {
  const v = process.env[REQUIRE_VAR] ?? '';
  if (v !== '' && v !== 'all') throw new RequireVarError(`${REQUIRE_VAR}=${v}: the only value is "all" (or leave it unset)`);
  return v === 'all';
}

const checked = new Map<Need, boolean>();
const failed = new Set<Need>();

function isMet(n: Need): boolean {
  let met = checked.get(n);
  if (met === undefined) checked.set(n, (met = n.met()));
  return met;
}

/**
 * The `skip` option of a test or suite that needs `needs`: false when all are met, else the reason.
 * With TWILL_TEST_REQUIRE=all each unmet need also registers one failing test "needs <what>" (once
 * per test file), in the suite this is called in or at the top level.
 */
export function skipUnless(...needs: Need[]): false | string {
  const missing = needs.filter((n) => !isMet(n));
  if (missing.length === 0) return false;
  if (requireAll()) {
    for (const n of missing) {
      if (failed.has(n)) continue;
      failed.add(n);
      test(`needs ${n.what}`, () => {
        throw new UnmetNeedError(n);
      });
    }
  }
  return `needs ${missing.map((n) => n.what).join(', and ')} (${missing.map((n) => n.install).join('; ')})`;
}

/**
 * The `skip` option of a test of a kernel feature that this machine's kernel may lack (a module
 * not built, a kernel too old): the only skip allowed while TWILL_TEST_REQUIRE=all. `available`
 * must come from probing the kernel, never from the machine's packages.
 */
export function skipOnThisKernel(feature: string, available: boolean): false | string {
  return available ? false : `${KERNEL_SKIP_PREFIX}${feature}`;
}

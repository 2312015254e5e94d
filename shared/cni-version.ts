/**
 * CNI spec versions ("1.1.0"), compared as the reference's version.GreaterThan does, for both
 * programs: the plugin's checks of a config's version and `twilld install-cni`'s choice of the
 * conflist's versions.
 */

/** Compares dotted versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Object keys as Go's encoding/json matches them to struct fields: an exact match first, else a
 * match without regard to case; when two keys land on one field, the later one wins.
 */

/** A copy of `obj` with each key that matches one of `names` (ignoring case) renamed to it. */
export function foldKeys(obj: Readonly<Record<string, unknown>>, names: Iterable<string>): Record<string, unknown> {
  const byLower = new Map<string, string>();
  for (const n of names) byLower.set(n.toLowerCase(), n);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const name = byLower.get(k.toLowerCase()) ?? k;
    if (name in out) delete out[name]; // keep the key order of the later one
    out[name] = v;
  }
  return out;
}

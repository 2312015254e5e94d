/**
 * The one check of a Linux interface name (CNI_IFNAME, the bridge of the config), as the reference
 * ValidateInterfaceName (pkg/utils) and the kernel's dev_valid_name have it: at most IFNAMSIZ - 1
 * bytes, counted in UTF-8 (the bytes the kernel gets, not JavaScript's characters), not "." or "..",
 * no "/", ":" or whitespace (Go's unicode.IsSpace). A name that reached the plugin as bytes that are
 * not UTF-8 (the environment's decoder turned them into U+FFFD) is refused too: the kernel would get
 * other bytes than the runtime sent, and DEL could not find the link by the runtime's name.
 */

/** The longest interface name the kernel takes, in bytes (IFNAMSIZ - 1, without the NUL). */
export const MAX_IFNAME_BYTES = 15;

// Go's unicode.IsSpace: ASCII \t\n\v\f\r and space, U+0085, U+00A0, and Unicode's Z categories.
const SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

// Half of a UTF-16 pair, as JSON's "\ud800" escape can give: it has no UTF-8 form.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with `name` as an interface name ("is longer than 15 bytes", …), or null when it is fine. */
export function interfaceNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IFNAME_BYTES) return `is longer than ${MAX_IFNAME_BYTES} bytes (${bytes} in UTF-8)`;
  if (name === '.' || name === '..') return 'is not a valid interface name';
  if (name.includes('\ufffd') || LONE_SURROGATE.test(name)) return 'is not valid UTF-8';
  if (/[/:]/.test(name) || SPACE.test(name)) return 'contains /, : or whitespace';
  return null;
}

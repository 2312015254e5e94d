/**
 * Result conversion between spec versions (libcni pkg/types/{020,040,100}):
 * 1.x (internal) → 0.3.x/0.4.0 (adds ips[].version "4", drops 1.1 interface fields) →
 * 0.1.0/0.2.0 (`ip4` object). Also reads a prevResult of any version into the 1.x form, checking it
 * field by field.
 */
import { CNI_ERR, CniError } from './cni-error.js';
import type { CniDns, CniInterface, CniIpConfig, CniResult, CniRoute } from './types.js';
import { SUPPORTED_VERSIONS } from './types.js';
import { compareVersions } from '../../shared/cni-version.js';
import { isIp } from '../../shared/ip/cidr.js';

/** Renders the internal result for `version`. */
export function convertResult(r: CniResult, version: string): Record<string, unknown> {
  if (compareVersions(version, '0.3.0') < 0) {
    const ip = r.ips?.find((x) => !x.address.includes(':'));
    const out: Record<string, unknown> = { cniVersion: version };
    if (ip) {
      const routes = (r.routes ?? []).filter((x) => !x.dst.includes(':'));
      out['ip4'] = { ip: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), ...(routes.length ? { routes } : {}) };
    }
    out['dns'] = r.dns ?? {};
    return out;
  }
  const legacy = compareVersions(version, '1.0.0') < 0;
  const pre11 = compareVersions(version, '1.1.0') < 0;
  const out: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces) {
    out['interfaces'] = r.interfaces.map((i) => {
      const { mtu, ...rest } = i;
      return pre11 || mtu === undefined ? rest : { ...rest, mtu };
    });
  }
  if (r.ips) out['ips'] = r.ips.map((ip) => (legacy ? { version: ip.address.includes(':') ? '6' : '4', ...ip } : { ...ip }));
  if (r.routes) out['routes'] = r.routes;
  out['dns'] = r.dns ?? {};
  return out;
}

type Json = Record<string, unknown>;

function invalid(field: string, problem: string): never {
  throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `invalid network config: ${field} ${problem}`);
}

/** `v` as an object (not null, not an array), or the error naming `field`. */
function object(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(field, 'must be an object');
  return v as Json;
}

/** `v` as an array, or the error naming `field`. */
function array(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) invalid(field, 'must be an array');
  return v;
}

/** An optional field is absent when missing or null (as Go's JSON decoding reads it). */
const absent = (v: unknown): boolean => v === undefined || v === null;

function optString(o: Json, key: string, field: string): void {
  if (!absent(o[key]) && typeof o[key] !== 'string') invalid(`${field}.${key}`, 'must be a string');
}

function optInteger(o: Json, key: string, field: string, min = -(2 ** 31)): void {
  const v = o[key];
  if (!absent(v) && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 2 ** 31 - 1)) {
    invalid(`${field}.${key}`, `must be an integer${min === 0 ? ' of at least 0' : ''}`);
  }
}

function optStrings(o: Json, key: string, field: string): void {
  const v = o[key];
  if (!absent(v) && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) invalid(`${field}.${key}`, 'must be an array of strings');
}

/**
 * 4 or 6 for an IP address, 0 otherwise. Not node:net's isIP: loading node:net (and the streams it
 * brings) would cost every ADD, which converts its result with this module.
 */
function ipFamily(text: string): 0 | 4 | 6 {
  if (isIp(text)) return 4;
  if (!text.includes(':') || /[^0-9a-fA-F:.]/.test(text)) return 0;
  try {
    new URL(`http://[${text}]/`);
    return 6;
  } catch {
    return 0;
  }
}

/** An IP address with a prefix length, "10.1.2.3/24" or "fd00::3/64", as Go's net.ParseCIDR takes it. */
function cidr(o: Json, key: string, field: string): string {
  const v = o[key];
  if (typeof v !== 'string') invalid(`${field}.${key}`, 'must be a string');
  const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
  const family = m ? ipFamily(m[1]!) : 0;
  if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) invalid(`${field}.${key}`, `${JSON.stringify(v)} is not an IP address with a prefix length (CIDR)`);
  return v;
}

function optIp(o: Json, key: string, field: string): void {
  const v = o[key];
  if (absent(v)) return;
  if (typeof v !== 'string') invalid(`${field}.${key}`, 'must be a string');
  if (ipFamily(v) === 0) invalid(`${field}.${key}`, `${JSON.stringify(v)} is not an IP address`);
}

/**
 * The fields of `o` the spec defines (`keys`), without those that are absent or null: what the
 * reference's Go types keep of it. Anything else is dropped, so nothing unchecked (a field nested
 * deeper than JSON.stringify can go, say) is passed on in ADD's result.
 */
function known<T>(o: Json, keys: readonly string[]): T {
  return Object.fromEntries(keys.filter((k) => !absent(o[k])).map((k) => [k, o[k]])) as T;
}

const INTERFACE_KEYS = ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID'] as const;
const IP_KEYS = ['address', 'gateway', 'interface'] as const;
const ROUTE_KEYS = ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'] as const;
const DNS_KEYS = ['nameservers', 'domain', 'search', 'options'] as const;

function route(v: unknown, field: string): CniRoute {
  const r = object(v, field);
  cidr(r, 'dst', field);
  optIp(r, 'gw', field);
  for (const k of ROUTE_KEYS.slice(2)) optInteger(r, k, field);
  return known<CniRoute>(r, ROUTE_KEYS);
}

function routes(v: unknown, field: string): CniRoute[] {
  return array(v, field).map((r, i) => route(r, `${field}[${i}]`));
}

function dns(v: unknown, field: string): CniDns {
  const d = object(v, field);
  optStrings(d, 'nameservers', field);
  optString(d, 'domain', field);
  optStrings(d, 'search', field);
  optStrings(d, 'options', field);
  return known<CniDns>(d, DNS_KEYS);
}

/** The 0.1.0/0.2.0 `ip4`/`ip6` object: `{ip, gateway?, routes?}`. */
function legacyIp(v: unknown, field: string): { ip: string; gateway?: string; routes?: CniRoute[] } {
  const o = object(v, field);
  const ip = cidr(o, 'ip', field);
  optIp(o, 'gateway', field);
  return {
    ip,
    ...(absent(o['gateway']) ? {} : { gateway: o['gateway'] as string }),
    ...(absent(o['routes']) ? {} : { routes: routes(o['routes'], `${field}.routes`) }),
  };
}

/**
 * Reads a prevResult of any version into the internal form, checking every field it knows (the
 * shapes of SPEC 1.1.0's Result, and of 0.1.0/0.2.0 below 0.3.0): a malformed one is the CNI error
 * 7 naming the field (`prevResult.ips[0].address ...`), never a crash or a result copied on
 * unchecked. Only the fields the spec defines are kept, as the reference's Go types keep them. A
 * prevResult without cniVersion has the config's (`confVersion`), as the reference ParsePrevResult
 * gives it.
 */
export function parsePrevResult(prev: unknown, confVersion?: string): CniResult {
  const p = object(prev, 'prevResult');
  if (!absent(p['cniVersion']) && typeof p['cniVersion'] !== 'string') invalid('prevResult.cniVersion', 'must be a string');
  const given = (p['cniVersion'] as string | null | undefined) || undefined;
  const version = given ?? confVersion ?? (absent(p['ip4']) && absent(p['ip6']) ? '1.0.0' : '0.2.0');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    invalid('prevResult.cniVersion', `${JSON.stringify(version)} is not a CNI version twill knows (${SUPPORTED_VERSIONS.join(', ')})`);
  }
  if (compareVersions(version, '0.3.0') < 0) {
    const ip4 = absent(p['ip4']) ? undefined : legacyIp(p['ip4'], 'prevResult.ip4');
    if (!absent(p['ip6'])) legacyIp(p['ip6'], 'prevResult.ip6');
    return {
      cniVersion: version,
      ips: ip4 ? [{ address: ip4.ip, ...(ip4.gateway ? { gateway: ip4.gateway } : {}) }] : [],
      routes: ip4?.routes ?? [],
      ...(absent(p['dns']) ? {} : { dns: dns(p['dns'], 'prevResult.dns') }),
    };
  }
  const r: CniResult = { cniVersion: version };
  if (!absent(p['interfaces'])) {
    r.interfaces = array(p['interfaces'], 'prevResult.interfaces').map((v, i) => {
      const field = `prevResult.interfaces[${i}]`;
      const o = object(v, field);
      if (typeof o['name'] !== 'string') invalid(`${field}.name`, 'must be a string');
      for (const k of ['mac', 'sandbox', 'socketPath', 'pciID']) optString(o, k, field);
      optInteger(o, 'mtu', field, 0);
      return known<CniInterface>(o, INTERFACE_KEYS);
    });
  }
  if (!absent(p['ips'])) {
    const count = r.interfaces?.length ?? 0;
    r.ips = array(p['ips'], 'prevResult.ips').map((v, i) => {
      const field = `prevResult.ips[${i}]`;
      const o = object(v, field);
      cidr(o, 'address', field);
      optIp(o, 'gateway', field);
      optInteger(o, 'interface', field, 0);
      if (!absent(o['interface']) && (o['interface'] as number) >= count) {
        invalid(`${field}.interface`, `${String(o['interface'])} is not an index of prevResult.interfaces (${count} entries)`);
      }
      if (!absent(o['version']) && o['version'] !== '4' && o['version'] !== '6') invalid(`${field}.version`, 'must be "4" or "6"');
      return known<CniIpConfig>(o, IP_KEYS); // without 0.3.x/0.4.0's `version`
    });
  }
  if (!absent(p['routes'])) r.routes = routes(p['routes'], 'prevResult.routes');
  if (!absent(p['dns'])) r.dns = dns(p['dns'], 'prevResult.dns');
  return r;
}

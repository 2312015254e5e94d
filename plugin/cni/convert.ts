/**
 * Result conversion between spec versions (libcni pkg/types/{020,040,100}):
 * 1.x (internal) → 0.3.x/0.4.0 (adds ips[].version "4", drops 1.1 interface fields) →
 * 0.1.0/0.2.0 (`ip4` object). Also parses a prevResult of any version into the 1.x form.
 */
import type { CniResult, CniRoute } from './types.js';
import { compareVersions } from './types.js';

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

/** Reads a prevResult of any version into the internal form (unknown shapes → empty). */
export function parsePrevResult(prev: unknown): CniResult {
  const p = (prev ?? {}) as Record<string, unknown>;
  const version = typeof p['cniVersion'] === 'string' ? p['cniVersion'] : '1.0.0';
  if (p['ip4'] && typeof p['ip4'] === 'object') {
    const ip4 = p['ip4'] as { ip?: string; gateway?: string; routes?: CniRoute[] };
    return {
      cniVersion: version,
      ips: ip4.ip ? [{ address: ip4.ip, ...(ip4.gateway ? { gateway: ip4.gateway } : {}) }] : [],
      routes: ip4.routes ?? [],
      ...(p['dns'] ? { dns: p['dns'] as CniResult['dns'] } : {}),
    };
  }
  const r: CniResult = { cniVersion: version };
  if (Array.isArray(p['interfaces'])) r.interfaces = p['interfaces'] as CniResult['interfaces'];
  if (Array.isArray(p['ips'])) {
    r.ips = (p['ips'] as Array<Record<string, unknown>>).map((ip) => {
      const { version: _v, ...rest } = ip;
      void _v;
      return rest as unknown as NonNullable<CniResult['ips']>[number];
    });
  }
  if (Array.isArray(p['routes'])) r.routes = p['routes'] as CniRoute[];
  if (p['dns'] && typeof p['dns'] === 'object') r.dns = p['dns'] as CniResult['dns'];
  return r;
}

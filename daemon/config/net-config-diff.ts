/**
 * What differs between two network configs, field by field in flannel's names (`Network`,
 * `SubnetLen`, `SubnetMin`, `SubnetMax`, `Backend.Type`, `Backend.<option>`), pure. A running daemon
 * applies none of it (see daemon/subnet/config-watch.ts): each is named in the log instead.
 */
import { formatCidr, formatIp } from '../../shared/ip/cidr.js';
import type { NetConfig } from './net-config.js';

/** One field that differs, with its value before and after (as the config would write it). */
export interface NetConfigChange {
  field: string;
  from: unknown;
  to: unknown;
}

/**
 * Fields whose change only matters to the next lease acquisition (which subnets a new host may
 * pick); every other change alters what running pods and peers depend on.
 */
export const ACQUISITION_ONLY_FIELDS: ReadonlySet<string> = new Set(['SubnetMin', 'SubnetMax']);

/** Field names and values as flannel's config spells them, the Backend's options one by one. */
function flatten(c: NetConfig): Map<string, unknown> {
  const m = new Map<string, unknown>([
    ['Network', formatCidr(c.network)],
    ['SubnetLen', c.subnetLen],
    ['SubnetMin', formatIp(c.subnetMin)],
    ['SubnetMax', formatIp(c.subnetMax)],
    ['Backend.Type', c.backendType],
  ]);
  for (const [k, v] of Object.entries(c.backend)) if (k !== 'Type') m.set(`Backend.${k}`, v);
  return m;
}

/** The fields that differ from `running` to `next` (defaults filled in: only real changes), in a fixed order. */
export function diffNetConfig(running: NetConfig, next: NetConfig): NetConfigChange[] {
  const a = flatten(running);
  const b = flatten(next);
  const changes: NetConfigChange[] = [];
  for (const field of new Set([...a.keys(), ...b.keys()])) {
    const from = a.get(field);
    const to = b.get(field);
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field, from: from ?? null, to: to ?? null });
  }
  return changes;
}

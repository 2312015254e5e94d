/** `twilld leases`: a table of every lease (subnet, public IP, backend, expiry, this host). */
import { formatCidr, subnetKeyOf } from '../../shared/ip/cidr.js';
import type { Lease } from '../subnet/lease.js';

export interface LeaseRow {
  lease: Lease;
  ttlS: number;
}

/** Renders the rows as aligned text; `ownSubnet` marks this host's lease. */
export function formatLeasesTable(rows: LeaseRow[], ownSubnet: string | null, now = Date.now()): string {
  const header = ['SUBNET', 'PUBLIC IP', 'BACKEND', 'VTEP MAC', 'EXPIRES', 'THIS HOST'];
  const body = rows
    .sort((a, b) => a.lease.subnet.ip - b.lease.subnet.ip)
    .map(({ lease, ttlS }) => {
      const data = (lease.attrs.BackendData ?? {}) as { VtepMAC?: unknown };
      return [
        formatCidr(lease.subnet),
        lease.attrs.PublicIP,
        lease.attrs.BackendType || '-',
        typeof data.VtepMAC === 'string' ? data.VtepMAC : '-',
        ttlS >= 0 ? new Date(now + ttlS * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : 'never',
        ownSubnet !== null && subnetKeyOf(lease.subnet) === ownSubnet ? 'yes' : '',
      ];
    });
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

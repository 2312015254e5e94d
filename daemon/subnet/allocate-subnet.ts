/**
 * The lease policy, pure: given the config, every live lease, our PublicIP and the subnet we held
 * before, decide which subnet to take (flannel local_manager.go tryAcquireLease):
 * 1. the previous subnet (from subnet.env) if it is in the Network and free or ours;
 * 2. else the one lease that already carries our PublicIP;
 * 3. else a random free subnet between SubnetMin and SubnetMax.
 * A live lease that carries our PublicIP with another subnet than the one we are about to use is a
 * conflict (two hosts with one address), reported instead of silently sharing the address.
 */
import { PublicIpConflictError, SubnetExhaustedError } from '../../shared/errors.js';
import { canonical, type Cidr, cidrEquals, containsCidr, formatCidr, formatIp, networkOf, sizeOf } from '../../shared/ip/cidr.js';
import type { NetConfig } from '../config/net-config.js';
import type { Lease } from './lease.js';

export type AcquirePlan = { kind: 'reuse'; lease: Lease } | { kind: 'create'; subnet: Cidr };

/** True when a lease's subnet is a valid subnet of the current config (in Network, right size). */
export function leaseFitsConfig(cfg: NetConfig, subnet: Cidr): boolean {
  return subnet.prefix === cfg.subnetLen && networkOf(subnet) === subnet.ip && containsCidr(cfg.network, subnet);
}

function conflictError(publicIp: string, others: Lease[], using: Cidr | null): PublicIpConflictError {
  const list = others.map((l) => formatCidr(l.subnet)).join(', ');
  return new PublicIpConflictError(
    `PublicIP ${publicIp} is already advertised by live lease(s) ${list}` + (using ? ` while this host uses ${formatCidr(using)}` : ''),
    { hint: 'two hosts may share one address: pick the right interface with --iface/--public-ip, or delete the stale lease key under <prefix>/subnets/' },
  );
}

/** Decides how to acquire a lease; throws SubnetExhaustedError or PublicIpConflictError. */
export function planAcquire(
  cfg: NetConfig,
  leases: readonly Lease[],
  publicIp: string,
  previous: Cidr | null,
  random: () => number = Math.random,
): AcquirePlan {
  const valid = leases.filter((l) => leaseFitsConfig(cfg, l.subnet));
  const ours = valid.filter((l) => l.attrs.PublicIP === publicIp);

  if (previous && leaseFitsConfig(cfg, previous)) {
    const existing = valid.find((l) => cidrEquals(l.subnet, previous));
    if (!existing || existing.attrs.PublicIP === publicIp) {
      const others = ours.filter((l) => !cidrEquals(l.subnet, previous));
      if (others.length > 0) throw conflictError(publicIp, others, previous);
      return existing ? { kind: 'reuse', lease: existing } : { kind: 'create', subnet: canonical(previous) };
    }
  }
  if (ours.length === 1) return { kind: 'reuse', lease: ours[0]! };
  if (ours.length > 1) throw conflictError(publicIp, ours, null);

  const taken = new Set(valid.map((l) => l.subnet.ip));
  const step = sizeOf(cfg.subnetLen);
  const free: number[] = [];
  for (let ip = cfg.subnetMin; ip <= cfg.subnetMax; ip += step) {
    if (!taken.has(ip)) free.push(ip);
    if (ip + step > 0xffffffff) break;
  }
  if (free.length === 0) {
    throw new SubnetExhaustedError(
      `no free subnet: all ${Math.floor((cfg.subnetMax - cfg.subnetMin) / step) + 1} /${cfg.subnetLen} subnets between ${formatIp(cfg.subnetMin)} and ${formatIp(cfg.subnetMax)} are leased`,
      { hint: 'remove stale leases, or widen Network/SubnetMin/SubnetMax' },
    );
  }
  const pick = free[Math.floor(random() * free.length)]!;
  return { kind: 'create', subnet: { ip: pick, prefix: cfg.subnetLen } };
}

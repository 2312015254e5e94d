/**
 * The lease policy, pure: given the config, every live lease, our PublicIP and the subnet we held
 * before, decide which subnet to take (flannel local_manager.go tryAcquireLease):
 * 1. the previous subnet (from subnet.env) if it is in the Network and free or ours;
 * 2. else the one lease that already carries our PublicIP;
 * 3. else a random free subnet between SubnetMin and SubnetMax.
 * Every other lease carrying our PublicIP is ours too, from an earlier life of this host (a lost
 * subnet.env, a config change): the plan names them as stale, as flannel deletes its own lease that
 * no longer fits the config. Only several leases carrying our PublicIP and no previous subnet to
 * choose by is a conflict (two hosts with one address), reported instead of picking one.
 */
import { PublicIpConflictError, SubnetExhaustedError } from '../../shared/errors.js';
import { canonical, type Cidr, cidrEquals, containsCidr, formatCidr, formatIp, networkOf, sizeOf } from '../../shared/ip/cidr.js';
import type { NetConfig } from '../config/net-config.js';
import type { Lease } from './lease.js';

/**
 * What to take, and the other leases carrying our PublicIP (`stale`), which the lease we take
 * replaces.
 */
export type AcquirePlan = ({ kind: 'reuse'; lease: Lease } | { kind: 'create'; subnet: Cidr }) & { stale: Lease[] };

/** True when a lease's subnet is a valid subnet of the current config (in Network, right size). */
export function leaseFitsConfig(cfg: NetConfig, subnet: Cidr): boolean {
  return subnet.prefix === cfg.subnetLen && networkOf(subnet) === subnet.ip && containsCidr(cfg.network, subnet);
}

function conflictError(publicIp: string, others: Lease[]): PublicIpConflictError {
  const list = others.map((l) => formatCidr(l.subnet)).join(', ');
  return new PublicIpConflictError(
    `PublicIP ${publicIp} is already advertised by live leases ${list}, and no previous subnet (subnet.env) says which is this host's`,
    { hint: 'two hosts may share one address: pick the right interface with --iface/--public-ip, or delete the stale lease keys under <prefix>/subnets/' },
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
  /** Every lease carrying our PublicIP but the one on `taking`. */
  const staleBut = (taking: Cidr | null): Lease[] =>
    leases.filter((l) => l.attrs.PublicIP === publicIp && !(taking && cidrEquals(l.subnet, taking)));

  if (previous && leaseFitsConfig(cfg, previous)) {
    const existing = valid.find((l) => cidrEquals(l.subnet, previous));
    if (!existing || existing.attrs.PublicIP === publicIp) {
      const stale = staleBut(previous);
      return existing ? { kind: 'reuse', lease: existing, stale } : { kind: 'create', subnet: canonical(previous), stale };
    }
  }
  if (ours.length === 1) return { kind: 'reuse', lease: ours[0]!, stale: staleBut(ours[0]!.subnet) };
  if (ours.length > 1) throw conflictError(publicIp, ours);

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
  return { kind: 'create', subnet: { ip: pick, prefix: cfg.subnetLen }, stale: staleBut(null) };
}

/**
 * Masquerading of pod traffic that leaves the pod network (flannel pkg/trafficmngr, MasqRules and
 * ForwardRules), rendered for nftables (preferred: one table `ip twill`, replaced atomically) or
 * iptables (fallback: chains TWILL-POSTRTG and TWILL-FWD). Pod-to-pod traffic keeps its source.
 */
import { formatCidr, type Cidr } from '../../shared/ip/cidr.js';

export const NFT_TABLE = 'twill';
export const IPT_NAT_CHAIN = 'TWILL-POSTRTG';
export const IPT_FWD_CHAIN = 'TWILL-FWD';

/** The nft script that (re)creates twill's table in one transaction. */
export function nftScript(network: Cidr, subnet: Cidr): string {
  const n = formatCidr(network);
  const s = formatCidr(subnet);
  return [
    `table ip ${NFT_TABLE} {}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${n} ip daddr ${n} return comment "pod to pod: keep the source"`,
    `    ip saddr ${n} ip daddr != 224.0.0.0/4 masquerade fully-random comment "pod to outside"`,
    `    ip saddr != ${n} ip daddr ${s} return comment "outside to local pods"`,
    `    ip saddr != ${n} ip daddr ${n} masquerade fully-random comment "host to remote pods"`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    ip saddr ${n} accept`,
    `    ip daddr ${n} accept`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The nft script removing the table (idempotent: it is created first if missing). */
export function nftDeleteScript(): string {
  return `table ip ${NFT_TABLE} {}\ndelete table ip ${NFT_TABLE}\n`;
}

/** iptables rules as argument arrays: [table, chain, ...rule]. */
export function iptablesRules(network: Cidr, subnet: Cidr): Array<{ table: 'nat' | 'filter'; chain: string; rule: string[] }> {
  const n = formatCidr(network);
  const s = formatCidr(subnet);
  return [
    { table: 'nat', chain: IPT_NAT_CHAIN, rule: ['-s', n, '-d', n, '-j', 'RETURN'] },
    { table: 'nat', chain: IPT_NAT_CHAIN, rule: ['-s', n, '!', '-d', '224.0.0.0/4', '-j', 'MASQUERADE', '--random-fully'] },
    { table: 'nat', chain: IPT_NAT_CHAIN, rule: ['!', '-s', n, '-d', s, '-j', 'RETURN'] },
    { table: 'nat', chain: IPT_NAT_CHAIN, rule: ['!', '-s', n, '-d', n, '-j', 'MASQUERADE', '--random-fully'] },
    { table: 'filter', chain: IPT_FWD_CHAIN, rule: ['-s', n, '-j', 'ACCEPT'] },
    { table: 'filter', chain: IPT_FWD_CHAIN, rule: ['-d', n, '-j', 'ACCEPT'] },
  ];
}

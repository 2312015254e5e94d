/**
 * Applies and removes the masquerade rules: nftables when the `nft` tool works, else iptables.
 * Both are idempotent: applying twice leaves one copy of each rule.
 */
import type { Cidr } from '../../shared/ip/cidr.js';
import { must, run } from '../exec.js';
import { IPT_FWD_CHAIN, IPT_NAT_CHAIN, iptablesRules, nftDeleteScript, nftScript } from './masq-rules.js';

export type MasqMode = 'nftables' | 'iptables';

/** nftables when `nft list tables` works here, else iptables. */
export async function detectMasqMode(): Promise<MasqMode> {
  try {
    const r = await run('nft', ['list', 'tables']);
    return r.code === 0 ? 'nftables' : 'iptables';
  } catch {
    return 'iptables';
  }
}

/** Installs (or refreshes) the rules for this host's lease. */
export async function applyMasquerade(mode: MasqMode, network: Cidr, subnet: Cidr): Promise<void> {
  if (mode === 'nftables') return must('nft', ['-f', '-'], nftScript(network, subnet));
  for (const [table, chain, parent] of [['nat', IPT_NAT_CHAIN, 'POSTROUTING'], ['filter', IPT_FWD_CHAIN, 'FORWARD']] as const) {
    await run('iptables', ['-w', '-t', table, '-N', chain]);
    await must('iptables', ['-w', '-t', table, '-F', chain]);
    const jump = ['-m', 'comment', '--comment', 'twill', '-j', chain];
    if ((await run('iptables', ['-w', '-t', table, '-C', parent, ...jump])).code !== 0) await must('iptables', ['-w', '-t', table, '-I', parent, '1', ...jump]);
  }
  for (const r of iptablesRules(network, subnet)) await must('iptables', ['-w', '-t', r.table, '-A', r.chain, ...r.rule]);
}

/** Removes the rules (nothing to do when they are absent). */
export async function removeMasquerade(mode: MasqMode): Promise<void> {
  if (mode === 'nftables') return must('nft', ['-f', '-'], nftDeleteScript());
  for (const [table, chain, parent] of [['nat', IPT_NAT_CHAIN, 'POSTROUTING'], ['filter', IPT_FWD_CHAIN, 'FORWARD']] as const) {
    await run('iptables', ['-w', '-t', table, '-D', parent, '-m', 'comment', '--comment', 'twill', '-j', chain]);
    await run('iptables', ['-w', '-t', table, '-F', chain]);
    await run('iptables', ['-w', '-t', table, '-X', chain]);
  }
}

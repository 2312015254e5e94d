/**
 * Network faults inside a namespace the test made: every packet between it and some addresses
 * silently dropped (nftables DROP both ways: no RST, no ICMP), as a pulled cable or a dead switch
 * port would. The rules live in a table of their own; the undo deletes that table.
 */
import { sh } from './netns.js';

let tables = 0;

/** Drops every packet between namespace `ns` and `addresses`, both ways; returns the undo. */
export function dropTraffic(ns: string, addresses: readonly string[]): () => void {
  const table = `tw_cut_${process.pid}_${++tables}`;
  const set = addresses.join(', ');
  sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], `table ip ${table} {
  chain in { type filter hook input priority -300; ip saddr { ${set} } drop; }
  chain out { type filter hook output priority -300; ip daddr { ${set} } drop; }
}
`);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    sh('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'ip', table]);
  };
}

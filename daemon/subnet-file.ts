/**
 * flannel's subnet.env: four variables, written atomically (temp file, fsync, rename), read back at
 * start to reuse the previous subnet, and turned into mk-docker-opts output by `twilld docker-opts`.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../shared/fs/atomic-file.js';
import { makeDirs } from '../shared/fs/state-dir.js';
import { canonical, type Cidr, formatCidr, formatIp, gatewayOf, parseCidr } from '../shared/ip/cidr.js';

export interface SubnetFileData {
  network: Cidr;
  subnet: Cidr;
  mtu: number;
  ipMasq: boolean;
}

/** The file's text: FLANNEL_NETWORK, FLANNEL_SUBNET (gateway/len), FLANNEL_MTU, FLANNEL_IPMASQ. */
export function formatSubnetFile(d: SubnetFileData): string {
  return [
    `FLANNEL_NETWORK=${formatCidr(d.network)}`,
    `FLANNEL_SUBNET=${formatIp(gatewayOf(d.subnet))}/${d.subnet.prefix}`,
    `FLANNEL_MTU=${d.mtu}`,
    `FLANNEL_IPMASQ=${d.ipMasq}`,
    '',
  ].join('\n');
}

/** Writes the file atomically, mode 0644; a missing directory is made mode 0755 (whatever the umask). */
export function writeSubnetFile(path: string, d: SubnetFileData): void {
  makeDirs(dirname(path), 0o755);
  writeFileAtomic(path, formatSubnetFile(d), { mode: 0o644, fsync: true });
}

/** Parses KEY=VALUE lines. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** The subnet recorded in the file (as a network address), or null when absent or unreadable. */
export function readPreviousSubnet(path: string): Cidr | null {
  try {
    const v = parseEnvFile(readFileSync(path, 'utf8'))['FLANNEL_SUBNET'];
    if (!v) return null;
    return canonical(parseCidr(v));
  } catch {
    return null;
  }
}

/** flannel's mk-docker-opts.sh output for a subnet.env text. */
export function dockerOpts(envText: string): string {
  const env = parseEnvFile(envText);
  const lines: string[] = [];
  const opts: string[] = [];
  if (env['FLANNEL_SUBNET']) {
    lines.push(`DOCKER_OPT_BIP="--bip=${env['FLANNEL_SUBNET']}"`);
    opts.push(`--bip=${env['FLANNEL_SUBNET']}`);
  }
  if (env['FLANNEL_IPMASQ'] === 'true') {
    lines.push('DOCKER_OPT_IPMASQ="--ip-masq=false"');
    opts.push('--ip-masq=false');
  }
  if (env['FLANNEL_MTU']) {
    lines.push(`DOCKER_OPT_MTU="--mtu=${env['FLANNEL_MTU']}"`);
    opts.push(`--mtu=${env['FLANNEL_MTU']}`);
  }
  lines.push(`DOCKER_NETWORK_OPTIONS=" ${opts.join(' ')}"`);
  return lines.join('\n') + '\n';
}

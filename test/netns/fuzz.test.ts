/**
 * Hostile input to the plugin executable: ≥ 1,000 generated malformed inputs (broken JSON, wrong
 * types, huge values, unknown versions, bad CNI_IFNAME/CNI_CONTAINERID/CNI_NETNS, container IDs
 * over the protocol's limit, requested addresses that can never be the host's, missing variables,
 * oversized stdin, names over 15 UTF-8 bytes, malformed prevResults). Every one must be answered with
 * exactly one CNI error object with the expected code on stdout, exit status 1, no stack trace on
 * stdout or stderr, and nothing left behind; the few that must succeed (the DEL of an ID no ADD
 * takes) with exit status 0 and nothing on stdout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNetns, ipIn, netnsPath } from '../helpers/netns.js';
import { runPlugin } from '../helpers/run-plugin.js';
import { Lab, type LabHost } from '../lab/lab.js';
import { formatIp, lastOf, parseCidr } from '../../shared/ip/cidr.js';
import { MAX_CONTAINER_ID_LENGTH } from '../../shared/protocol/api.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);
const COUNT = Number(process.env['TWILL_FUZZ_COUNT'] ?? 1000);

/** A small deterministic PRNG (mulberry32), so a failure can be replayed with the same seed. */
function prng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  kind: string;
  env: Record<string, string>;
  stdin: string | Buffer;
  /** The CNI codes expected; [SUCCESS] for an input that must succeed. */
  codes: number[];
}

/** In `codes`: the input must succeed (exit 0, nothing on stdout). */
const SUCCESS = 0;

/** Addresses that can never be a pod address of a host with `subnet` (gateway `gateway`). */
function foreignAddresses(subnet: string, gateway: string): string[] {
  const s = parseCidr(subnet);
  return ['1.2.3.4', '0.0.0.0', '255.255.255.255', '127.0.0.1', formatIp(s.ip), formatIp(lastOf(s)), gateway, formatIp((lastOf(s) + 1) >>> 0)];
}

function generate(n: number, seed: number, goodConf: Record<string, unknown>, podNs: string, lease: { subnet: string; gateway: string }): Case[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const junk = (len: number) => Array.from({ length: len }, () => String.fromCharCode(Math.floor(rnd() * 0xffff))).join('');
  const env = (cmd = 'ADD', over: Record<string, string> = {}) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: `fuzz${Math.floor(rnd() * 1e9)}`, CNI_NETNS: podNs, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', ...over });
  const conf = (over: Record<string, unknown>) => JSON.stringify({ ...goodConf, ...over });
  const cmds = ['ADD', 'DEL', 'CHECK'];
  const gens: Array<() => Case> = [
    () => ({ kind: 'broken JSON', env: env(pick(cmds)), stdin: conf({}).slice(0, Math.floor(rnd() * 60)) + pick(['', '{', '"', ',', '}}']), codes: [6] }),
    () => ({ kind: 'binary stdin', env: env(pick(cmds)), stdin: Buffer.from(Array.from({ length: 200 }, () => Math.floor(rnd() * 256))), codes: [6] }),
    // No cniVersion means 0.1.0, so CHECK is refused by version before the shape is looked at.
    () => ({ kind: 'not an object', env: env(pick(['ADD', 'DEL'])), stdin: pick(['[]', '1', '"x"', 'null', 'true', '[{}]']), codes: [6, 7] }),
    () => ({ kind: 'unknown version', env: env(pick(cmds)), stdin: conf({ cniVersion: pick(['0.0.1', '2.0.0', '1.1', 'v1', '1.1.0.0', ' 1.0.0', `x${junk(5)}`]) }), codes: [1] }),
    () => ({ kind: 'version of the wrong type', env: env(pick(['ADD', 'DEL'])), stdin: conf({ cniVersion: pick([1, true, {}, [], 1.1]) }), codes: [7] }),
    () => {
      const field = pick(['mtu', 'hairpinMode', 'isDefaultGateway', 'promiscMode', 'socket', 'bridge', 'name', 'dataDir']);
      const bad = field === 'mtu' ? pick(['1500', true, -1, 1e9, 1.5, {}, 40]) : field === 'bridge' ? pick([7, '../x', 'a'.repeat(16), 'a b', '']) : field === 'socket' ? pick([7, {}, [], null, 'x'.repeat(200), '']) : pick([7, {}, [], null, '']);
      return { kind: `wrong ${field}`, env: env(pick(cmds)), stdin: conf({ [field]: bad }), codes: [7] };
    },
    () => ({ kind: 'huge name', env: env(pick(cmds)), stdin: conf({ name: 'n'.repeat(100_000 + Math.floor(rnd() * 1000)) + ' ' }), codes: [7] }),
    () => ({ kind: 'oversized stdin', env: env(pick(cmds)), stdin: conf({ pad: 'x'.repeat(1024 * 1024 + 1) }), codes: [5] }),
    () => ({ kind: 'deep nesting', env: env(pick(['ADD', 'DEL'])), stdin: '['.repeat(5000) + ']'.repeat(5000), codes: [6, 7] }),
    () => {
      const name = pick(['../x', 'a'.repeat(16 + Math.floor(rnd() * 50)), '.', '..', 'eth0:1', 'a b', 'a/b', 'eth\t0', 'x\ny']);
      return { kind: 'bad CNI_IFNAME', env: env(pick(cmds), { CNI_IFNAME: name }), stdin: conf({}), codes: [4] };
    },
    () => ({ kind: 'bad CNI_CONTAINERID', env: env(pick(cmds), { CNI_CONTAINERID: pick(['-x', '.x', 'a b', 'a/b', 'a;b', '$(id)', `x${junk(3)}`]) }), stdin: conf({}), codes: [4] }),
    () => ({ kind: 'bad CNI_NETNS', env: env(pick(['ADD', 'CHECK']), { CNI_NETNS: pick(['relative/path', '/nonexistent/ns', '/etc/passwd', '/proc/self/ns/net', '/proc/self/ns/mnt', '/dev/null', '/']) }), stdin: conf({ prevResult: { cniVersion: '1.1.0', ips: [{ address: '10.1.1.1/24' }] } }), codes: [4] }),
    () => {
      const cmd = pick(['ADD', 'DEL', 'CHECK']);
      const drop = pick(['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH', ...(cmd === 'DEL' ? [] : ['CNI_NETNS'])]);
      const e = env(cmd);
      delete (e as Record<string, string>)[drop];
      return { kind: `missing ${drop}`, env: e, stdin: conf({}), codes: [4] };
    },
    () => ({ kind: 'unknown command', env: env(pick(['add', 'FOO', 'VERSIONS', 'del ', junk(4)])), stdin: conf({}), codes: [4] }),
    () => ({ kind: 'command too new for the version', env: env(pick(['GC', 'STATUS'])), stdin: conf({ cniVersion: pick(['0.3.1', '0.4.0', '1.0.0']) }), codes: [1] }),
    () => ({ kind: 'CHECK on an old version', env: env('CHECK'), stdin: conf({ cniVersion: pick(['0.1.0', '0.2.0', '0.3.0', '0.3.1']) }), codes: [1] }),
    () => ({ kind: 'hostile runtimeConfig', env: env('ADD'), stdin: conf({ runtimeConfig: pick([{ mac: 'zz:zz' }, { MAC: 5 }, { ips: ['1.2.3.4', '1.2.3.5'] }, { ips: ['999.1.1.1'] }, { portMappings: [{ hostPort: 1 }] }, { bandwidth: { ingressRate: 1 } }]) }), codes: [2, 7] }),
    () => ({ kind: 'bad CNI_ARGS', env: env('ADD', { CNI_ARGS: pick(['FOO=1', 'noequals', 'A=1;;B', '=x', 'IP=1.2.3.4;EVIL=1']) }), stdin: conf({}), codes: [2, 4] }),
    () => ({ kind: 'CHECK without prevResult', env: env('CHECK'), stdin: conf({}), codes: [7] }),
    () => ({ kind: 'prevResult of the wrong type', env: env('CHECK'), stdin: conf({ prevResult: pick(['x', 1, [], true]) }), codes: [7] }),
    () => {
      const ip = pick(foreignAddresses(lease.subnet, lease.gateway));
      return pick([
        { kind: 'requested address not of this host (CNI_ARGS IP=)', env: env('ADD', { CNI_ARGS: `IP=${ip}` }), stdin: conf({}), codes: [7] },
        { kind: 'requested address not of this host (runtimeConfig.ips)', env: env('ADD'), stdin: conf({ runtimeConfig: { ips: [`${ip}/${pick(['24', '32', '0'])}`] } }), codes: [7] },
      ]);
    },
    () => ({ kind: 'CNI_CONTAINERID over the limit', env: env('ADD', { CNI_CONTAINERID: 'c'.repeat(MAX_CONTAINER_ID_LENGTH + 1 + Math.floor(rnd() * 5000)) }), stdin: conf({}), codes: [4] }),
    () => ({ kind: 'DEL of a CNI_CONTAINERID over the limit', env: env('DEL', { CNI_CONTAINERID: 'c'.repeat(MAX_CONTAINER_ID_LENGTH + 1 + Math.floor(rnd() * 5000)) }), stdin: conf({}), codes: [SUCCESS] }),
    () => ({ kind: 'GC attachments of the wrong type', env: { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, stdin: conf({ 'cni.dev/valid-attachments': pick(['x', [1], [{ containerID: 1 }], { a: 1 }]) }), codes: [7] }),
  ];
  // Issue #20, item 9: names are counted in UTF-8 bytes (IFNAMSIZ), whitespace as Go's unicode.IsSpace
  // knows it, and prevResult is checked field by field before anything is done.
  const overlong = ['é'.repeat(8), 'eth' + 'é'.repeat(7), '€'.repeat(6), '日本語のインターフェース', '😀'.repeat(4), 'ü'.repeat(15), 'veth-' + 'ß'.repeat(6)];
  const spaced = ['eth\u00a00', 'eth\u00850', 'eth\u20030', 'eth\u30000', 'eth\u2028', '\u1680x'];
  const goodPrev = () => ({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: podNs }], ips: [{ address: '10.56.1.2/24', gateway: '10.56.1.1', interface: 0 }], routes: [{ dst: '0.0.0.0/0', gw: '10.56.1.1' }], dns: { nameservers: ['10.56.0.10'] } });
  const breakPrev: Array<(p: Record<string, unknown>) => void> = [
    (p) => { p['cniVersion'] = pick([1, false, '9.9.9', 'x', [], '1.1']); },
    (p) => { p['interfaces'] = pick(['x', {}, 5, [null], [5], [{}], [{ name: 5 }], [{ name: 'eth0', mtu: 'x' }], [{ name: 'eth0', mac: 7 }], [{ name: 'eth0', sandbox: {} }]]); },
    (p) => { p['ips'] = pick(['x', {}, [null], [1], [{}], [{ address: 5 }], [{ address: '10.1.1.1' }], [{ address: `x${junk(8)}` }], [{ address: '10.1.1.1/24', gateway: `x${junk(4)}` }], [{ address: '10.1.1.1/24', interface: 7 }], [{ address: '10.1.1.1/24', interface: -1 }], [{ address: '10.1.1.1/24', interface: 0.5 }], [{ address: '1.2.3.4/99' }], [{ address: '::1/200' }]]); },
    (p) => { p['routes'] = pick(['x', [null], [{}], [{ dst: 'default' }], [{ dst: '0.0.0.0/0', gw: 'router' }], [{ dst: '0.0.0.0/0', mtu: '1500' }], [{ dst: '10.0.0.0/8', table: 1.5 }]]); },
    (p) => { p['dns'] = pick(['x', [], 5, { nameservers: 'x' }, { search: [1] }, { domain: {} }, { options: [null] }]); },
    (p) => { p['cniVersion'] = pick(['0.1.0', '0.2.0']); p['ip4'] = pick(['x', [], {}, { ip: 5 }, { ip: '10.1.1.1' }, { ip: '10.1.1.2/24', gateway: 7 }, { ip: '10.1.1.2/24', routes: [{ dst: 'x' }] }]); },
  ];
  const hostilePrev = () => {
    const p: Record<string, unknown> = goodPrev();
    pick(breakPrev)(p);
    return p;
  };
  gens.push(
    () => ({ kind: 'CNI_IFNAME over 15 UTF-8 bytes', env: env(pick(cmds), { CNI_IFNAME: pick(overlong) }), stdin: conf({}), codes: [4] }),
    () => ({ kind: 'CNI_IFNAME with Unicode whitespace or not UTF-8', env: env(pick(cmds), { CNI_IFNAME: pick([...spaced, 'eth\ufffd', '\ufffd']) }), stdin: conf({}), codes: [4] }),
    () => ({ kind: 'bridge over 15 UTF-8 bytes or with Unicode whitespace', env: env(pick(cmds)), stdin: conf({ bridge: pick([...overlong, ...spaced, 'br\ufffd']) }), codes: [7] }),
    () => ({ kind: 'malformed prevResult', env: env(pick(['ADD', 'CHECK'])), stdin: conf({ prevResult: hostilePrev() }), codes: [7] }),
  );
  return Array.from({ length: n }, () => pick(gens)());
}

describe(`fuzzing the plugin with ${COUNT} hostile inputs`, { skip }, () => {
  let lab: Lab;
  let h: LabHost;
  let podNs: string;
  before(async () => {
    lab = await Lab.create({ hosts: 1, netConf: { Network: '10.56.0.0/16', Backend: { Type: 'vxlan' } } });
    h = lab.host(1);
    await lab.startAll();
    podNs = netnsPath(createNetns(`tw-${lab.id}-fz`));
  });
  after(async () => lab?.destroy());

  it('answers every one with a CNI error object of the expected code, exit 1, and leaves nothing behind', async () => {
    const cases = generate(COUNT, 20261123, lab.pluginConf(h), podNs, await lab.api<{ subnet: string; gateway: string }>(h, '/v1/lease'));
    const links = ipIn(h.ns, '-o', 'link', 'show');
    const podLinks = ipIn(podNs.split('/').pop()!, '-o', 'link', 'show');
    const failures: string[] = [];
    const byKind = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
        const r = await runPlugin({ hostNs: h.ns, env: c.env, stdin: c.stdin });
        const lines = r.stdout.trim().split('\n');
        const obj = r.json as { code?: unknown; msg?: unknown } | undefined;
        const problem = c.codes.includes(SUCCESS) ? (r.code !== 0 || r.stdout !== '' ? `exit ${r.code}, expected success` : '')
          : r.code !== 1 ? `exit ${r.code}`
          : lines.length !== 1 || !obj ? 'stdout is not one JSON object'
          : typeof obj.code !== 'number' || typeof obj.msg !== 'string' ? 'no code/msg'
          : !c.codes.includes(obj.code) ? `code ${obj.code}, expected ${c.codes.join('/')}`
          : /\n\s+at /.test(r.stdout) ? 'stack trace on stdout'
          : /\n\s+at /.test(r.stderr) ? `stack trace on stderr: ${r.stderr.slice(0, 200)}` : '';
        if (problem) failures.push(`${c.kind}: ${problem}: ${r.stdout.slice(0, 300)} env=${JSON.stringify(c.env).slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${cases.length} inputs answered wrongly`);
    assert.equal(ipIn(h.ns, '-o', 'link', 'show'), links, 'no interface added or removed on the host');
    assert.equal(ipIn(podNs.split('/').pop()!, '-o', 'link', 'show'), podLinks, 'nothing in the pod namespace');
    assert.deepEqual(await lab.api(h, '/v1/ipam/allocations'), [], 'no address allocated');
    console.log(`# fuzz: ${cases.length} inputs, ${byKind.size} kinds, 0 wrong answers`);
  });
});

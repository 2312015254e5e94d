import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSkel, type CmdArgs, type PluginFuncs, type PluginIo } from '../../plugin/skel.js';
import { CNI_ERR, CniError } from '../../plugin/cni/cni-error.js';
import { DaemonUnavailableError, InvalidConfigError, RemoteError } from '../../shared/errors.js';

interface Ran { code: number; out: string; err: string; called: string[]; args?: CmdArgs }

async function run(env: Record<string, string>, stdin: string | Buffer, funcs: Partial<PluginFuncs> = {}): Promise<Ran> {
  const r: Ran = { code: -1, out: '', err: '', called: [] };
  const f: PluginFuncs = {
    add: async (a) => { r.called.push('add'); r.args = a; return { cniVersion: a.conf.cniVersion }; },
    del: async (a) => { r.called.push('del'); r.args = a; },
    check: async () => { r.called.push('check'); },
    gc: async () => { r.called.push('gc'); },
    status: async () => { r.called.push('status'); },
    ...funcs,
  };
  const io: PluginIo = { env, readStdin: async () => Buffer.from(stdin), stdout: (t) => (r.out += t), stderr: (t) => (r.err += t) };
  r.code = await runSkel(f, io);
  return r;
}

const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const conf = (v: string, extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: v, name: 'net', type: 'twill', ...extra });
const errCode = (r: Ran) => (JSON.parse(r.out) as { code: number }).code;

describe('skel dispatcher', () => {
  it('answers VERSION with every supported version, echoing an explicit input version', async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), { cniVersion: '0.4.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    assert.equal(JSON.parse((await run({ CNI_COMMAND: 'VERSION' }, '')).out).cniVersion, '1.1.0');
  });
  it('dispatches each command and applies config defaults', async () => {
    const r = await run(addEnv, conf('1.0.0'));
    assert.equal(r.code, 0);
    assert.deepEqual(r.called, ['add']);
    assert.deepEqual([r.args!.conf.bridge, r.args!.conf.socket, r.args!.conf.mtu, r.args!.conf.hairpinMode, r.args!.conf.isDefaultGateway], ['cni0', '/run/twill/twilld.sock', 0, true, true]);
    assert.equal((await run({ ...addEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf('1.0.0'))).code, 0, 'DEL without a netns');
  });
  const cases: Array<[string, Record<string, string>, string, number, RegExp]> = [
    ['bad JSON', addEnv, '{nope', CNI_ERR.DECODE, /decoding/],
    ['unknown version', addEnv, conf('0.5.0'), CNI_ERR.INCOMPATIBLE_VERSION, /incompatible CNI versions/],
    ['missing env', { CNI_COMMAND: 'ADD', CNI_PATH: '/x' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /\[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME\] missing/],
    ['unknown command', { CNI_COMMAND: 'FROB' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /unknown CNI_COMMAND/],
    ['CHECK on 0.3.1', { ...addEnv, CNI_COMMAND: 'CHECK' }, conf('0.3.1'), CNI_ERR.INCOMPATIBLE_VERSION, /does not allow CHECK/],
    ['GC on 1.0.0', { CNI_COMMAND: 'GC', CNI_PATH: '/x' }, conf('1.0.0'), CNI_ERR.INCOMPATIBLE_VERSION, /does not allow GC/],
    ['STATUS on 0.4.0', { CNI_COMMAND: 'STATUS', CNI_PATH: '/x' }, conf('0.4.0'), CNI_ERR.INCOMPATIBLE_VERSION, /does not allow STATUS/],
    ['missing name', addEnv, '{"cniVersion":"1.0.0"}', CNI_ERR.INVALID_NETWORK_CONFIG, /name is required/],
    ['mtu of the wrong type', addEnv, conf('1.0.0', { mtu: '1450' }), CNI_ERR.INVALID_NETWORK_CONFIG, /mtu must be of type integer/],
    ['bridge name too long', addEnv, conf('1.0.0', { bridge: 'a-very-long-bridge-name' }), CNI_ERR.INVALID_NETWORK_CONFIG, /bridge must match/],
    ['ifname with a slash', { ...addEnv, CNI_IFNAME: '../x' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /contains \//],
    ['ifname too long', { ...addEnv, CNI_IFNAME: 'abcdefghijklmnop' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /longer than 15/],
    ['bad container id', { ...addEnv, CNI_CONTAINERID: '-bad id' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /invalid characters in containerID/],
    ['relative netns', { ...addEnv, CNI_NETNS: 'netns/x' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /not an absolute path/],
    ['the host netns as CNI_NETNS', { ...addEnv, CNI_NETNS: '/proc/self/ns/net' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /plugin's own network namespace/],
    ['the host netns on DEL', { ...addEnv, CNI_COMMAND: 'DEL', CNI_NETNS: `/proc/${process.pid}/ns/net` }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /own network namespace/],
    ['unknown CNI_ARGS key', { ...addEnv, CNI_ARGS: 'FOO=1' }, conf('1.0.0'), CNI_ERR.UNSUPPORTED_FIELD, /unknown key FOO/],
    ['oversized stdin', addEnv, Buffer.alloc(1024 * 1024 + 10, 0x20).toString(), CNI_ERR.IO_FAILURE, /larger than/],
    // Names are counted in UTF-8 bytes, as the kernel (IFNAMSIZ) and the reference plugins count them.
    ['ifname of 16 bytes in 8 characters', { ...addEnv, CNI_IFNAME: 'é'.repeat(8) }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /longer than 15 bytes/],
    ['ifname that was not UTF-8', { ...addEnv, CNI_IFNAME: 'eth\ufffd' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /not valid UTF-8/],
    ['ifname with a no-break space', { ...addEnv, CNI_IFNAME: 'eth\u00a00' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /whitespace/],
    ['ifname with a next-line character', { ...addEnv, CNI_IFNAME: 'eth\u00850' }, conf('1.0.0'), CNI_ERR.INVALID_ENV, /whitespace/],
    ['bridge name of 17 bytes in 12 characters', addEnv, conf('1.0.0', { bridge: 'bridge-üüüüü' }), CNI_ERR.INVALID_NETWORK_CONFIG, /bridge .*longer than 15 bytes/],
    ['bridge name that was not UTF-8', addEnv, conf('1.0.0', { bridge: 'br\ufffd' }), CNI_ERR.INVALID_NETWORK_CONFIG, /bridge .*not valid UTF-8/],
    // prevResult is checked before anything is done, and the error names the field.
    ['malformed prevResult on ADD', addEnv, conf('1.0.0', { prevResult: { ips: [{ address: 5 }] } }), CNI_ERR.INVALID_NETWORK_CONFIG, /prevResult\.ips\[0\]\.address/],
    ['prevResult address without a prefix on ADD', addEnv, conf('1.0.0', { prevResult: { ips: [{ address: '10.1.1.1' }] } }), CNI_ERR.INVALID_NETWORK_CONFIG, /prevResult\.ips\[0\]\.address/],
    ['malformed prevResult on CHECK', { ...addEnv, CNI_COMMAND: 'CHECK' }, conf('1.0.0', { prevResult: { ips: [1, 2] } }), CNI_ERR.INVALID_NETWORK_CONFIG, /prevResult\.ips\[0\]/],
    ['prevResult interfaces of the wrong type on CHECK', { ...addEnv, CNI_COMMAND: 'CHECK' }, conf('1.1.0', { prevResult: { interfaces: 'x', ips: [] } }), CNI_ERR.INVALID_NETWORK_CONFIG, /prevResult\.interfaces/],
    ['prevResult ip pointing at no interface', { ...addEnv, CNI_COMMAND: 'CHECK' }, conf('1.1.0', { prevResult: { interfaces: [{ name: 'eth0' }], ips: [{ address: '10.1.1.2/24', interface: 3 }] } }), CNI_ERR.INVALID_NETWORK_CONFIG, /prevResult\.ips\[0\]\.interface/],
    ['prevResult of an unknown version', { ...addEnv, CNI_COMMAND: 'CHECK' }, conf('1.1.0', { prevResult: { cniVersion: '9.0.0', ips: [] } }), CNI_ERR.INVALID_NETWORK_CONFIG, /prevResult\.cniVersion/],
  ];
  for (const [name, env, stdin, code, msg] of cases) {
    it(`answers ${name} with code ${code} on stdout and exit 1`, async () => {
      const r = await run(env, stdin);
      assert.equal(r.code, 1);
      assert.equal(errCode(r), code);
      assert.match((JSON.parse(r.out) as { msg: string; details?: string }).msg + ' ' + ((JSON.parse(r.out) as { details?: string }).details ?? ''), msg);
      assert.deepEqual(r.called, []);
      assert.doesNotMatch(r.out, /\n\s+at /, 'no stack trace on stdout');
      assert.equal(r.err, '', 'nothing on stderr for an input error');
    });
  }
  it('accepts names of at most 15 UTF-8 bytes and a well-formed prevResult of any version, IPv6 entries included', async () => {
    for (const name of ['é'.repeat(7) + 'a', 'eth-é']) {
      const r = await run({ ...addEnv, CNI_IFNAME: name }, conf('1.0.0', { bridge: 'brü-' + 'x'.repeat(10) }));
      assert.equal(r.code, 0, r.out);
      assert.equal(r.args!.ifName, name);
    }
    const prevs = [
      { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1450, sandbox: '/run/netns/x', socketPath: '/s' }],
        ips: [{ address: '10.5.1.2/24', gateway: '10.5.1.1', interface: 0 }, { address: 'fd00::2/64', gateway: 'fd00::1', interface: 0 }],
        routes: [{ dst: '0.0.0.0/0', gw: '10.5.1.1' }, { dst: '::/0', mtu: 1400, priority: 10, table: 5, scope: 0 }], dns: { nameservers: ['10.5.0.10'], domain: 'x', search: ['a'], options: ['ndots:5'] } },
      { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.5.1.2/24' }], dns: {} },
      { cniVersion: '0.2.0', ip4: { ip: '10.5.1.2/24', gateway: '10.5.1.1', routes: [{ dst: '0.0.0.0/0' }] }, ip6: { ip: 'fd00::2/64' }, dns: {} },
      { ips: [{ address: '10.5.1.2/24' }] },
    ];
    for (const prevResult of prevs) {
      for (const command of ['ADD', 'CHECK']) {
        const r = await run({ ...addEnv, CNI_COMMAND: command }, conf('1.1.0', { prevResult }));
        assert.equal(r.code, 0, `${command} ${JSON.stringify(prevResult)}: ${r.out}`);
      }
    }
  });
  it('does not check prevResult on DEL, which must clean up whatever the runtime sends', async () => {
    const r = await run({ ...addEnv, CNI_COMMAND: 'DEL' }, conf('1.1.0', { prevResult: { ips: 'junk' } }));
    assert.deepEqual([r.code, r.called], [0, ['del']]);
  });
  it('accepts K8S_POD_* and IgnoreUnknown in CNI_ARGS', async () => {
    assert.equal((await run({ ...addEnv, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=a;FOO=2' }, conf('1.0.0'))).code, 0);
    assert.equal((await run({ ...addEnv, CNI_ARGS: 'K8S_POD_NAMESPACE=a;K8S_POD_NAME=b' }, conf('1.0.0'))).code, 0);
  });
  it('maps error classes to codes in one place: retryable → 11, config → 7, CniError as is, others → 199', async () => {
    const throwing = (e: unknown) => ({ add: async () => { throw e; } });
    assert.equal(errCode(await run(addEnv, conf('1.0.0'), throwing(new DaemonUnavailableError('down')))), 11);
    assert.equal(errCode(await run(addEnv, conf('1.0.0'), throwing(new InvalidConfigError('bad', 'x')))), 7);
    assert.equal(errCode(await run(addEnv, conf('1.0.0'), throwing(new CniError(3, 'gone')))), 3);
    // The daemon's IPAM refusals, as they arrive over the socket: the caller's requested address, a full host.
    assert.equal(errCode(await run(addEnv, conf('1.0.0'), throwing(new RemoteError('ERR_IPAM_UNAVAILABLE', 'taken', false)))), CNI_ERR.ADDRESS_UNAVAILABLE);
    assert.equal(errCode(await run(addEnv, conf('1.0.0'), throwing(new RemoteError('ERR_IPAM_EXHAUSTED', 'full', false)))), CNI_ERR.ADDRESS_EXHAUSTED);
    const r = await run(addEnv, conf('1.0.0'), throwing(new TypeError('boom')));
    assert.equal(errCode(r), 199);
    assert.match(r.err, /TypeError: boom/, 'the stack goes to stderr');
  });
  it('puts the config version in error objects', async () => {
    const r = await run({ ...addEnv, CNI_IFNAME: 'a/b' }, conf('0.3.1'));
    assert.equal((JSON.parse(r.out) as { cniVersion: string }).cniVersion, '0.3.1');
  });
});

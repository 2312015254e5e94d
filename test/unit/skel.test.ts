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
  ];
  for (const [name, env, stdin, code, msg] of cases) {
    it(`answers ${name} with code ${code} on stdout and exit 1`, async () => {
      const r = await run(env, stdin);
      assert.equal(r.code, 1);
      assert.equal(errCode(r), code);
      assert.match((JSON.parse(r.out) as { msg: string; details?: string }).msg + ' ' + ((JSON.parse(r.out) as { details?: string }).details ?? ''), msg);
      assert.deepEqual(r.called, []);
      assert.doesNotMatch(r.out, /\n\s+at /, 'no stack trace on stdout');
    });
  }
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

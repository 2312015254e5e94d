/**
 * twilld as a drop-in for flanneld's command line, environment and net-conf (issue #17 points 1, 2):
 * beside a real flanneld on one etcd, twilld is started as a flanneld unit file would start it
 * (Go's single-dash flags, a scheme-less etcd endpoint, FLANNELD_* variables including
 * FLANNELD_IFACE_REGEX with its `{1,3}`, klog's -v and flags twill ignores), on a net-conf written
 * with lower-case keys and a vxlan Backend.MTU. Both hosts must give flannel.1 and FLANNEL_MTU the
 * same MTU (flannel: Backend.MTU − 50) and reach each other through it, up to that size.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ipIn, sh } from '../helpers/netns.js';
import { DAEMON_BIN } from '../helpers/paths.js';
import { ETCD, FLANNELD, NETNS, skipUnless } from '../helpers/require.js';
import { Lab, type LabHost } from '../lab/lab.js';

const skip = skipUnless(NETNS, ETCD, FLANNELD);

/** The underlay MTU given in the net-conf; flannel gives the device and FLANNEL_MTU 50 less. */
const BACKEND_MTU = 1400;

/** Starts twilld in host h as a flanneld unit file would: Go flag forms and FLANNELD_* variables only. */
async function startLikeFlanneld(lab: Lab, h: LabHost): Promise<void> {
  const endpoint = lab.etcdEndpoint.replace(/^http:\/\//, ''); // scheme-less, as etcd's Go client takes it
  const args = ['netns', 'exec', h.ns, DAEMON_BIN, `-etcd-endpoints=${endpoint}`, `-subnet-file=${h.subnetFile}`, '-ip-masq=false', '-v=2',
    '-iptables-resync=5', `-socket=${h.socket}`, `-data-dir=${h.dataDir}`];
  const env = {
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    FLANNELD_IFACE_REGEX: '^eth[0-9]{1,3}$',
    FLANNELD_ETCD_PREFIX: '/coreos.com/network',
    FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '',
    FLANNELD_IP_MASQ: 'true', // the command line's -ip-masq=false wins
    FLANNELD_HEALTHZ_PORT: '0',
  };
  appendFileSync(h.log, `--- start ${new Date().toISOString()} ${args.slice(3).join(' ')} ${JSON.stringify(env)}\n`);
  const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  child.stderr!.on('data', (b: Buffer) => appendFileSync(h.log, b));
  h.daemon = child;
  h.runs = 'twilld';
  await lab.waitReady(h);
}

/** The MTU of flannel.1 in a host. */
function vxlanMtu(h: LabHost): number {
  return Number(/ mtu (\d+) /.exec(ipIn(h.ns, 'link', 'show', 'flannel.1'))?.[1]);
}

describe('twilld started with a flanneld command line and environment, beside flanneld', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ hosts: 2, netConf: { network: '10.64.0.0/16', backend: { type: 'vxlan', mtu: BACKEND_MTU } } });
    await lab.startFlanneld(lab.host(1));
    await startLikeFlanneld(lab, lab.host(2));
  });
  after(async () => lab?.destroy());

  it('reads the flags and variables as flanneld does', () => {
    const log = lab.logTail(lab.host(2), 200);
    assert.match(log, /"iface":"eth0"/, 'FLANNELD_IFACE_REGEX chose eth0');
    assert.match(log, /"level":"debug"/, '-v=2 turned on debug logging');
    assert.match(log, /--iptables-resync=5 is accepted for flanneld compatibility but ignored/);
    assert.equal(lab.subnetEnv(lab.host(2))['FLANNEL_IPMASQ'], 'false', 'the command line wins over FLANNELD_IP_MASQ');
  });

  it('gives flannel.1 and FLANNEL_MTU the same MTU as flanneld: Backend.MTU − 50', () => {
    for (const h of lab.hosts) {
      assert.equal(vxlanMtu(h), BACKEND_MTU - 50, `flannel.1 on ${h.runs} h${h.n}`);
      assert.equal(lab.subnetEnv(h)['FLANNEL_MTU'], String(BACKEND_MTU - 50), `FLANNEL_MTU on ${h.runs} h${h.n}`);
    }
  });

  it('carries packets of that MTU both ways between the two VTEPs', async () => {
    const [f, t] = [lab.host(1), lab.host(2)];
    const vtep = (h: LabHost): string => lab.subnetEnv(h)['FLANNEL_SUBNET']!.replace(/\.1\/\d+$/, '.0');
    const size = String(BACKEND_MTU - 50 - 28);
    for (const [a, b] of [[f, t], [t, f]] as const) {
      assert.ok(await lab.pingEventually(a.ns, vtep(b), 10_000), `${a.runs} h${a.n} reaches ${b.runs} h${b.n}'s VTEP`);
      assert.doesNotThrow(() => sh('ip', ['netns', 'exec', a.ns, 'ping', '-n', '-q', '-c1', '-W2', '-M', 'do', '-s', size, vtep(b)]), `a ${size}-byte DF ping from ${a.runs} h${a.n}`);
    }
  });
});

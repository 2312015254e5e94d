/**
 * The external interface chosen from the kernel's state, as flanneld chooses it: --iface-can-reach
 * takes the device and source address of the route to that address (`ip route get`). Run in a
 * child process inside a test network namespace with two interfaces and a default route on the
 * first.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createNetns, deleteNetns, ipIn, uniqueId } from '../helpers/netns.js';
import { DIST } from '../helpers/paths.js';
import { NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS);

/** findExternalInterface(sel) run in namespace `ns`: the chosen interface, or the error's message. */
function findIn(ns: string, sel: Record<string, unknown>): Record<string, unknown> {
  const script = `
    const { findExternalInterface } = await import(${JSON.stringify(join(DIST, 'daemon', 'external-interface.js'))});
    try { process.stdout.write(JSON.stringify(await findExternalInterface(${JSON.stringify(sel)}))); }
    catch (e) { process.stdout.write(JSON.stringify({ error: e.message, field: e.field })); }
    process.exit(0);`;
  return JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, unknown>;
}

describe('external interface from the kernel (flanneld\'s rules)', { skip }, () => {
  let ns: string;
  before(() => {
    ns = createNetns(`tw-${uniqueId()}-ei`);
    for (const [dev, peer] of [['twa0', 'twa1'], ['twb0', 'twb1']]) ipIn(ns, 'link', 'add', dev!, 'type', 'veth', 'peer', 'name', peer!);
    ipIn(ns, 'addr', 'add', '192.168.50.2/24', 'dev', 'twa0');
    ipIn(ns, 'addr', 'add', '10.50.0.2/16', 'dev', 'twb0');
    ipIn(ns, 'addr', 'add', '10.50.0.3/16', 'dev', 'twb0');
    for (const d of ['twa0', 'twa1', 'twb0', 'twb1']) ipIn(ns, 'link', 'set', d, 'up');
    ipIn(ns, 'route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'twa0');
    ipIn(ns, 'route', 'add', '172.20.0.0/16', 'via', '10.50.0.1', 'dev', 'twb0', 'src', '10.50.0.3');
  });
  after(() => deleteNetns(ns));

  it('takes the device and source address of the route to --iface-can-reach', () => {
    assert.deepEqual(findIn(ns, { iface: [], ifaceRegex: [], ifaceCanReach: '172.20.9.9' }),
      { name: 'twb0', ifaceIp: '10.50.0.3', ifacePrefix: 16, publicIp: '10.50.0.3', mtu: 1500 });
    assert.equal(findIn(ns, { iface: [], ifaceRegex: [], ifaceCanReach: '8.8.8.8' })['name'], 'twa0', 'the default route');
  });
  it('falls through --iface and --iface-regex to --iface-can-reach, and defaults to the default route', () => {
    assert.equal(findIn(ns, { iface: ['nope0'], ifaceRegex: ['^wlan'], ifaceCanReach: '172.20.1.1' })['name'], 'twb0');
    assert.equal(findIn(ns, { iface: [], ifaceRegex: [] })['name'], 'twa0');
  });
});

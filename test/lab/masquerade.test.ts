/**
 * Masquerade rules in both modes: installed once however often the daemon starts (idempotent),
 * effective (the outside sees the host's address), and removed on a clean stop when asked.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sh } from '../helpers/netns.js';
import { observedSource } from '../helpers/udp-probe.js';
import { Lab, UNDERLAY_GW } from './lab.js';
import { ETCD, NETNS, skipUnless } from '../helpers/require.js';

const skip = skipUnless(NETNS, ETCD);

for (const mode of ['nftables', 'iptables'] as const) {
  describe(`--ip-masq with --masq-mode ${mode}`, { skip }, () => {
    let lab: Lab;
    after(async () => lab?.destroy());
    const rules = (ns: string): string => mode === 'nftables'
      ? sh('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'])
      : sh('ip', ['netns', 'exec', ns, 'iptables-save']);

    it('masquerades, stays idempotent across restarts, and removes its rules with --cleanup-on-exit', async () => {
      lab = await Lab.create({ hosts: 2, netConf: { Network: '10.46.0.0/16', Backend: { Type: 'host-gw' } }, daemonArgs: ['--ip-masq', '--masq-mode', mode] });
      await lab.startAll();
      const h1 = lab.host(1);
      const pod = await lab.addPod(h1);
      const other = await lab.addPod(lab.host(2));
      assert.equal(await observedSource(pod.ns, lab.underlay, UNDERLAY_GW), h1.ip, 'outside sees the host address');
      assert.equal(await observedSource(pod.ns, other.ns, other.ip), pod.ip, 'pods see pod addresses');
      const before = rules(h1.ns);
      await lab.stopDaemon(h1);
      await lab.startDaemon(h1);
      assert.equal(rules(h1.ns).split('\n').filter((l) => /masquerade|MASQUERADE/.test(l)).length, before.split('\n').filter((l) => /masquerade|MASQUERADE/.test(l)).length, 'no duplicate rules after a restart');
      if (mode === 'nftables') assert.match(before, /table ip twill/);
      else assert.match(before, /-A TWILL-POSTRTG -s 10\.46\.0\.0\/16 -d 10\.46\.0\.0\/16 -j RETURN/);
      await lab.stopDaemon(h1);
      assert.match(rules(h1.ns), mode === 'nftables' ? /table ip twill/ : /TWILL-POSTRTG/, 'a plain stop keeps the rules (pods keep working)');
      await lab.startDaemon(h1, ['--cleanup-on-exit']);
      await lab.stopDaemon(h1);
      assert.doesNotMatch(rules(h1.ns), mode === 'nftables' ? /table ip twill/ : /TWILL/, 'rules removed on a clean stop when asked');
      assert.doesNotMatch(sh('ip', ['-n', h1.ns, 'route', 'show', 'proto', '116']), /via/, 'routes removed too');
    });
  });
}

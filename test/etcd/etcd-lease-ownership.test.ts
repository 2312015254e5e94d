/**
 * EtcdSubnetRegistry's conditional writes on our own and stale leases, and its watch of the
 * network config, against a real etcd on loopback (GitHub issue #20, items 3, 4 and 11).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtcdSubnetRegistry } from '../../daemon/subnet/etcd-registry.js';
import { LeaseLostError } from '../../shared/errors.js';
import { parseCidr } from '../../shared/ip/cidr.js';
import { etcdSuite } from '../helpers/etcd-suite.js';
import { uniqueId } from '../helpers/netns.js';
import { ETCD, skipUnless } from '../helpers/require.js';
import { until } from '../helpers/wait.js';

const skip = skipUnless(ETCD);
const attrs = (ip: string) => ({ PublicIP: ip, BackendType: 'host-gw', BackendData: null });

describe('EtcdSubnetRegistry: lease ownership and the config watch', { skip }, () => {
  const suite = etcdSuite();
  const registry = (prefix: string): EtcdSubnetRegistry => suite.registry(prefix);

  it('takes an overwritten lease back only while the key holds the value seen, under a fresh TTL, revoking our old etcd lease', async () => {
    const prefix = `/tw-${uniqueId()}/network`;
    const r = registry(prefix);
    const subnet = parseCidr('10.5.1.0/24');
    const key = `${prefix}/subnets/10.5.1.0-24`;
    const ours = await r.createLease(subnet, attrs('192.168.7.1'), 60);
    suite.etcd.ctl('put', key, JSON.stringify(attrs('192.168.7.66'))); // no etcd lease
    const seen = (await r.listLeases()).leases[0]!;
    assert.equal(seen.attrs.PublicIP, '192.168.7.66');
    const back = await r.takeBackLease(subnet, ours.attrs, 60, seen.leaseId, ours.leaseId);
    assert.equal((await r.listLeases()).leases[0]!.attrs.PublicIP, '192.168.7.1');
    const ttl = await r.timeToLive(back.leaseId);
    assert.ok(ttl > 50 && ttl <= 60, `a fresh TTL: ${ttl}`);
    assert.equal(await r.timeToLive(ours.leaseId), -1, 'the old etcd lease is revoked');
    // A key re-created since the overwrite was seen (deleted, then created by another host under its
    // own etcd lease) is never clobbered.
    await r.deleteLease(subnet);
    await r.createLease(subnet, attrs('192.168.7.77'), 60);
    await assert.rejects(r.takeBackLease(subnet, ours.attrs, 60, seen.leaseId, back.leaseId), LeaseLostError);
    assert.equal((await r.listLeases()).leases[0]!.attrs.PublicIP, '192.168.7.77');
    assert.ok(await r.timeToLive(back.leaseId) > 0, 'our etcd lease is left alone when nothing was taken back');
  });

  it('deletes a stale lease only while it is attached to the etcd lease it was listed with', async () => {
    const r = registry(`/tw-${uniqueId()}/network`);
    const subnet = parseCidr('10.5.3.0/24');
    const stale = await r.createLease(subnet, attrs('192.168.7.1'), 60);
    const renewed = await r.updateLease(subnet, stale.attrs, 60, stale.leaseId);
    assert.equal(await r.deleteLeaseIf(subnet, stale.leaseId), false, 'renewed since it was listed: left alone');
    assert.equal((await r.listLeases()).leases.length, 1);
    assert.equal(await r.deleteLeaseIf(subnet, renewed.leaseId), true);
    assert.equal((await r.listLeases()).leases.length, 0);
    assert.equal(await r.deleteLeaseIf(subnet, renewed.leaseId), false, 'gone already');
  });

  it('watches the network config: its text now, then each change and a deletion', async () => {
    const prefix = `/tw-${uniqueId()}/network`;
    const r = registry(prefix);
    await r.putNetworkConfig('{"Network":"10.5.0.0/16"}');
    const ac = new AbortController();
    const texts: Array<string | null> = [];
    const loop = (async () => {
      for await (const t of r.watchNetworkConfig(ac.signal)) texts.push(t);
    })();
    await until('the text now', () => texts.length === 1, 5000, 20);
    suite.etcd.ctl('put', `${prefix}/config`, '{"Network":"10.6.0.0/16"}');
    suite.etcd.ctl('del', `${prefix}/config`);
    await until('the change and the deletion', () => texts.length === 3, 5000, 20);
    assert.deepEqual(texts, ['{"Network":"10.5.0.0/16"}', '{"Network":"10.6.0.0/16"}', null]);
    ac.abort();
    await loop;
  });
});

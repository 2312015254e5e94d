/**
 * etcd with authentication on: a refusal (wrong password, no permission) is an EtcdRefusedError,
 * not retryable, and the subnet manager gives up on it instead of waiting for ever; an etcd that
 * cannot be reached stays EtcdUnavailableError (retryable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EtcdSubnetRegistry } from '../../daemon/subnet/etcd-registry.js';
import { LocalSubnetManager } from '../../daemon/subnet/subnet-manager.js';
import { EtcdRefusedError, EtcdUnavailableError } from '../../shared/errors.js';
import { EtcdServer, freePort } from '../helpers/etcd.js';
import { testLogger } from '../helpers/log.js';
import { uniqueId } from '../helpers/netns.js';
import { ETCD, skipUnless } from '../helpers/require.js';

const skip = skipUnless(ETCD);

describe('etcd refusing or unreachable', { skip }, () => {
  let etcd: EtcdServer;
  const prefix = `/tw-${uniqueId()}/network`;
  const registries: EtcdSubnetRegistry[] = [];
  const registry = (endpoint: string, auth: { username: string; password: string } | null): EtcdSubnetRegistry => {
    const r = new EtcdSubnetRegistry({ endpoints: [endpoint], prefix, callTimeoutMs: 1500, ...auth });
    registries.push(r);
    return r;
  };
  before(async () => {
    etcd = await EtcdServer.start();
    etcd.ctl('put', `${prefix}/config`, '{"Network":"10.9.0.0/16"}');
    etcd.ctl('user', 'add', 'root:rootpw');
    etcd.ctl('user', 'add', 'nobody:nobodypw'); // no role: may read nothing
    etcd.ctl('auth', 'enable');
    etcd.ctlArgs = ['--user', 'root:rootpw'];
  });
  after(async () => {
    for (const r of registries) await r.close();
    await etcd?.stop();
  });

  const refused = (e: unknown): boolean => {
    assert.ok(e instanceof EtcdRefusedError, String(e));
    assert.equal(e.retryable, false);
    assert.match(e.message, /^etcd refused reading the network config: /);
    return true;
  };

  it('works with the right user', async () => {
    assert.equal(await registry(etcd.endpoint, { username: 'root', password: 'rootpw' }).getNetworkConfig(), '{"Network":"10.9.0.0/16"}');
  });

  it('a wrong password and a missing permission are refusals, not "unavailable"', async () => {
    await assert.rejects(registry(etcd.endpoint, { username: 'root', password: 'wrong' }).getNetworkConfig(), refused);
    await assert.rejects(registry(etcd.endpoint, { username: 'nobody', password: 'nobodypw' }).getNetworkConfig(), refused);
  });

  it('the subnet manager stops waiting for the config when etcd refuses to give it', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const m = new LocalSubnetManager(registry(etcd.endpoint, { username: 'nobody', password: 'nobodypw' }), testLogger(lines), { configPollMs: 20 });
    await assert.rejects(m.getNetworkConfig(AbortSignal.timeout(20_000)), refused);
    assert.equal(lines.filter((l) => l['msg'] === 'waiting for a valid network config').length, 0);
  });

  it('nothing listening is EtcdUnavailableError (retryable)', async () => {
    const r = registry(`http://127.0.0.1:${await freePort()}`, null);
    for (let i = 0; i < 3; i++) { // the first call fails to connect, later ones meet the open circuit breaker
      await assert.rejects(r.getNetworkConfig(), (e: unknown) => e instanceof EtcdUnavailableError && e.retryable);
    }
  });
});

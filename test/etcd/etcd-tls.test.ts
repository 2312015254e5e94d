/**
 * etcd over TLS on loopback (own CA, client certificates required): the registry works with the
 * right files, and with the wrong CA says why it cannot reach etcd, which the etcd client alone
 * reports only as "No connection established. Last error: null".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdSubnetRegistry } from '../../daemon/subnet/etcd-registry.js';
import { tlsProblem } from '../../daemon/subnet/etcd-tls-check.js';
import { EtcdUnavailableError } from '../../shared/errors.js';
import { EtcdServer, freePort } from '../helpers/etcd.js';
import { uniqueId } from '../helpers/netns.js';
import { makePki, type TestPki } from '../helpers/tls.js';
import { ETCD, skipUnless } from '../helpers/require.js';

const skip = skipUnless(ETCD);

describe('etcd over TLS', { skip }, () => {
  let etcd: EtcdServer;
  let dir: string;
  let pki: TestPki;
  let other: TestPki;
  const registries: EtcdSubnetRegistry[] = [];
  const registry = (p: TestPki): EtcdSubnetRegistry => {
    const r = new EtcdSubnetRegistry({ endpoints: [etcd.endpoint], prefix: `/tw-${uniqueId()}/network`, callTimeoutMs: 1500,
      caFile: p.ca, certFile: p.clientCert, keyFile: p.clientKey });
    registries.push(r);
    return r;
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-etcd-tls-'));
    pki = makePki(dir, '127.0.0.1');
    other = makePki(dir, '127.0.0.1', 'other-ca');
    etcd = await EtcdServer.start({ scheme: 'https', noWait: true,
      extraArgs: ['--cert-file', pki.serverCert, '--key-file', pki.serverKey, '--client-cert-auth', '--trusted-ca-file', pki.ca] });
    etcd.ctlArgs = ['--cacert', pki.ca, '--cert', pki.clientCert, '--key', pki.clientKey];
    await etcd.waitHealthy();
  });
  after(async () => {
    for (const r of registries) await r.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works with the right CA and client certificate', async () => {
    const r = registry(pki);
    await r.putNetworkConfig('{"Network":"10.9.0.0/16"}');
    assert.equal(await r.getNetworkConfig(), '{"Network":"10.9.0.0/16"}');
  });

  it('with a CA that did not sign the server\'s certificate, says so and names the flags', async () => {
    await assert.rejects(registry(other).getNetworkConfig(), (e: unknown) => {
      assert.ok(e instanceof EtcdUnavailableError);
      assert.match(e.message, /the TLS handshake with 127\.0\.0\.1:\d+ failed: .*(certificate|self.signed)/i);
      assert.match(e.message, /check --etcd-cafile, --etcd-certfile and --etcd-keyfile/);
      return true;
    });
  });

  it('finds no TLS problem where there is none: the right files, plain http, nothing listening', async () => {
    const files = { ca: readFileSync(pki.ca), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) };
    assert.equal(await tlsProblem(etcd.endpoint, files), null);
    assert.equal(await tlsProblem(etcd.endpoint.replace('https:', 'http:'), files), null);
    assert.equal(await tlsProblem(`https://127.0.0.1:${await freePort()}`, files), null, 'unreachable is not a TLS problem');
  });
});

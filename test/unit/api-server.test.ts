/**
 * The daemon's socket API (daemon/api/): the route table and its handlers over a real Unix socket,
 * with a fake lease, an in-memory allocation store and a fake link deleter.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiServer } from '../../daemon/api/api-server.js';
import { type ApiDeps, apiHandlers } from '../../daemon/api/handlers.js';
import { AddressAllocator } from '../../daemon/ipam/address-allocator.js';
import type { AllocationStore } from '../../daemon/ipam/allocation-store.js';
import type { LinkDeleter } from '../../daemon/link-deleter.js';
import { parseCidr } from '../../shared/ip/cidr.js';
import { API_ERR, IPAM_ERR, MAX_CONTAINER_ID_LENGTH, MAX_REQUEST_BYTES } from '../../shared/protocol/api.js';
import { testLogger } from '../helpers/log.js';

const subnet = parseCidr('10.5.7.0/24');
const memoryStore = (): AllocationStore => ({ load: () => ({ last: null, allocations: new Map() }), save: () => undefined });

function deps(links: Pick<LinkDeleter, 'delete'> = { delete: () => ({ deleting: false }) }): ApiDeps {
  return {
    network: parseCidr('10.5.0.0/16'), backendType: 'vxlan', mtu: 1450, ipMasq: false,
    lease: { current: { subnet, attrs: { PublicIP: '192.168.9.1', BackendType: 'vxlan', BackendData: null }, leaseId: '1', expiresAt: 0 }, held: true },
    ipam: new AddressAllocator(subnet, memoryStore()), pending: { takeFor: () => undefined }, links, log: testLogger(),
  };
}

interface Answer { status: number; body: Record<string, unknown> }

/** One request over the socket; `chunks` are sent with chunked transfer encoding (no Content-Length). */
function call(socketPath: string, method: string, path: string, chunks?: string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: chunks ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    for (const c of chunks ?? []) req.write(c);
    req.end();
  });
}

describe('socket API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-api-'));
  const sock = join(dir, 'api.sock');
  const d = deps();
  const server = new ApiServer(sock, apiHandlers(d), testLogger());
  before(() => server.listen());
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers each route from its handler, in the protocol\'s shapes', async () => {
    assert.deepEqual(await call(sock, 'GET', '/v1/lease'), { status: 200, body: {
      network: '10.5.0.0/16', subnet: '10.5.7.0/24', gateway: '10.5.7.1', mtu: 1450, backendType: 'vxlan', publicIp: '192.168.9.1', ipMasq: false,
    } });
    const alloc = await call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID: 'c1', ifName: 'eth0' })]);
    assert.equal(alloc.status, 200);
    assert.equal(alloc.body['address'], '10.5.7.2/24');
    assert.equal(alloc.body['gateway'], '10.5.7.1');
    assert.deepEqual(await call(sock, 'GET', '/v1/ipam/allocations'), { status: 200, body: [{ containerID: 'c1', ifName: 'eth0', address: '10.5.7.2' }] as unknown as Record<string, unknown> });
    assert.deepEqual(await call(sock, 'GET', '/v1/healthz'), { status: 200, body: { ok: true, free: 252, total: 253 } });
    assert.deepEqual(await call(sock, 'POST', '/v1/ipam/gc', [JSON.stringify({ valid: [] })]), { status: 200, body: { released: [{ containerID: 'c1', ifName: 'eth0', address: '10.5.7.2' }], held: [] } });
    assert.deepEqual(await call(sock, 'POST', '/v1/ipam/release', [JSON.stringify({ containerID: 'c1', ifName: 'eth0' })]), { status: 200, body: { released: false } });
  });

  it('refuses with the API\'s own codes: unknown route 404, invalid body 400, not JSON 400', async () => {
    const none = await call(sock, 'GET', '/v1/nothing');
    assert.equal(none.status, 404);
    assert.equal((none.body['error'] as { code: string }).code, API_ERR.NOT_FOUND);
    const invalid = await call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID: '', ifName: 'eth0' })]);
    assert.equal(invalid.status, 400);
    assert.equal((invalid.body['error'] as { code: string }).code, API_ERR.INVALID);
    const garbled = await call(sock, 'POST', '/v1/ipam/release', ['{"containerID":']);
    assert.equal(garbled.status, 400);
    assert.equal((garbled.body['error'] as { code: string }).code, API_ERR.DECODE);
  });

  it('answers 409 with the allocator\'s code for a requested address it refuses', async () => {
    const held = await call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID: 'c3', ifName: 'eth0', ip: '10.5.7.9' })]);
    assert.equal(held.status, 200);
    const r = await call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID: 'c2', ifName: 'eth0', ip: '10.5.7.9' })]);
    assert.equal(r.status, 409);
    const e = r.body['error'] as { code: string; message: string; retryable: boolean };
    assert.equal(e.code, IPAM_ERR.UNAVAILABLE);
    assert.equal(e.retryable, false);
    assert.match(e.message, /already allocated to c3\/eth0/);
    assert.equal((await call(sock, 'POST', '/v1/ipam/release', [JSON.stringify({ containerID: 'c3', ifName: 'eth0' })])).status, 200);
  });

  it('answers 400 with ERR_IPAM_ADDRESS_INVALID for a requested address that can never be this host\'s', async () => {
    for (const ip of ['10.5.9.9', '1.2.3.4', '0.0.0.0', '10.5.7.0', '10.5.7.1', '10.5.7.255', '10.5.7.300']) {
      const r = await call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID: 'c2', ifName: 'eth0', ip })]);
      assert.equal(r.status, 400, ip);
      const e = r.body['error'] as { code: string; message: string; retryable: boolean };
      assert.equal(e.code, IPAM_ERR.ADDRESS_INVALID, ip);
      assert.equal(e.retryable, false);
    }
    assert.deepEqual((await call(sock, 'GET', '/v1/ipam/allocations')).body, [], 'nothing allocated');
  });

  it('takes a container ID of up to MAX_CONTAINER_ID_LENGTH characters, not one more', async () => {
    const id = 'c'.repeat(MAX_CONTAINER_ID_LENGTH);
    assert.equal((await call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID: id, ifName: 'eth0' })])).status, 200);
    assert.equal((await call(sock, 'POST', '/v1/ipam/release', [JSON.stringify({ containerID: id, ifName: 'eth0' })])).status, 200);
    const over = await call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID: `${id}c`, ifName: 'eth0' })]);
    assert.equal(over.status, 400);
    assert.equal((over.body['error'] as { code: string }).code, API_ERR.INVALID);
  });

  it('scopes GC to the network named, and answers what every network still holds', async () => {
    const add = (containerID: string, network?: string) => call(sock, 'POST', '/v1/ipam/allocate', [JSON.stringify({ containerID, ifName: 'eth0', ...(network ? { network } : {}) })]);
    await add('a1', 'netA');
    await add('b1', 'netB');
    await add('b2', 'netB');
    const r = await call(sock, 'POST', '/v1/ipam/gc', [JSON.stringify({ network: 'netB', valid: [{ containerID: 'b1', ifName: 'eth0' }] })]);
    assert.equal(r.status, 200);
    assert.deepEqual((r.body['released'] as Array<{ containerID: string; network: string }>).map((x) => [x.containerID, x.network]), [['b2', 'netB']]);
    assert.deepEqual(r.body['held'], [{ containerID: 'a1', ifName: 'eth0' }, { containerID: 'b1', ifName: 'eth0' }]);
    const conflict = await add('b1', 'netA');
    assert.equal(conflict.status, 409);
    assert.equal((conflict.body['error'] as { code: string }).code, IPAM_ERR.ATTACHMENT_CONFLICT);
    await call(sock, 'POST', '/v1/ipam/gc', [JSON.stringify({ network: 'netA', valid: [] })]);
    await call(sock, 'POST', '/v1/ipam/gc', [JSON.stringify({ network: 'netB', valid: [] })]);
    assert.deepEqual((await call(sock, 'GET', '/v1/ipam/allocations')).body, []);
  });

  it('answers a body over 64 KiB with 413, also when it comes chunked (no Content-Length)', async () => {
    const big = JSON.stringify({ containerID: 'x'.repeat(MAX_REQUEST_BYTES), ifName: 'eth0' });
    const chunks = Array.from({ length: Math.ceil(big.length / 8192) }, (_, i) => big.slice(i * 8192, (i + 1) * 8192));
    const r = await call(sock, 'POST', '/v1/ipam/allocate', chunks);
    assert.equal(r.status, 413);
    assert.equal((r.body['error'] as { code: string }).code, API_ERR.TOO_LARGE);
    assert.equal((await call(sock, 'GET', '/v1/lease')).status, 200, 'the server still answers');
  });
});

describe('socket API start-up', () => {
  it('restores the process umask when it cannot listen', async () => {
    // procfs refuses to hold a socket file, even for root: listen() fails with EACCES.
    const path = `/proc/self/twill-api-${process.pid}.sock`;
    const before = process.umask(0o022);
    await assert.rejects(new ApiServer(path, apiHandlers(deps()), testLogger()).listen(), /EACCES/);
    assert.equal(process.umask(before).toString(8), '22', 'the umask is what it was');
  });
});

describe('POST /v1/attachments/delete', () => {
  it('releases the address even when deleting the veth fails, and leaves the veth to the caller', () => {
    const d = deps({ delete: () => { throw new Error('netlink read failed'); } });
    const h = apiHandlers(d);
    h['POST /v1/ipam/allocate']({ containerID: 'c1', ifName: 'eth0' });
    const r = h['POST /v1/attachments/delete']({ containerID: 'c1', ifName: 'eth0', netns: '1:2' });
    assert.deepEqual(r, { released: true, deleting: false });
    assert.deepEqual(d.ipam.list(), []);
  });
});

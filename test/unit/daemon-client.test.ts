/** The plugin's HTTP/1.1 client: response parsing, and blocking calls to a node:http server on a Unix socket. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DaemonClient, parseHttpResponse } from '../../plugin/daemon-client.js';
import { DaemonUnavailableError, RemoteError } from '../../shared/errors.js';

describe('daemon client', () => {
  it('parses a response framed by Content-Length, or chunked', () => {
    const cl = parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":1}....'));
    assert.deepEqual(cl && { status: cl.status, body: cl.body.toString() }, { status: 200, body: '{"a":1}....' });
    const ch = parseHttpResponse(Buffer.from('HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'));
    assert.deepEqual(ch && { status: ch.status, body: ch.body.toString() }, { status: 409, body: '{"a":1}' });
  });

  it('refuses what is not a whole HTTP response', () => {
    assert.equal(parseHttpResponse(Buffer.from('')), null);
    assert.equal(parseHttpResponse(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), null);
    assert.equal(parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}')), null, 'cut short');
    assert.equal(parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')), null);
  });

  it('talks to a node:http server: JSON answers, typed remote errors, no daemon as retryable, start() before the answer, a timeout', { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-client-'));
    const sock = join(dir, 's.sock');
    // The client blocks its thread while it waits, so the server runs in a worker thread.
    const server = new Worker(SERVER, { eval: true, workerData: { sock } });
    const next = (): Promise<unknown> => new Promise((r) => server.once('message', r));
    try {
      assert.equal(await next(), 'listening');
      const c = new DaemonClient(sock, 2000);
      assert.deepEqual(c.call('POST', '/ok', { x: 'é' }), { method: 'POST', body: { x: 'é' } });
      assert.deepEqual(c.call('GET', '/ok'), { method: 'GET', body: null });
      assert.throws(() => c.call('POST', '/fail', {}), (e: unknown) => e instanceof RemoteError && e.code === 'ERR_IPAM_UNAVAILABLE' && /taken/.test(e.message));
      assert.throws(() => new DaemonClient(join(dir, 'none.sock'), 2000).call('GET', '/ok'),
        (e: unknown) => e instanceof DaemonUnavailableError && e.retryable && /none\.sock: connect: ENOENT/.test(e.message));
      // start(): back once the request is in the socket, before any answer exists.
      const held = next();
      const pending = c.start('POST', '/hold', { y: 1 });
      assert.deepEqual(await held, { held: { y: 1 } }, 'the server has the whole request');
      server.postMessage('release');
      assert.deepEqual(pending.answer(), { method: 'POST', body: { y: 1 } });
      const none = new DaemonClient(join(dir, 'none.sock'), 2000).start('GET', '/ok');
      assert.throws(() => none.answer(), (e: unknown) => e instanceof DaemonUnavailableError);
      // A daemon that takes the request and never answers: the wait ends at the timeout.
      const t0 = Date.now();
      assert.throws(() => new DaemonClient(sock, 700).call('GET', '/never'), (e: unknown) => e instanceof DaemonUnavailableError && /no answer within 700 ms/.test(e.message));
      assert.ok(Date.now() - t0 >= 600, 'waited for the timeout');
      assert.throws(() => new DaemonClient(join(dir, 'x'.repeat(120)), 700).call('GET', '/ok'), /at most 107 bytes/);
    } finally {
      await server.terminate();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A node:http server on a Unix socket, as twilld's: answers 50 ms late; /hold waits for 'release', /never never answers. */
const SERVER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
let release;
const released = new Promise((r) => (release = r));
parentPort.on('message', (m) => { if (m === 'release') release(); });
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c.toString()));
  req.on('end', async () => {
    if (req.url === '/never') return;
    if (req.url === '/hold') {
      parentPort.postMessage({ held: JSON.parse(body) });
      await released;
    }
    // Answer later, as a handler doing I/O would: the request must not be aborted meanwhile.
    setTimeout(() => {
      const [status, text] = req.url === '/fail'
        ? [409, JSON.stringify({ error: { code: 'ERR_IPAM_UNAVAILABLE', message: 'taken', retryable: false } })]
        : [200, JSON.stringify({ method: req.method, body: body ? JSON.parse(body) : null })];
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    }, 50);
  });
});
server.listen(workerData.sock, () => parentPort.postMessage('listening'));
`;

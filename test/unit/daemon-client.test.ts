/** The plugin's HTTP/1.1 client: response parsing, and calls to a node:http server on a Unix socket. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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

  it('talks to a node:http server: JSON answers, typed remote errors, no daemon as retryable, start() before the answer', { timeout: 10_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-client-'));
    const sock = join(dir, 's.sock');
    let release = (): void => undefined;
    const released = new Promise<void>((r) => (release = r));
    let gotHeld = (_: unknown): void => undefined;
    const held = new Promise<unknown>((r) => (gotHeld = r));
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', async () => {
        if (req.url === '/hold') {
          gotHeld(JSON.parse(body));
          await released; // no answer until the test says so
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
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const c = new DaemonClient(sock, 2000);
      assert.deepEqual(await c.call('POST', '/ok', { x: 'é' }), { method: 'POST', body: { x: 'é' } });
      assert.deepEqual(await c.call('GET', '/ok'), { method: 'GET', body: null });
      await assert.rejects(c.call('POST', '/fail', {}), (e: unknown) => e instanceof RemoteError && e.code === 'ERR_IPAM_UNAVAILABLE' && /taken/.test(e.message));
      await assert.rejects(new DaemonClient(join(dir, 'none.sock'), 2000).call('GET', '/ok'), (e: unknown) => e instanceof DaemonUnavailableError && e.retryable);
      // start(): back once the request is in the socket, before any answer exists.
      const { answer } = await c.start('POST', '/hold', { y: 1 });
      assert.deepEqual(await held, { y: 1 }, 'the server has the whole request');
      release();
      assert.deepEqual(await answer, { method: 'POST', body: { y: 1 } });
      const none = await new DaemonClient(join(dir, 'none.sock'), 2000).start('GET', '/ok');
      await assert.rejects(none.answer, (e: unknown) => e instanceof DaemonUnavailableError);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

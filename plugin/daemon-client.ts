/**
 * Talks to twilld over its Unix socket (HTTP/1.1 + JSON) with a timeout: the transport, answers
 * untyped (daemon-api.ts types them by route). "No daemon" (no socket, refused, timed out) is a
 * retryable DaemonUnavailableError, which the plugin reports as CNI 11.
 */
import { getSystemErrorName } from 'node:util';
import { AF_UNIX, EAGAIN, EINTR, MSG_NOSIGNAL, SOCK_CLOEXEC, SOCK_STREAM } from '../shared/native/constants.js';
import * as libc from '../shared/native/libc.js';
import { DaemonUnavailableError, RemoteError } from '../shared/errors.js';
import type { ErrorBody } from '../shared/protocol/api.js';

export const DAEMON_TIMEOUT_MS = 10_000;

/**
 * Splits an HTTP/1.1 response read to the end of the connection into status and body (by
 * Content-Length, or chunked). Null when it is not one.
 */
export function parseHttpResponse(raw: Buffer): { status: number; body: Buffer } | null {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  let body = raw.subarray(headEnd + 4);
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const parts: Buffer[] = [];
    for (let off = 0; ;) {
      const eol = body.indexOf('\r\n', off);
      const size = eol < 0 ? NaN : parseInt(body.subarray(off, eol).toString('latin1'), 16);
      if (!Number.isFinite(size)) return null;
      if (size === 0) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      off = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers.has('content-length')) {
    const len = Number(headers.get('content-length'));
    if (!Number.isInteger(len) || len > body.length) return null;
    body = body.subarray(0, len);
  }
  return { status: Number(m[1]), body };
}

/** One call whose request is in the daemon's socket: `answer()` waits for the response. */
export interface PendingCall<T> {
  /** Blocks until the daemon has answered; its JSON, or a typed error. */
  answer(): T;
}

/**
 * The plugin speaks HTTP/1.1 to twilld over a Unix socket of its own, with blocking system calls
 * (libc through koffi, which ADD and DEL load for netlink anyway): node:http's client costs ~15
 * ms to load and set up at every pod's start, node:net's streams ~3 ms. One request per
 * connection (Connection: close); the daemon's server is node:http. Every blocking step is
 * bounded by the timeout (SO_SNDTIMEO/SO_RCVTIMEO).
 */
export class DaemonClient {
  constructor(private readonly socketPath: string, private readonly timeoutMs = DAEMON_TIMEOUT_MS) {}

  /**
   * Connects and sends the request, then returns at once, so that the caller can do other
   * blocking work (netlink) while the daemon answers. A failure to reach the daemon is thrown by
   * `answer()`, like every other failure of the call.
   */
  start(method: 'GET' | 'POST', path: string, body?: unknown): PendingCall<unknown> {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const request = `${method} ${path} HTTP/1.1\r\nHost: twilld\r\nConnection: close\r\n` +
      (body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`) + '\r\n' + payload;
    let fd = -1;
    try {
      fd = this.connect();
      this.sendAll(fd, Buffer.from(request));
    } catch (e) {
      if (fd >= 0) libc.close(fd);
      return { answer: () => { throw e; } };
    }
    return { answer: () => this.finish(fd, method, path) };
  }

  /** A whole call: request, then its answer. */
  call(method: 'GET' | 'POST', path: string, body?: unknown): unknown {
    return this.start(method, path, body).answer();
  }

  private unavailable(what: string, e: number): DaemonUnavailableError {
    const why = e === EAGAIN ? `no answer within ${this.timeoutMs} ms` : getSystemErrorName(-e);
    return new DaemonUnavailableError(`cannot reach twilld at ${this.socketPath}: ${what}: ${why}`, {
      hint: 'is twilld running on this host? (systemctl status twilld)',
    });
  }

  private connect(): number {
    const path = Buffer.from(this.socketPath);
    if (path.length >= 108) throw new DaemonUnavailableError(`cannot reach twilld at ${this.socketPath}: a Unix socket path has at most 107 bytes`);
    const fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw this.unavailable('socket', libc.errno());
    libc.setTimeouts(fd, this.timeoutMs);
    const addr = Buffer.alloc(2 + 108); // struct sockaddr_un
    addr.writeUInt16LE(AF_UNIX, 0);
    path.copy(addr, 2);
    if (libc.connect(fd, addr, 2 + path.length + 1) < 0) {
      const e = libc.errno();
      libc.close(fd);
      throw this.unavailable('connect', e);
    }
    return fd;
  }

  private sendAll(fd: number, b: Buffer): void {
    for (let off = 0; off < b.length;) {
      const n = libc.send(fd, b.subarray(off), b.length - off, MSG_NOSIGNAL);
      if (n < 0 && libc.errno() === EINTR) continue;
      if (n < 0) throw this.unavailable('send', libc.errno());
      off += n;
    }
  }

  /** Reads the response to the end of the connection, closes it, and decodes it. */
  private finish(fd: number, method: string, path: string): unknown {
    const chunks: Buffer[] = [];
    try {
      const buf = Buffer.allocUnsafe(16 * 1024);
      for (;;) {
        const n = libc.recv(fd, buf, buf.length, 0);
        if (n < 0 && libc.errno() === EINTR) continue;
        if (n < 0) throw this.unavailable('receive', libc.errno());
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
    } finally {
      libc.close(fd);
    }
    const res = parseHttpResponse(Buffer.concat(chunks));
    let data: unknown;
    try {
      data = res ? JSON.parse(res.body.toString('utf8')) : undefined;
    } catch {
      data = undefined;
    }
    if (!res || data === undefined) throw new DaemonUnavailableError(`twilld answered ${method} ${path} with ${res ? `status ${res.status} and ` : ''}no JSON`);
    if (res.status >= 400) {
      const err = (data as ErrorBody).error ?? { code: 'ERR_REMOTE', message: `status ${res.status}`, retryable: false };
      throw new RemoteError(err.code, `twilld: ${err.message}`, err.retryable);
    }
    return data;
  }
}

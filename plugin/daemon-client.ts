/**
 * Talks to twilld over its Unix socket (HTTP/1.1 + JSON) with a timeout. "No daemon" (no socket,
 * refused, timed out) is a retryable DaemonUnavailableError, which the plugin reports as CNI 11.
 */
import { request } from 'node:http';
import { DaemonUnavailableError, RemoteError } from '../shared/errors.js';
import type { ErrorBody } from '../shared/protocol/api.js';

export const DAEMON_TIMEOUT_MS = 10_000;

export class DaemonClient {
  constructor(private readonly socketPath: string, private readonly timeoutMs = DAEMON_TIMEOUT_MS) {}

  /** Sends one request; resolves with the decoded JSON answer or throws a typed error. */
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let data: unknown;
            try {
              data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return reject(new DaemonUnavailableError(`twilld answered ${method} ${path} with status ${res.statusCode} and no JSON`));
            }
            if ((res.statusCode ?? 500) >= 400) {
              const err = (data as ErrorBody).error ?? { code: 'ERR_REMOTE', message: `status ${res.statusCode}`, retryable: false };
              return reject(new RemoteError(err.code, `twilld: ${err.message}`, err.retryable));
            }
            resolve(data as T);
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        reject(new DaemonUnavailableError(`cannot reach twilld at ${this.socketPath}: ${e.code ?? e.message}`, {
          cause: e,
          hint: 'is twilld running on this host? (systemctl status twilld)',
        }));
      });
      req.end(payload);
    });
  }
}

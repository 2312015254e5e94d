/**
 * The local API on a Unix socket: HTTP/1.1 + JSON, mode 0600, stale socket file replaced, bodies
 * over MAX_REQUEST_BYTES refused with 413, every body validated, then handed to the route's
 * handler (handlers.ts). Errors answer `{ error: { code, message, retryable } }`.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { ajvErrorsText } from '../../shared/config/ajv-errors.js';
import type { Validator } from '../../shared/config/validator.js';
import { makeDirs } from '../../shared/fs/state-dir.js';
import { AddressExhaustedError, AddressInvalidError, AddressUnavailableError, AppError, AttachmentConflictError, describeError } from '../../shared/errors.js';
import {
  API_ERR, type ApiErrorCode, type ApiRequest, type ApiResponse, type ApiRoute, MAX_REQUEST_BYTES,
} from '../../shared/protocol/api.js';
import { validateAllocateBody, validateAttachmentBody, validateAttachmentDeleteBody, validateGcBody } from '../config/validators.js';
import type { Logger } from '../logger.js';

/** One handler per route, typed by the protocol: a route without one, or an answer of another shape, does not compile. */
export type ApiHandlers = { [R in ApiRoute]: (req: ApiRequest<R>) => ApiResponse<R> };

/**
 * Each route's body validator, compiled from the schemas in shared/protocol/api.ts at build time
 * (daemon/config/validators.js); null for the routes without a body, whose body is not read.
 */
const BODY: { [R in ApiRoute]: ApiRequest<R> extends void ? null : Validator<ApiRequest<R>> } = {
  'GET /v1/lease': null,
  'GET /v1/healthz': null,
  'GET /v1/ipam/allocations': null,
  'POST /v1/ipam/allocate': validateAllocateBody as Validator<ApiRequest<'POST /v1/ipam/allocate'>>,
  'POST /v1/ipam/release': validateAttachmentBody as Validator<ApiRequest<'POST /v1/ipam/release'>>,
  'POST /v1/ipam/gc': validateGcBody as Validator<ApiRequest<'POST /v1/ipam/gc'>>,
  'POST /v1/attachments/delete': validateAttachmentDeleteBody as Validator<ApiRequest<'POST /v1/attachments/delete'>>,
};

function isRoute(key: string): key is ApiRoute {
  return Object.hasOwn(BODY, key);
}

/** A request the API refuses on its own account (unknown route, body too large, not JSON, invalid). */
class ApiRequestError extends AppError {
  constructor(readonly status: number, readonly code: ApiErrorCode, message: string) {
    super(message);
  }
}

/**
 * The HTTP status of a handler's error: 503 for what may work later, 400 for a requested address
 * that can never be one of this host's, 409 for one refused because of what is allocated, else 500.
 */
function statusOf(e: AppError | null): number {
  if (e?.retryable) return 503;
  if (e instanceof AddressInvalidError) return 400;
  if (e instanceof AddressUnavailableError || e instanceof AddressExhaustedError || e instanceof AttachmentConflictError) return 409;
  return 500;
}

/**
 * The request body as JSON ({} when empty). A body over MAX_REQUEST_BYTES is refused with 413 as
 * soon as that is known (by its Content-Length, or by counting a chunked one), and the rest is
 * read and dropped, so the client, still sending, gets the answer instead of a reset connection.
 */
function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): void => {
      reject(new ApiRequestError(413, API_ERR.TOO_LARGE, `request body over ${MAX_REQUEST_BYTES} bytes`));
      req.removeListener('data', onData);
      req.resume();
    };
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) return tooLarge();
      chunks.push(c);
    };
    if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) return tooLarge();
    req.on('data', onData);
    req.on('end', () => {
      if (size > MAX_REQUEST_BYTES) return; // answered already
      if (size === 0) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new ApiRequestError(400, API_ERR.DECODE, 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function check<T>(v: Validator<T>, body: unknown): T {
  if (!v(body)) throw new ApiRequestError(400, API_ERR.INVALID, `invalid request: ${ajvErrorsText(v.errors)}`);
  return body;
}

/** The API's HTTP server on its Unix socket; requests go to the handler of their route. */
export class ApiServer {
  private server: Server | null = null;

  constructor(private readonly path: string, private readonly handlers: ApiHandlers, private readonly log: Logger) {}

  private async route(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    if (!isRoute(key)) throw new ApiRequestError(404, API_ERR.NOT_FOUND, `no such endpoint: ${key}`);
    return this.dispatch(key, req);
  }

  private async dispatch<R extends ApiRoute>(route: R, req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const validator = BODY[route] as Validator<ApiRequest<R>> | null;
    const input = (validator ? check(validator, await readBody(req)) : undefined) as ApiRequest<R>;
    const body = this.handlers[route](input);
    // GET /v1/healthz answers its body either way, with 503 while the daemon holds no lease.
    const unhealthy = route === 'GET /v1/healthz' && !(body as ApiResponse<'GET /v1/healthz'>).ok;
    return { status: unhealthy ? 503 : 200, body };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req).then(
      ({ status, body }) => send(res, status, body),
      (e: unknown) => {
        if (e instanceof ApiRequestError) return send(res, e.status, { error: { code: e.code, message: e.message, retryable: false } });
        const app = e instanceof AppError ? e : null;
        this.log.warn({ url: req.url, err: describeError(e) }, 'api request failed');
        send(res, statusOf(app), {
          error: { code: app?.code ?? API_ERR.INTERNAL, message: (e as Error).message, retryable: app?.retryable ?? false },
        });
      },
    );
  }

  /** Listens on the socket path (replacing a stale file), mode 0600. */
  async listen(): Promise<void> {
    makeDirs(dirname(this.path), 0o755);
    rmSync(this.path, { force: true });
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1000;
    // The socket file is born 0600 (no moment at which others may connect), and the process's
    // umask is restored whether listening works or not.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => resolve());
      });
    } finally {
      process.umask(old);
    }
    chmodSync(this.path, 0o600);
    this.server = server;
    this.log.info({ socket: this.path }, 'api listening');
  }

  /** Stops listening, ends open connections and removes the socket file. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
    rmSync(this.path, { force: true });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

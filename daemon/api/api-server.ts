/**
 * The local API on a Unix socket: HTTP/1.1 + JSON, mode 0600, stale socket file replaced, bodies
 * over MAX_REQUEST_BYTES refused with 413, every body validated. One handler per route.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { ajvErrorsText } from '../../shared/config/ajv-errors.js';
import type { Validator } from '../../shared/config/validator.js';
import { validateAllocateBody, validateAttachmentBody, validateGcBody, validateAttachmentDeleteBody } from '../config/validators.js';
import { AppError } from '../../shared/errors.js';
import { MAX_REQUEST_BYTES, type AllocateRequest, type Attachment, type GcRequest, type AttachmentDeleteRequest } from '../../shared/protocol/api.js';
import type { Logger } from '../logger.js';

/** What the API needs from the daemon. */
export interface ApiHandlers {
  lease(): unknown;
  health(): { ok: boolean; body: unknown };
  allocate(a: AllocateRequest): unknown;
  release(a: Attachment): unknown;
  gc(r: GcRequest): unknown;
  allocations(): unknown;
  deleteAttachment(r: AttachmentDeleteRequest): unknown;
}

// Compiled from the schemas in shared/protocol/api.ts at build time (daemon/config/validators.js).
const validateAttachment = validateAttachmentBody as Validator<Attachment>;
const validateAllocate = validateAllocateBody as Validator<AllocateRequest>;
const validateGc = validateGcBody as Validator<GcRequest>;
const validateAttachmentDelete = validateAttachmentDeleteBody as Validator<AttachmentDeleteRequest>;

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_REQUEST_BYTES) {
      reject(new HttpError(413, 'ERR_API_TOO_LARGE', `request body over ${MAX_REQUEST_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new HttpError(413, 'ERR_API_TOO_LARGE', `request body over ${MAX_REQUEST_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size === 0) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'ERR_API_DECODE', 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function check<T>(v: Validator<T>, body: unknown): T {
  if (!v(body)) throw new HttpError(400, 'ERR_API_INVALID', `invalid request: ${ajvErrorsText(v.errors)}`);
  return body;
}

export class ApiServer {
  private server: Server | null = null;

  constructor(private readonly path: string, private readonly h: ApiHandlers, private readonly log: Logger) {}

  private async route(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    switch (key) {
      case 'GET /v1/lease': return { status: 200, body: this.h.lease() };
      case 'GET /v1/healthz': {
        const r = this.h.health();
        return { status: r.ok ? 200 : 503, body: r.body };
      }
      case 'GET /v1/ipam/allocations': return { status: 200, body: this.h.allocations() };
      case 'POST /v1/ipam/allocate': return { status: 200, body: this.h.allocate(check(validateAllocate, await readBody(req))) };
      case 'POST /v1/ipam/release': return { status: 200, body: this.h.release(check(validateAttachment, await readBody(req))) };
      case 'POST /v1/ipam/gc': return { status: 200, body: this.h.gc(check(validateGc, await readBody(req))) };
      case 'POST /v1/attachments/delete': return { status: 200, body: this.h.deleteAttachment(check(validateAttachmentDelete, await readBody(req))) };
      default: throw new HttpError(404, 'ERR_API_NOT_FOUND', `no such endpoint: ${key}`);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req).then(
      ({ status, body }) => send(res, status, body),
      (e: unknown) => {
        if (e instanceof HttpError) return send(res, e.status, { error: { code: e.code, message: e.message, retryable: false } });
        const app = e instanceof AppError ? e : null;
        this.log.warn({ url: req.url, err: (e as Error).message }, 'api request failed');
        send(res, app?.retryable ? 503 : 500, {
          error: { code: app?.code ?? 'ERR_INTERNAL', message: (e as Error).message, retryable: app?.retryable ?? false },
        });
      },
    );
  }

  /** Listens on the socket path (replacing a stale file), mode 0600. */
  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    rmSync(this.path, { force: true });
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const old = process.umask(0o177);
      server.listen(this.path, () => {
        process.umask(old);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    this.server = server;
    this.log.info({ socket: this.path }, 'api listening');
  }

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

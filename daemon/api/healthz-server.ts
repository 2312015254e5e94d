/**
 * The healthz server on --healthz-ip:--healthz-port, for a DaemonSet's liveness probe (flannel's
 * --healthz-port): GET /healthz answers 200 "ok" while the daemon holds its lease, 503 "not ready"
 * otherwise; any other path 404.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../logger.js';

/** The listening healthz server. */
export class HealthzServer {
  private constructor(private readonly server: Server) {}

  /** Listens on `ip`:`port`; `ready` says whether the daemon holds its lease. */
  static async listen(ip: string, port: number, ready: () => boolean, log: Logger): Promise<HealthzServer> {
    const server = createServer((req, res) => {
      const ok = req.url === '/healthz' && ready();
      res.writeHead(ok ? 200 : req.url === '/healthz' ? 503 : 404, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, ip, () => resolve());
    });
    log.info({ ip, port }, 'healthz listening');
    return new HealthzServer(server);
  }

  /** Stops listening; resolves once open connections have ended. */
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

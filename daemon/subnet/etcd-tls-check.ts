/**
 * Why a TLS connection to etcd fails, in words. The etcd client (grpc-js) reports a handshake
 * refused over a wrong CA, certificate or key only as "No connection established. Last error:
 * null"; after such a failure the registry makes one TLS handshake itself, with the same files,
 * and says what was refused.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';

/** The TLS material the etcd client uses (PEM). */
export interface EtcdTlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * The TLS problem with `endpoint` (an https URL) as one sentence naming the flags to check, or
 * null when the handshake succeeds, the endpoint is not https, or it cannot be reached at all
 * (that is not a TLS problem).
 */
export function tlsProblem(endpoint: string, files: EtcdTlsFiles, timeoutMs = 2000): Promise<string | null> {
  const u = new URL(endpoint);
  if (u.protocol !== 'https:') return Promise.resolve(null);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    let tcpUp = false;
    const s = connect({
      host, port: Number(u.port || 2379), ALPNProtocols: ['h2'], ...(isIP(host) ? {} : { servername: host }),
      ...(files.ca ? { ca: files.ca } : {}), ...(files.cert ? { cert: files.cert } : {}), ...(files.key ? { key: files.key } : {}),
    }, () => {
      s.destroy();
      resolve(null);
    });
    s.once('connect', () => (tcpUp = true));
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      resolve(null);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      s.destroy();
      resolve(tcpUp ? `the TLS handshake with ${u.host} failed: ${e.message} (check --etcd-cafile, --etcd-certfile and --etcd-keyfile)` : null);
    });
  });
}

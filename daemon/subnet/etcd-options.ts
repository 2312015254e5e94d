/**
 * How to reach etcd: flannel's --etcd-* settings, and the etcd3 client options made from them
 * (TLS files read, a deadline for every request but never for the lease watch).
 */
import { readFileSync } from 'node:fs';
import type { IOptions } from 'etcd3';
import type { EtcdTlsFiles } from './etcd-tls-check.js';

/** How to reach etcd (flannel's --etcd-* flags). */
export interface EtcdOptions {
  endpoints: string[];
  prefix: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  username?: string;
  password?: string;
  /** Per-call deadline. */
  callTimeoutMs?: number;
}

/** The TLS files of flannel-style settings, read; null without TLS. */
export function etcdTlsFiles(o: EtcdOptions): EtcdTlsFiles | null {
  if (!o.caFile && !o.certFile && !o.keyFile) return null;
  return {
    ca: readFileSync(o.caFile ?? '/etc/ssl/certs/ca-certificates.crt'),
    ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
    ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
  };
}

/** Builds etcd3 client options from flannel-style settings (`tls`: their files, read). */
export function etcdClientOptions(o: EtcdOptions, tls = etcdTlsFiles(o)): IOptions {
  const opts: IOptions = {
    hosts: o.endpoints,
    dialTimeout: o.callTimeoutMs ?? 5000,
    // A deadline for each request, never for a stream: the lease watch lives as long as the daemon
    // (with a deadline it broke every 5 s, and each break re-read every lease).
    defaultCallOptions: (call) => (call.isStream ? {} : { deadline: Date.now() + (o.callTimeoutMs ?? 5000) }),
  };
  if (tls) {
    opts.credentials = {
      rootCertificate: tls.ca!,
      ...(tls.key ? { privateKey: tls.key } : {}),
      ...(tls.cert ? { certChain: tls.cert } : {}),
    };
  }
  if (o.username) opts.auth = { username: o.username, password: o.password ?? '' };
  return opts;
}

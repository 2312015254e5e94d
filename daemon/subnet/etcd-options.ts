/**
 * How to reach etcd: flannel's --etcd-* settings, and the etcd3 client options made from them
 * (TLS files read, a deadline for every request but never for the lease watch, calls that need a
 * member with a leader, gRPC keepalive so that a dead connection is noticed).
 */
import { readFileSync } from 'node:fs';
import type { CallOptionsFactory, IOptions } from 'etcd3';
import type { EtcdTlsFiles } from './etcd-tls-check.js';

/**
 * gRPC keepalive: while a call is open on a connection (the lease watch always is), a ping is sent
 * after this long without one. etcd's server answers pings more frequent than its
 * --grpc-keepalive-min-time (5 s by default) with GOAWAY, and counts pings on a connection with no
 * call open as abuse, so none are sent then.
 */
export const ETCD_KEEPALIVE_TIME_MS = 10_000;

/**
 * A ping unanswered this long closes the connection: every call on it fails as unavailable, and
 * the lease watch resyncs. This is what notices a dead etcd (powered off, cut off) whose FIN or
 * RST never arrived: without it the watch would wait on an "established" connection forever.
 */
export const ETCD_KEEPALIVE_TIMEOUT_MS = 5000;

/** gRPC's reconnect delay grows up to this, not to its default of 2 minutes: etcd back is etcd used. */
export const ETCD_MAX_RECONNECT_BACKOFF_MS = 5000;

/** A gRPC client interceptor, as etcd3's call options take it. */
type Interceptor = NonNullable<Exclude<CallOptionsFactory, (...args: never[]) => unknown>['interceptors']>[number];

/**
 * Asks etcd to refuse a call when the member it reaches has no leader: etcd's Go client's
 * WithRequireLeader (metadata "hasleader: true"), which flannel's lease watch uses. A member cut
 * off from the rest of its cluster then refuses calls at once, and ends the watches it holds
 * within a few election timeouts, so that the client moves to a member that has a leader; without
 * it, a watch on that member waits forever for changes it will never see.
 */
const requireLeader: Interceptor = (options, nextCall) => {
  const call = nextCall(options);
  const start = call.start.bind(call);
  call.start = (metadata, listener) => {
    metadata.set('hasleader', 'true');
    start(metadata, listener);
  };
  return call as ReturnType<Interceptor>; // the interceptor chain takes any call it is handed
};

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
    defaultCallOptions: (call) => ({
      interceptors: [requireLeader],
      ...(call.isStream ? {} : { deadline: Date.now() + (o.callTimeoutMs ?? 5000) }),
    }),
    grpcOptions: {
      'grpc.keepalive_time_ms': ETCD_KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': ETCD_KEEPALIVE_TIMEOUT_MS,
      'grpc.max_reconnect_backoff_ms': ETCD_MAX_RECONNECT_BACKOFF_MS,
    },
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

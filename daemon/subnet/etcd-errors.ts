/**
 * etcd client errors cast to ours, here and nowhere else: EtcdUnavailableError when etcd could not
 * be reached (retryable), EtcdRefusedError when it answered no, AbortedError once the daemon stops
 * (no call waits for etcd then).
 */
import { castGrpcError, isRecoverableError } from 'etcd3';
import { AbortedError, AppError, EtcdRefusedError, EtcdUnavailableError } from '../../shared/errors.js';

/**
 * True for a foreign etcd3 error that means etcd could not be reached (rather than refused the
 * call): the ones etcd3 marks recoverable (unavailable, deadline exceeded, cancelled, ...) and its
 * circuit breaker's refusal to try a host that just failed.
 */
export function isUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return isRecoverableError(e) || (e as Error & { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true;
}

/**
 * Maps a foreign etcd3/grpc error to our classes (once, here); `why` adds what is known of the
 * cause of an unreachable etcd (a TLS problem).
 */
export function castEtcdError(raw: unknown, what: string, why?: string | null): AppError {
  if (raw instanceof AppError) return raw;
  // The watch hands over grpc's own untyped errors; etcd3 types them as it does a call's.
  const e = raw instanceof Error ? castGrpcError(raw) : raw;
  const text = e instanceof Error ? e.message : String(e);
  if (isUnreachable(e)) return new EtcdUnavailableError(`etcd unavailable while ${what}: ${text}${why ? `; ${why}` : ''}`, { cause: e });
  return new EtcdRefusedError(`etcd refused ${what}: ${text}`, {
    cause: e,
    hint: 'check --etcd-username/--etcd-password and that the user may read and write the --etcd-prefix keys',
  });
}

/**
 * `call`'s outcome, or AbortedError as soon as `stop` fires: a call to an etcd that cannot be
 * reached may wait for its deadline several times over (the client retries on another endpoint).
 */
export function untilStopped<T>(call: Promise<T>, stop: AbortSignal, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onStop = (): void => reject(new AbortedError(`stopped while ${what}`));
    if (stop.aborted) return onStop();
    stop.addEventListener('abort', onStop, { once: true });
    call.then(resolve, reject).finally(() => stop.removeEventListener('abort', onStop));
  });
}

/**
 * The CNI error object and the one mapping from twill's error classes to CNI codes.
 * Codes (SPEC 1.1.0): 1 incompatible version, 2 unsupported field, 3 unknown container,
 * 4 invalid environment variables, 5 I/O failure, 6 decode failure, 7 invalid network config,
 * 11 try again later, 50 STATUS; 100+ are twill's own.
 */
import { AppError, DecodeError, InvalidConfigError, NsPathNotExistError, NsPathNotNetnsError } from '../../shared/errors.js';
import { IPAM_ERR } from '../../shared/protocol/api.js';

export const CNI_ERR = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE: 6,
  INVALID_NETWORK_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  /**
   * STATUS: the plugin cannot service ADD requests (twill: daemon down or not ready, no free pod
   * address). The spec's 51 (existing containers may also have limited connectivity) is never
   * twill's answer: see cmd-status.ts.
   */
  STATUS_NOT_AVAILABLE: 50,
  /** twill: the kernel refused a change (link, address, route). */
  KERNEL: 100,
  /** twill: CHECK found the attachment differs from prevResult. */
  CHECK_FAILED: 101,
  /** twill: no free pod address on this host. */
  ADDRESS_EXHAUSTED: 102,
  /** twill: the interface name already exists in the container (or is attached to another network). */
  IFACE_EXISTS: 103,
  /**
   * twill: the requested pod address (runtimeConfig.ips, CNI_ARGS IP=) is held by another
   * attachment: a conflict, which CNI has no well-known code for (an address that can never be
   * this host's is 7).
   */
  ADDRESS_UNAVAILABLE: 104,
  /** twill: anything else. */
  INTERNAL: 199,
} as const;

/** An error that already carries its CNI code (skel's "don't wrap Error in Error"). */
export class CniError extends Error {
  constructor(readonly cniCode: number, msg: string, readonly details = '') {
    super(msg);
    this.name = 'CniError';
  }
}

/** The JSON object printed on stdout. */
export interface CniErrorObject {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

const BY_APP_CODE: Record<string, number> = {
  [IPAM_ERR.EXHAUSTED]: CNI_ERR.ADDRESS_EXHAUSTED,
  [IPAM_ERR.UNAVAILABLE]: CNI_ERR.ADDRESS_UNAVAILABLE,
  // An address that can never be this host's is a wrong config or argument, as the reference IPAM says.
  [IPAM_ERR.ADDRESS_INVALID]: CNI_ERR.INVALID_NETWORK_CONFIG,
  // The container's interface is attached to another network already.
  [IPAM_ERR.ATTACHMENT_CONFLICT]: CNI_ERR.IFACE_EXISTS,
  ERR_KERNEL: CNI_ERR.KERNEL,
  ERR_LINK_NOT_FOUND: CNI_ERR.KERNEL,
};

/**
 * Maps any thrown value to a CNI error object: the one mapping from error classes to codes (a
 * CniError keeps the code its thrower chose).
 */
export function toCniError(e: unknown, cniVersion: string): CniErrorObject {
  const obj = (code: number, msg: string, details?: string): CniErrorObject =>
    details ? { cniVersion, code, msg, details } : { cniVersion, code, msg };
  if (e instanceof CniError) return obj(e.cniCode, e.message, e.details);
  if (e instanceof DecodeError) return obj(CNI_ERR.DECODE, e.message);
  if (e instanceof InvalidConfigError) return obj(CNI_ERR.INVALID_NETWORK_CONFIG, e.message, e.hint);
  if (e instanceof NsPathNotExistError || e instanceof NsPathNotNetnsError) return obj(CNI_ERR.INVALID_ENV, e.message);
  if (e instanceof AppError) {
    if (e.retryable) return obj(CNI_ERR.TRY_AGAIN_LATER, e.message, e.hint);
    return obj(BY_APP_CODE[e.code] ?? CNI_ERR.INTERNAL, e.message, e.hint);
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) return obj(CNI_ERR.IO_FAILURE, err.message);
  return obj(CNI_ERR.INTERNAL, err instanceof Error ? err.message : String(e));
}

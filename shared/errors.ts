/**
 * Error classes shared by the daemon and the plugin. Callers branch on `code`, `retryable` or
 * `instanceof`, never on message text. These classes reach CNI's numeric codes through one
 * mapping, toCniError in plugin/cni/cni-error.ts; plugin code that meets a condition CNI names
 * itself (a bad CNI_* variable, a failed CHECK) throws a CniError with that code directly.
 */
import { IPAM_ERR } from './protocol/api.js';

export abstract class AppError extends Error {
  abstract readonly code: string;
  /** True when the same request may succeed later without any change (etcd or daemon away). */
  readonly retryable: boolean = false;
  /** A short suggestion for the operator, printed next to the message. */
  readonly hint?: string;

  constructor(message: string, opts: { cause?: unknown; hint?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    if (opts.hint !== undefined) this.hint = opts.hint;
  }
}

/** A configuration (etcd network config, plugin conflist, daemon options) is invalid. */
export class InvalidConfigError extends AppError {
  readonly code = 'ERR_CONFIG_INVALID';
  constructor(message: string, readonly field?: string, opts: { cause?: unknown; hint?: string } = {}) {
    super(message, opts);
  }
}

/** A configuration that is needed is not there (e.g. no network config in etcd for `twilld config get`). */
export class ConfigMissingError extends AppError {
  readonly code = 'ERR_CONFIG_MISSING';
}

/** A string is not a valid IPv4 address or CIDR. */
export class InvalidCidrError extends AppError {
  readonly code = 'ERR_IP_INVALID';
}

/** A string is not a MAC address. */
export class InvalidMacError extends AppError {
  readonly code = 'ERR_MAC_INVALID';
}

/** Input could not be decoded (bad JSON). */
export class DecodeError extends AppError {
  readonly code = 'ERR_DECODE';
}

/** Every subnet between SubnetMin and SubnetMax is leased. */
export class SubnetExhaustedError extends AppError {
  readonly code = 'ERR_SUBNET_EXHAUSTED';
  override readonly retryable = true;
}

/** A create-if-absent transaction lost a race: the subnet key already exists. */
export class SubnetTakenError extends AppError {
  readonly code = 'ERR_SUBNET_TAKEN';
}

/** Our lease key is gone or no longer ours (it expired; another host may hold the subnet now). */
export class LeaseLostError extends AppError {
  readonly code = 'ERR_LEASE_LOST';
}

/** Another live lease advertises our PublicIP with a different subnet. */
export class PublicIpConflictError extends AppError {
  readonly code = 'ERR_PUBLIC_IP_CONFLICT';
}

/** The etcd cluster cannot be reached right now. */
export class EtcdUnavailableError extends AppError {
  readonly code = 'ERR_ETCD_UNAVAILABLE';
  override readonly retryable = true;
}

/**
 * etcd was reached and refused the call (authentication failed, permission denied, a request it
 * calls invalid): asking again unchanged will not help.
 */
export class EtcdRefusedError extends AppError {
  readonly code = 'ERR_ETCD_REFUSED';
}

/** The daemon's socket cannot be reached, or it is not ready. */
export class DaemonUnavailableError extends AppError {
  readonly code = 'ERR_DAEMON_UNAVAILABLE';
  override readonly retryable = true;
}

/** The pod address range of this host is used up. */
export class AddressExhaustedError extends AppError {
  readonly code = IPAM_ERR.EXHAUSTED;
}

/** A requested pod address (runtimeConfig.ips, CNI_ARGS IP=) is held by another attachment, or the attachment holds another one. */
export class AddressUnavailableError extends AppError {
  readonly code = IPAM_ERR.UNAVAILABLE;
}

/**
 * A requested pod address can never be one of this host's: not IPv4, outside its subnet, or the
 * subnet's network, gateway or broadcast address (the caller's input is wrong, not the state).
 */
export class AddressInvalidError extends AppError {
  readonly code = IPAM_ERR.ADDRESS_INVALID;
}

/** An attachment (container and interface) holds an address of another network than the one asking. */
export class AttachmentConflictError extends AppError {
  readonly code = IPAM_ERR.ATTACHMENT_CONFLICT;
}

/** A file or directory of state belongs to another user, or others may write it: its content is not trusted. */
export class UntrustedPathError extends AppError {
  readonly code = 'ERR_PATH_UNTRUSTED';
}

/** A kernel operation (a system call, a netlink request, a program like nft) failed. */
export class KernelError extends AppError {
  readonly code = 'ERR_KERNEL';
  /** The kernel's errno, when the failure came with one (e.g. 17, EEXIST: the object exists). */
  readonly errno?: number;

  constructor(message: string, opts: { cause?: unknown; hint?: string; errno?: number } = {}) {
    super(message, opts);
    if (opts.errno !== undefined) this.errno = opts.errno;
  }
}

/** A link does not exist (the kernel answered ENODEV). */
export class LinkNotFoundError extends AppError {
  readonly code = 'ERR_LINK_NOT_FOUND';
}

/** The network namespace path does not exist. */
export class NsPathNotExistError extends AppError {
  readonly code = 'ERR_NETNS_NOT_EXIST';
}

/** The path exists but is not a network namespace. */
export class NsPathNotNetnsError extends AppError {
  readonly code = 'ERR_NETNS_NOT_NETNS';
}

/** A wait was given up because its AbortSignal fired (the daemon is stopping). */
export class AbortedError extends AppError {
  readonly code = 'ERR_ABORTED';
}

/** The daemon answered a request with an error of its own. */
export class RemoteError extends AppError {
  constructor(readonly code: string, message: string, override readonly retryable: boolean) {
    super(message);
  }
}

/** Renders an error and its cause chain as one line. */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    parts.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined;
  }
  return parts.join(': ');
}

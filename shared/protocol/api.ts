/**
 * The daemon's local API: HTTP/1.1 + JSON over a Unix socket (so `curl --unix-socket` works).
 * Both sides import these shapes; the daemon validates every request body (with validators
 * generated at build time from these schemas).
 */

/** Default socket path (twilld --socket, plugin "socket"). */
export const DEFAULT_SOCKET_PATH = '/run/twill/twilld.sock';
/** Requests larger than this are refused (413). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** GET /v1/lease */
export interface LeaseInfo {
  network: string;
  subnet: string;
  gateway: string;
  mtu: number;
  backendType: string;
  publicIp: string;
  ipMasq: boolean;
}

/** The longest CNI_CONTAINERID the daemon takes; the plugin refuses a longer one at ADD (code 4). */
export const MAX_CONTAINER_ID_LENGTH = 512;
/** The longest network name (the plugin config's `name`) the daemon takes; the plugin's config schema says the same. */
export const MAX_NETWORK_NAME_LENGTH = 512;

/**
 * One pod attachment on this host: the container and its interface. The host veth is named after
 * both (shared/net/attachment-hash.ts), so one attachment belongs to one network at a time.
 */
export interface Attachment {
  containerID: string;
  ifName: string;
}

/**
 * POST /v1/ipam/allocate → AllocateResponse; `ip` asks for one address (runtimeConfig.ips, IP=).
 * `network` is the plugin config's `name`: the allocation is that network's, which scopes GC
 * (absent from plugins older than it: such allocations have no network).
 */
export interface AllocateRequest extends Attachment {
  network?: string;
  ip?: string;
}
export interface AllocateResponse {
  /** "10.5.34.7/24" */
  address: string;
  gateway: string;
  lease: LeaseInfo;
}

/** POST /v1/ipam/release (unknown attachments are success) */
export type ReleaseRequest = Attachment;
export interface ReleaseResponse {
  /** Whether the attachment had an address. */
  released: boolean;
}

/**
 * POST /v1/ipam/gc: release every allocation of `network` that is not in `valid`, which lists that
 * network's attachments (CNI's cni.dev/valid-attachments). Other networks' allocations are left
 * alone; an allocation without a network (made before networks were recorded) that is in `valid`
 * becomes the network's. Without `network` (an older plugin, or a hand-made request) the scope is
 * the allocations without a network.
 */
export interface GcRequest {
  network?: string;
  valid: Attachment[];
}
/** What GC released, and every attachment that still holds an address afterwards (of any network). */
export interface GcResponse {
  released: AllocationEntry[];
  held: Attachment[];
}

/**
 * POST /v1/attachments/delete → AttachmentDeleteResponse: the daemon's half of a CNI DEL, in one
 * request. It releases the attachment's address (as /v1/ipam/release) and, when the caller is in
 * the daemon's network namespace (`netns`: "<dev>:<inode>" of the caller's /proc/self/ns/net),
 * starts deleting the attachment's host veth (`index`; `deleting: false` when there is none there,
 * or the caller is elsewhere: the caller then deletes it). The kernel unlists a link at once
 * (RTM_DELLINK is sent; its name and index are free, its addresses, routes and bridge port gone)
 * but returns from the system call only once the device is freed, an RCU grace period later (~20
 * ms, paid by every `ip link del`): the daemon's thread pool waits for that, and the plugin, a
 * process the runtime waits for, only for the notification.
 */
export interface AttachmentDeleteRequest extends Attachment {
  netns: string;
}
export type AttachmentDeleteResponse = { released: boolean } & ({ deleting: true; index: number } | { deleting: false });

/** GET /v1/ipam/allocations; `network` is absent for an allocation made without one. */
export interface AllocationEntry extends Attachment {
  address: string;
  network?: string;
}

/** GET /v1/healthz */
export interface HealthResponse {
  ok: boolean;
  free: number;
  total: number;
}

/**
 * Every route, "METHOD /path", with its request body (`void`: none) and its answer. The daemon's
 * handlers and the plugin's calls are both typed by this map.
 */
export interface ApiRoutes {
  'GET /v1/lease': { request: void; response: LeaseInfo };
  'GET /v1/healthz': { request: void; response: HealthResponse };
  'GET /v1/ipam/allocations': { request: void; response: AllocationEntry[] };
  'POST /v1/ipam/allocate': { request: AllocateRequest; response: AllocateResponse };
  'POST /v1/ipam/release': { request: ReleaseRequest; response: ReleaseResponse };
  'POST /v1/ipam/gc': { request: GcRequest; response: GcResponse };
  'POST /v1/attachments/delete': { request: AttachmentDeleteRequest; response: AttachmentDeleteResponse };
}

/** A route of the API. */
export type ApiRoute = keyof ApiRoutes;
/** The request body of a route (`void` for the GETs). */
export type ApiRequest<R extends ApiRoute> = ApiRoutes[R]['request'];
/** The answer of a route. */
export type ApiResponse<R extends ApiRoute> = ApiRoutes[R]['response'];

/**
 * The error codes the API answers with on its own account; an error of a handler keeps its own
 * code (e.g. ERR_IPAM_UNAVAILABLE).
 */
export const API_ERR = {
  /** 404: no such method and path (an older daemon, for a route added later). */
  NOT_FOUND: 'ERR_API_NOT_FOUND',
  /** 413: a body over MAX_REQUEST_BYTES. */
  TOO_LARGE: 'ERR_API_TOO_LARGE',
  /** 400: a body that is not JSON. */
  DECODE: 'ERR_API_DECODE',
  /** 400: a body that does not match the route's schema. */
  INVALID: 'ERR_API_INVALID',
  /** 500: a failure that is not one of twill's errors. */
  INTERNAL: 'ERR_INTERNAL',
} as const;

/** One of API_ERR's codes. */
export type ApiErrorCode = (typeof API_ERR)[keyof typeof API_ERR];

/**
 * The codes of the IPAM routes' refusals (the error classes of shared/errors.ts carry them; the
 * plugin turns them into CNI codes in plugin/cni/cni-error.ts).
 */
export const IPAM_ERR = {
  /** 409: no pod address is free. */
  EXHAUSTED: 'ERR_IPAM_EXHAUSTED',
  /** 409: the requested address is held by another attachment, or the attachment holds another one. */
  UNAVAILABLE: 'ERR_IPAM_UNAVAILABLE',
  /**
   * 400: the requested address can never be a pod address of this host: not IPv4, outside the
   * host's subnet, or its network, gateway or broadcast address.
   */
  ADDRESS_INVALID: 'ERR_IPAM_ADDRESS_INVALID',
  /** 409: the attachment holds an address of another network. */
  ATTACHMENT_CONFLICT: 'ERR_IPAM_ATTACHMENT_CONFLICT',
} as const;

/** Every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; retryable: boolean };
}

export const attachmentSchema = {
  type: 'object',
  properties: {
    containerID: { type: 'string', minLength: 1, maxLength: MAX_CONTAINER_ID_LENGTH },
    ifName: { type: 'string', minLength: 1, maxLength: 15 },
  },
  required: ['containerID', 'ifName'],
  additionalProperties: false,
} as const;

const networkSchema = { type: 'string', minLength: 1, maxLength: MAX_NETWORK_NAME_LENGTH } as const;

export const allocateSchema = {
  type: 'object',
  properties: { ...attachmentSchema.properties, network: networkSchema, ip: { type: 'string', maxLength: 15 } },
  required: ['containerID', 'ifName'],
  additionalProperties: false,
} as const;

export const gcSchema = {
  type: 'object',
  properties: { network: networkSchema, valid: { type: 'array', items: attachmentSchema, maxItems: 100000 } },
  required: ['valid'],
  additionalProperties: false,
} as const;

export const attachmentDeleteSchema = {
  type: 'object',
  properties: { ...attachmentSchema.properties, netns: { type: 'string', pattern: '^[0-9]+:[0-9]+$', maxLength: 64 } },
  required: ['containerID', 'ifName', 'netns'],
  additionalProperties: false,
} as const;

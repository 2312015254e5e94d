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

/** One pod attachment: what CNI keys everything by. */
export interface Attachment {
  containerID: string;
  ifName: string;
}

/** POST /v1/ipam/allocate → AllocateResponse; `ip` asks for one address (runtimeConfig.ips, IP=). */
export interface AllocateRequest extends Attachment {
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

/** POST /v1/ipam/gc: release every allocation not in `valid` */
export interface GcRequest {
  valid: Attachment[];
}
export interface GcResponse {
  released: Array<Attachment & { address: string }>;
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

/** GET /v1/ipam/allocations */
export interface AllocationEntry extends Attachment {
  address: string;
}

/** GET /v1/healthz */
export interface HealthResponse {
  ok: boolean;
  free: number;
  total: number;
}

/** Every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; retryable: boolean };
}

export const attachmentSchema = {
  type: 'object',
  properties: {
    containerID: { type: 'string', minLength: 1, maxLength: 512 },
    ifName: { type: 'string', minLength: 1, maxLength: 15 },
  },
  required: ['containerID', 'ifName'],
  additionalProperties: false,
} as const;

export const allocateSchema = {
  type: 'object',
  properties: { ...attachmentSchema.properties, ip: { type: 'string', maxLength: 15 } },
  required: ['containerID', 'ifName'],
  additionalProperties: false,
} as const;

export const gcSchema = {
  type: 'object',
  properties: { valid: { type: 'array', items: attachmentSchema, maxItems: 100000 } },
  required: ['valid'],
  additionalProperties: false,
} as const;

export const attachmentDeleteSchema = {
  type: 'object',
  properties: { ...attachmentSchema.properties, netns: { type: 'string', pattern: '^[0-9]+:[0-9]+$', maxLength: 64 } },
  required: ['containerID', 'ifName', 'netns'],
  additionalProperties: false,
} as const;

/**
 * Types of the daemon's validators, generated at build time from the JSON schemas (ajv standalone
 * code, written to dist/shared/config/validators.js by scripts/build.mjs): the daemon never loads
 * ajv's compiler, which cost ~50 ms of every start (the meta-schema's compilation included) and
 * stayed in memory. Each user casts its
 * validator to `Validator<its type>`.
 */
import type { ErrorObject } from 'ajv';

/** A generated validator: true when `data` matches (defaults filled in, in place); errors otherwise. */
export type Validator<T> = ((data: unknown) => data is T) & { errors?: ErrorObject[] | null };

type Generated = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** shared/config/net-config-schema.ts */
export declare const validateNetConfig: Generated;
/** daemon/subnet/lease-schema.ts */
export declare const validateLeaseAttrs: Generated;
/** daemon/backend/vxlan-schema.ts */
export declare const validateVxlanConfig: Generated;
/** daemon/backend/udp/udp-schema.ts */
export declare const validateUdpConfig: Generated;
/** shared/protocol/api.ts */
export declare const validateAttachmentBody: Generated;
export declare const validateAllocateBody: Generated;
export declare const validateGcBody: Generated;
export declare const validateAttachmentDeleteBody: Generated;

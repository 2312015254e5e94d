/**
 * Types of the daemon's validators for the network config, lease values and API bodies,
 * generated at build time from their JSON schemas (ajv standalone code, written to
 * dist/daemon/config/validators.js by scripts/build.mjs), so the daemon never loads ajv's
 * compiler. Each backend's config validator is generated beside the backend list instead
 * (daemon/backend/config-validators.d.ts).
 */
import type { GeneratedValidator } from '../../shared/config/validator.js';

/** daemon/config/net-config-schema.ts */
export declare const validateNetConfig: GeneratedValidator;
/** daemon/subnet/lease-schema.ts */
export declare const validateLeaseAttrs: GeneratedValidator;
/** shared/protocol/api.ts */
export declare const validateAttachmentBody: GeneratedValidator;
export declare const validateAllocateBody: GeneratedValidator;
export declare const validateGcBody: GeneratedValidator;
export declare const validateAttachmentDeleteBody: GeneratedValidator;

/**
 * Types of the backends' config validators, generated at build time from each backend's schema in
 * the backend list (daemon/backend/backends.ts; written to dist/daemon/backend/config-validators.js
 * by scripts/build.mjs).
 */
import type { GeneratedValidator } from '../../shared/config/validator.js';
import type { BackendType } from './backends.js';

/** The validator of each backend's `Backend` object, by Backend.Type. */
export declare const configValidators: Readonly<Record<BackendType, GeneratedValidator>>;

/**
 * Types of the validator generated at build time from plugin-conf-schema.ts (ajv standalone code,
 * written to dist/plugin/validate-plugin-conf.js by scripts/build.mjs).
 */
import type { ErrorObject } from 'ajv';

declare const validate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
export default validate;

/**
 * The one Ajv instance of the daemon (defaults applied, every error collected). The plugin does not
 * use it: its validator is compiled at build time (scripts/build.mjs, ajv standalone code).
 */
import AjvModule from 'ajv';

const Ajv = AjvModule.default ?? AjvModule;

/** The options every validator is compiled with, also the build-time standalone code. */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true } as const;

/** Shared validator factory: all errors, defaults from the schema, strict schemas. */
export const ajv = new Ajv({ ...AJV_OPTIONS });

export { formatAjvError, throwAjvErrors } from './ajv-errors.js';

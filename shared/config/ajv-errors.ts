/**
 * Turns ajv's errors into messages naming the field and the fix. Separate from the Ajv instance so
 * that code using precompiled validators (the plugin) does not load the ajv library.
 */
import type { ErrorObject } from 'ajv';
import { InvalidConfigError } from '../errors.js';

/** Turns one ajv error into "field: problem" text. */
export function formatAjvError(e: ErrorObject, root: string): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const field = [root, path].filter(Boolean).join('.');
  switch (e.keyword) {
    case 'required':
      return `${field ? field + '.' : ''}${String(e.params['missingProperty'])} is required`;
    case 'type':
      return `${field || 'value'} must be of type ${String(e.params['type'])}`;
    case 'enum':
      return `${field} must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'additionalProperties':
      return `${field ? field + '.' : ''}${String(e.params['additionalProperty'])} is not a known field`;
    default:
      return `${field || 'value'} ${e.message ?? 'is invalid'}`;
  }
}

/** All errors as one line ("field: problem; …"), for a value that is logged and skipped rather than thrown. */
export function ajvErrorsText(errors: ErrorObject[] | null | undefined, root = ''): string {
  return (errors ?? []).map((e) => formatAjvError(e, root)).join('; ') || 'invalid';
}

/** Throws an InvalidConfigError naming the first field at fault (all faults in the message). */
export function throwAjvErrors(errors: ErrorObject[] | null | undefined, root: string, what: string): never {
  const list = (errors ?? []).map((e) => formatAjvError(e, root));
  const first = errors?.[0];
  const field = first ? [root, first.instancePath.replace(/^\//, '').replace(/\//g, '.')].filter(Boolean).join('.') : root;
  throw new InvalidConfigError(`invalid ${what}: ${list.join('; ')}`, field);
}

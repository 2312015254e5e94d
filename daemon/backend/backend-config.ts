/**
 * A backend's `Backend` object checked against its own schema (validators generated at build time
 * from the backend list) and its descriptor's extra rules: the one check the config parser, the
 * backends and `twilld config put` share.
 */
import { throwAjvErrors } from '../../shared/config/ajv-errors.js';
import { InvalidConfigError } from '../../shared/errors.js';
import { BACKEND_TYPES, type BackendType, backendNamed } from './backends.js';
import { configValidators } from './config-validators.js';

/**
 * A copy of `backend` with the backend's defaults filled in; throws InvalidConfigError naming the
 * field (`Backend.<field>`).
 */
export function parseBackendConfig(type: BackendType, backend: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const d = backendNamed(type);
  if (!d) throw new InvalidConfigError(`Backend.Type ${JSON.stringify(type)} is not supported: use one of ${BACKEND_TYPES.join(', ')}`, 'Backend.Type');
  const copy = { ...backend, Type: type };
  const validate = configValidators[type];
  if (!validate(copy)) throwAjvErrors(validate.errors, 'Backend', `${type} backend config`);
  d.check?.(copy);
  return copy;
}

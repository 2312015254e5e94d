/**
 * Every backend twill has, as one list: the config check, the build's generated validators, the
 * demo's choices and the README test all derive from it. Adding a backend is one folder (its
 * descriptor in index.ts, the implementation beside it) and one line here.
 */
import { InvalidConfigError } from '../../shared/errors.js';
import type { Backend, BackendDeps, BackendDescriptor } from './backend.js';
import { allocBackend } from './alloc/index.js';
import { hostGwBackend } from './host-gw/index.js';
import { udpBackend } from './udp/index.js';
import { vxlanBackend } from './vxlan/index.js';

export const BACKENDS = [vxlanBackend, hostGwBackend, udpBackend, allocBackend] as const;

/** A Backend.Type twill implements. */
export type BackendType = (typeof BACKENDS)[number]['type'];

/** The Backend.Type values, in the list's order. */
export const BACKEND_TYPES: readonly BackendType[] = BACKENDS.map((b) => b.type);

/** The descriptor of `type`, or undefined when twill has no such backend. */
export function backendNamed(type: string): BackendDescriptor<BackendType> | undefined {
  return BACKENDS.find((b) => b.type === type);
}

/** Creates the backend for the config's Backend.Type (loading its implementation). */
export function createBackend(type: BackendType, deps: BackendDeps): Promise<Backend> {
  const d = backendNamed(type);
  if (!d) throw new InvalidConfigError(`Backend.Type ${JSON.stringify(type)} is not supported: use one of ${BACKEND_TYPES.join(', ')}`, 'Backend.Type');
  return d.create(deps);
}

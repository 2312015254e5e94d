/** The alloc backend's description (flannel pkg/backend/alloc): a subnet lease and nothing else. */
import { defineBackend } from '../backend.js';

export const allocBackend = defineBackend({
  type: 'alloc',
  summary: 'leases a subnet and programs nothing (another tool routes between hosts)',
  schema: { type: 'object', properties: { Type: { type: 'string' } }, required: ['Type'], additionalProperties: true },
  programsRoutes: false,
  create: async (deps) => new (await import('./alloc-backend.js')).AllocBackend(deps),
});

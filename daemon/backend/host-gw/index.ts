/** The host-gw backend's description (flannel pkg/backend/hostgw): plain routes via each host's PublicIP. */
import { defineBackend } from '../backend.js';

export const hostGwBackend = defineBackend({
  type: 'host-gw',
  summary: 'no encapsulation: each subnet routed via its host\'s PublicIP (all hosts on one L2 segment)',
  schema: { type: 'object', properties: { Type: { type: 'string' } }, required: ['Type'], additionalProperties: true },
  programsRoutes: true,
  create: async (deps) => new (await import('./host-gw-backend.js')).HostGwBackend(deps),
});

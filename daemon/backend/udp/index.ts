/** The udp backend's description (flannel pkg/backend/udp): TUN device `flannel0` and a userspace relay. */
import { defineBackend } from '../backend.js';
import { udpConfigSchema } from './schema.js';

export const udpBackend = defineBackend({
  type: 'udp',
  summary: 'TUN device flannel0 and a userspace UDP relay, wire-compatible with flannel',
  schema: udpConfigSchema,
  programsRoutes: true,
  create: async (deps) => new (await import('./udp-backend.js')).UdpBackend(deps),
});

/**
 * The udp Backend object (flannel's fields and defaults, pkg/backend/udp), compiled at build time
 * into the backends' config validators.
 */
import type { BackendConfigSchema } from '../backend.js';

/** The checked config, defaults filled in. */
export interface UdpConfig {
  Type: string;
  Port: number;
}

/** flannel's default udp port. */
export const DEFAULT_UDP_PORT = 8285;

export const udpConfigSchema = {
  type: 'object',
  properties: {
    Type: { type: 'string' },
    Port: { type: 'integer', minimum: 1, maximum: 65535, default: DEFAULT_UDP_PORT },
  },
  required: ['Type'],
  additionalProperties: true,
} satisfies BackendConfigSchema;

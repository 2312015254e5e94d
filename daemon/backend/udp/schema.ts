/**
 * The JSON schema of the udp Backend object, compiled at build time into
 * shared/config/validators.js.
 */

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
};

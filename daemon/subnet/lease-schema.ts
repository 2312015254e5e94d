/**
 * The JSON schema of a lease value (flannel's field names), compiled at build time into
 * daemon/config/validators.js.
 */
export const leaseAttrsSchema = {
  type: 'object',
  properties: {
    PublicIP: { type: 'string' },
    BackendType: { type: 'string' },
    BackendData: {},
  },
  required: ['PublicIP'],
  additionalProperties: true,
};

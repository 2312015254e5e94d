/**
 * The JSON schema of a lease value (flannel's field names), compiled at build time into
 * shared/config/validators.js.
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

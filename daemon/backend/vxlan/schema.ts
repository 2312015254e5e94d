/**
 * The JSON schema of the vxlan Backend object (flannel's fields), compiled at build time into
 * shared/config/validators.js.
 */
export const vxlanConfigSchema = {
  type: 'object',
  properties: {
    Type: { type: 'string' },
    VNI: { type: 'integer', minimum: 0, maximum: 16777215, default: 1 },
    Port: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
    GBP: { type: 'boolean', default: false },
    DirectRouting: { type: 'boolean', default: false },
    MTU: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
    MacPrefix: { type: 'string', nullable: true, pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){0,4}$' },
  },
  required: ['Type'],
  additionalProperties: true,
};

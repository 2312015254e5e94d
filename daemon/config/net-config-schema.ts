/**
 * The JSON schema of the network config (flannel's field names, matched without regard to case
 * before validation as Go's encoding/json does; the cross-field rules are in net-config.ts). Compiled at build time into daemon/config/validators.js.
 */
export const netConfigSchema = {
  type: 'object',
  properties: {
    Network: { type: 'string', nullable: true },
    SubnetLen: { type: 'integer', nullable: true, minimum: 0, maximum: 32 },
    SubnetMin: { type: 'string', nullable: true },
    SubnetMax: { type: 'string', nullable: true },
    EnableIPv4: { type: 'boolean', nullable: true },
    EnableIPv6: { type: 'boolean', nullable: true },
    IPv6Network: { type: 'string', nullable: true },
    IPv6SubnetLen: { type: 'integer', nullable: true, minimum: 0, maximum: 128 },
    IPv6SubnetMin: { type: 'string', nullable: true },
    IPv6SubnetMax: { type: 'string', nullable: true },
    EnableNFTables: { type: 'boolean', nullable: true },
    Backend: {
      type: 'object',
      nullable: true,
      properties: { Type: { type: 'string', nullable: true } },
      required: [],
      additionalProperties: true,
    },
  },
  required: [],
  additionalProperties: true,
};

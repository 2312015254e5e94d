/**
 * The vxlan Backend object (flannel's fields and defaults, pkg/backend/vxlan/vxlan.go), compiled
 * at build time into the backends' config validators.
 */
import type { BackendConfigSchema } from '../backend.js';

/** The checked config, defaults filled in. */
export interface VxlanConfig {
  Type: string;
  VNI: number;
  Port: number;
  GBP: boolean;
  DirectRouting: boolean;
  MTU: number;
  MacPrefix?: string;
}

/** The VXLAN UDP port the kernel uses when Port is 0 (flannel's and Linux's 8472). */
export const DEFAULT_VXLAN_PORT = 8472;

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
} satisfies BackendConfigSchema;

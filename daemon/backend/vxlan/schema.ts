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
  /** The underlay MTU, as in flannel: the device gets MTU − 50; 0 means the external interface's. */
  MTU: number;
  /** The kernel learns remote MACs from traffic (flannel's Learning; default off: nolearning). */
  Learning?: boolean;
  /** First bytes of the VTEP MAC, "0e:2a" or flannel's Windows form "0E-2A". */
  MacPrefix?: string;
}

/** What VXLAN over IPv4 adds to each packet: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const VXLAN_OVERHEAD = 50;

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
    Learning: { type: 'boolean', nullable: true },
    MacPrefix: { type: 'string', nullable: true, pattern: '^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){0,4}$' },
  },
  required: ['Type'],
  additionalProperties: true,
} satisfies BackendConfigSchema;

/** The vxlan backend's description (flannel pkg/backend/vxlan): the kernel's VXLAN device `flannel.<VNI>`. */
import { InvalidConfigError } from '../../../shared/errors.js';
import { defineBackend } from '../backend.js';
import { VXLAN_OVERHEAD, vxlanConfigSchema } from './schema.js';

export const vxlanBackend = defineBackend({
  type: 'vxlan',
  summary: 'the kernel\'s VXLAN device flannel.<VNI>, wire-compatible with flannel',
  schema: vxlanConfigSchema,
  programsRoutes: true,
  check: (conf) => {
    const mtu = conf['MTU'] as number;
    // Backend.MTU is the underlay's (flannel): the device gets MTU − 50, and IPv4 needs at least 68.
    if (mtu !== 0 && mtu - VXLAN_OVERHEAD < 68) {
      throw new InvalidConfigError(`Backend.MTU ${mtu} is too small: it is the underlay MTU and the device gets MTU − ${VXLAN_OVERHEAD}, which must be at least 68; use 0 (the interface's MTU) or at least ${68 + VXLAN_OVERHEAD}`, 'Backend.MTU');
    }
  },
  create: async (deps) => new (await import('./vxlan-backend.js')).VxlanBackend(deps),
});

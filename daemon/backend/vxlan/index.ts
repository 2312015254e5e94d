/** The vxlan backend's description (flannel pkg/backend/vxlan): the kernel's VXLAN device `flannel.<VNI>`. */
import { InvalidConfigError } from '../../../shared/errors.js';
import { defineBackend } from '../backend.js';
import { vxlanConfigSchema } from './schema.js';

export const vxlanBackend = defineBackend({
  type: 'vxlan',
  summary: 'the kernel\'s VXLAN device flannel.<VNI>, wire-compatible with flannel',
  schema: vxlanConfigSchema,
  programsRoutes: true,
  check: (conf) => {
    const mtu = conf['MTU'] as number;
    if (mtu !== 0 && mtu < 68) throw new InvalidConfigError(`Backend.MTU ${mtu} is too small: use 0 (automatic) or at least 68`, 'Backend.MTU');
  },
  create: async (deps) => new (await import('./vxlan-backend.js')).VxlanBackend(deps),
});

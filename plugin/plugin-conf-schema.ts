/**
 * The JSON schema of the plugin's config (one conflist entry): types and defaults. The plugin does
 * not compile it at run time: scripts/build.mjs turns it into standalone validator code
 * (dist/plugin/validate-plugin-conf.js), which keeps ajv's compiler out of every pod's start-up.
 */
import { DEFAULT_SOCKET_PATH, MAX_NETWORK_NAME_LENGTH } from '../shared/protocol/api.js';
import { DEFAULT_DATA_DIR } from '../shared/protocol/pending-release.js';

// Characters only: the limit the kernel sets is 15 bytes in UTF-8, which parsePluginConf checks
// (plugin/cni/interface-name.ts) after this schema.
const IFNAME_PATTERN = '^[^/:\\s]{1,15}$';
const attachmentsSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: { containerID: { type: 'string' }, ifname: { type: 'string' } },
    required: ['containerID', 'ifname'],
  },
};

export const pluginConfSchema = {
  type: 'object',
  properties: {
    cniVersion: { type: 'string', default: '0.1.0' },
    name: { type: 'string', minLength: 1, maxLength: MAX_NETWORK_NAME_LENGTH, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$' },
    type: { type: 'string', default: 'twill' },
    socket: { type: 'string', minLength: 1, maxLength: 107, default: DEFAULT_SOCKET_PATH },
    bridge: { type: 'string', pattern: IFNAME_PATTERN, default: 'cni0' },
    mtu: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
    hairpinMode: { type: 'boolean', default: true },
    isDefaultGateway: { type: 'boolean', default: true },
    promiscMode: { type: 'boolean', default: false },
    dataDir: { type: 'string', minLength: 1, default: DEFAULT_DATA_DIR },
    runtimeConfig: { type: 'object' },
    args: { type: 'object' },
    prevResult: { type: 'object' },
    'cni.dev/valid-attachments': attachmentsSchema,
    'cni.dev/attachments': attachmentsSchema,
  },
  required: ['name'],
  additionalProperties: true,
};

/**
 * The network config stored at `<prefix>/config`, with flannel's field names and rules
 * (flannel pkg/subnet/config.go): parse (JSON + schema + defaults) and check (cross-field rules,
 * derived SubnetLen/SubnetMin/SubnetMax, the Backend object against its backend's schema), pure.
 */
import { throwAjvErrors } from '../../shared/config/ajv-errors.js';
import type { Validator } from '../../shared/config/validator.js';
import { DecodeError, InvalidCidrError, InvalidConfigError } from '../../shared/errors.js';
import { canonical, type Cidr, contains, formatCidr, formatIp, maskOf, parseCidr, parseIp, sizeOf } from '../../shared/ip/cidr.js';
import { parseBackendConfig } from '../backend/backend-config.js';
import { BACKEND_TYPES, type BackendType, backendNamed } from '../backend/backends.js';
import { foldKeys } from './go-json-keys.js';
import { netConfigSchema } from './net-config-schema.js';
import { validateNetConfig } from './validators.js';

/** The JSON document as users write it (flannel's names). */
export interface RawNetConfig {
  Network?: string;
  SubnetLen?: number;
  SubnetMin?: string;
  SubnetMax?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  IPv6Network?: string;
  IPv6SubnetLen?: number;
  IPv6SubnetMin?: string;
  IPv6SubnetMax?: string;
  EnableNFTables?: boolean;
  Backend?: { Type?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The checked config with every default filled in. */
export interface NetConfig {
  network: Cidr;
  subnetLen: number;
  subnetMin: number;
  subnetMax: number;
  backendType: BackendType;
  /** The Backend object, checked against its backend's schema, defaults filled in. */
  backend: Record<string, unknown>;
  /** Top-level fields twill does not know (flannel ignores them too); logged as a warning. */
  unknownFields: string[];
}

const KNOWN_FIELDS = new Set(Object.keys(netConfigSchema.properties));

/** Compiled from netConfigSchema at build time (ajv standalone code, daemon/config/validators.js). */
const validateRaw = validateNetConfig as Validator<RawNetConfig>;

/** A JSON object (not an array, not null). */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JSON.parse + schema, keys matched as Go's encoding/json matches them (case-insensitively).
 * Throws DecodeError for bad JSON, InvalidConfigError naming the field.
 */
export function parseNetConfig(text: string): NetConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`network config is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (isObject(raw)) {
    raw = foldKeys(raw, KNOWN_FIELDS);
    const b = (raw as RawNetConfig).Backend;
    if (isObject(b)) (raw as RawNetConfig).Backend = foldKeys(b, ['Type']);
  }
  if (!validateRaw(raw)) throwAjvErrors(validateRaw.errors, '', 'network config');
  return checkNetConfig(raw);
}

function field<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidCidrError) throw new InvalidConfigError(`${name}: ${e.message}`, name, { cause: e });
    throw e;
  }
}

/** Cross-field rules and derived defaults, as flannel's CheckNetworkConfig applies them. */
export function checkNetConfig(raw: RawNetConfig): NetConfig {
  if (raw.EnableIPv4 === false) {
    throw new InvalidConfigError('EnableIPv4: false is not supported: twill is IPv4-only; remove the field or set it to true', 'EnableIPv4');
  }
  if (raw.EnableIPv6 === true) {
    throw new InvalidConfigError('EnableIPv6: IPv6 pod networks are not supported by twill; remove EnableIPv6 and the IPv6* fields', 'EnableIPv6');
  }
  if (raw.Network === undefined || raw.Network === '') {
    throw new InvalidConfigError('Network is required: set it to the IPv4 CIDR of the pod network, e.g. "10.5.0.0/16"', 'Network');
  }
  const parsed = field('Network', () => parseCidr(raw.Network!));
  const network = canonical(parsed);

  let subnetLen: number;
  if (raw.SubnetLen !== undefined && raw.SubnetLen > 0) {
    subnetLen = raw.SubnetLen;
    if (subnetLen > 30) throw new InvalidConfigError(`SubnetLen /${subnetLen} is too long: it must be /30 or shorter (each host needs a gateway and pods)`, 'SubnetLen');
    if (subnetLen < network.prefix + 2) {
      throw new InvalidConfigError(
        `SubnetLen /${subnetLen} does not fit Network ${formatCidr(network)} at least four times: use /${network.prefix + 2} or longer`, 'SubnetLen');
    }
  } else {
    if (network.prefix > 28) {
      throw new InvalidConfigError(`Network ${formatCidr(network)} is too small: the minimum useful network prefix is /28`, 'Network');
    }
    subnetLen = network.prefix <= 22 ? 24 : network.prefix + 2;
  }

  const size = sizeOf(subnetLen);
  const mask = maskOf(subnetLen);
  const subnetMin = raw.SubnetMin ? field('SubnetMin', () => parseIp(raw.SubnetMin!)) : (network.ip + size) >>> 0;
  const subnetMax = raw.SubnetMax ? field('SubnetMax', () => parseIp(raw.SubnetMax!)) : (network.ip + sizeOf(network.prefix) - size) >>> 0;
  for (const [name, v] of [['SubnetMin', subnetMin], ['SubnetMax', subnetMax]] as const) {
    if (!contains(network, v)) throw new InvalidConfigError(`${name} ${formatIp(v)} is not in Network ${formatCidr(network)}`, name);
    if (((v & mask) >>> 0) !== v) {
      throw new InvalidConfigError(`${name} ${formatIp(v)} is not on a /${subnetLen} boundary: use ${formatIp((v & mask) >>> 0)}`, name);
    }
  }
  if (subnetMin > subnetMax) {
    throw new InvalidConfigError(`SubnetMin ${formatIp(subnetMin)} is after SubnetMax ${formatIp(subnetMax)}: swap them`, 'SubnetMin');
  }

  const written = (raw.Backend ?? {}) as Record<string, unknown>;
  // flannel: no Backend at all means udp (pkg/subnet/config.go parseBackendType).
  const type = raw.Backend === undefined ? 'udp' : written['Type'];
  const descriptor = typeof type === 'string' ? backendNamed(type) : undefined;
  if (!descriptor) {
    throw new InvalidConfigError(
      `Backend.Type ${JSON.stringify(type ?? null)} is not supported: use one of ${BACKEND_TYPES.join(', ')}`, 'Backend.Type');
  }
  const backendType: BackendType = descriptor.type;
  const backend = parseBackendConfig(backendType, foldKeys(written, Object.keys(descriptor.schema.properties)));
  const unknownFields = Object.keys(raw).filter((k) => !KNOWN_FIELDS.has(k));
  return { network, subnetLen, subnetMin, subnetMax, backendType, backend, unknownFields };
}

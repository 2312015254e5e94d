/**
 * The plugin's network config (one conflist entry) and the per-attachment arguments taken from
 * runtimeConfig (keys matched case-insensitively, as Go's JSON decoding does), args.cni and
 * CNI_ARGS. Validation errors are CNI code 7 naming the field; unknown fields are ignored.
 */
import type { ErrorObject } from 'ajv';
import { throwAjvErrors } from '../shared/config/ajv-errors.js';
import { CNI_ERR, CniError } from './cni/cni-error.js';
import { interfaceNameProblem } from './cni/interface-name.js';
import { isIp } from '../shared/ip/cidr.js';
import { isMac } from '../shared/net/mac.js';
import validatePluginConf from './validate-plugin-conf.js';

export interface PluginConf {
  cniVersion: string;
  name: string;
  type: string;
  socket: string;
  bridge: string;
  /** 0: the MTU of the daemon's lease. */
  mtu: number;
  hairpinMode: boolean;
  isDefaultGateway: boolean;
  promiscMode: boolean;
  dataDir: string;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  prevResult?: unknown;
  'cni.dev/valid-attachments'?: Array<{ containerID: string; ifname: string }>;
  'cni.dev/attachments'?: Array<{ containerID: string; ifname: string }>;
}

/** Checks a decoded config; compiled from pluginConfSchema at build time (ajv standalone code). */
const validate = validatePluginConf as ((x: unknown) => x is PluginConf) & { errors?: ErrorObject[] | null };

/** Validates a decoded config object and applies defaults (in place). */
export function parsePluginConf(raw: unknown): PluginConf {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(CNI_ERR.DECODE, 'network config must be a JSON object');
  }
  if (!validate(raw)) {
    try {
      throwAjvErrors(validate.errors, '', 'network config');
    } catch (e) {
      throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, (e as Error).message);
    }
  }
  const bridgeProblem = interfaceNameProblem(raw.bridge);
  if (bridgeProblem) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `invalid network config: bridge ${JSON.stringify(raw.bridge)} ${bridgeProblem}`);
  if (raw.mtu !== 0 && raw.mtu < 68) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `invalid network config: mtu ${raw.mtu} is too small: use 0 (from the lease) or at least 68`);
  return raw;
}

/** Case-insensitive lookup of a runtimeConfig key. */
export function runtimeKey(conf: PluginConf, key: string): unknown {
  const rc = conf.runtimeConfig ?? {};
  const k = Object.keys(rc).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : rc[k];
}

/** What a runtime may ask of one attachment. */
export interface AttachmentArgs {
  mac?: string;
  /** Requested pod address, without prefix. */
  ip?: string;
}

/** Capabilities twill does not implement: declaring them on twill is a configuration mistake. */
const UNSUPPORTED_CAPS = ['portMappings', 'bandwidth', 'ipRanges', 'dns', 'aliases', 'infinibandGUID', 'deviceID'];

/** Parses CNI_ARGS ("K=V;K2=V2"): MAC and IP are used, K8S_POD_* ignored, others need IgnoreUnknown. */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const pair of text.split(';')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERR.INVALID_ENV, `CNI_ARGS: "${pair}" is not KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const ignoreUnknown = /^(1|true)$/i.test(out['IgnoreUnknown'] ?? '');
  for (const k of Object.keys(out)) {
    if (['IgnoreUnknown', 'MAC', 'IP'].includes(k) || k.startsWith('K8S_POD_') || ignoreUnknown) continue;
    throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, `CNI_ARGS: unknown key ${k}`, 'twill understands MAC and IP; add IgnoreUnknown=1 to pass other keys');
  }
  return out;
}

/** Collects the attachment arguments: runtimeConfig, then args.cni, then CNI_ARGS. */
export function attachmentArgs(conf: PluginConf, cniArgs: Record<string, string>): AttachmentArgs {
  for (const cap of UNSUPPORTED_CAPS) {
    const v = runtimeKey(conf, cap);
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && Object.keys(v).length === 0)) {
      throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, `runtimeConfig.${cap} is not supported by twill`,
        cap === 'portMappings' ? 'chain the portmap plugin after twill in the conflist' : 'remove the capability from twill\'s conflist entry');
    }
  }
  const cniSection = ((conf.args ?? {})['cni'] ?? {}) as Record<string, unknown>;
  const macSrc = runtimeKey(conf, 'mac') ?? cniSection['mac'] ?? cniArgs['MAC'];
  const ipsSrc = runtimeKey(conf, 'ips') ?? cniSection['ips'] ?? (cniArgs['IP'] ? [cniArgs['IP']] : undefined);
  const out: AttachmentArgs = {};
  if (macSrc !== undefined && macSrc !== '') {
    if (!isMac(macSrc)) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `mac ${JSON.stringify(macSrc)} is not a MAC address like c2:11:22:33:44:55`);
    out.mac = macSrc.toLowerCase();
  }
  if (ipsSrc !== undefined) {
    const list = Array.isArray(ipsSrc) ? ipsSrc : [ipsSrc];
    if (list.length > 1) throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, `ips: twill gives a pod one IPv4 address, ${list.length} were requested`);
    if (list.length === 1) {
      const ip = String(list[0]).split('/')[0]!;
      if (!isIp(ip)) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `ips: ${JSON.stringify(list[0])} is not an IPv4 address`);
      out.ip = ip;
    }
  }
  return out;
}

/**
 * What twill adds to the host's kernel besides the pods: the backend's devices, routes and
 * entries, and the masquerade rules (--ip-masq). Removed on a clean stop with --cleanup-on-exit;
 * the lease is kept either way.
 */
import { describeError } from '../shared/errors.js';
import type { Cidr } from '../shared/ip/cidr.js';
import type { Backend } from './backend/backend.js';
import type { Logger } from './logger.js';
import { applyMasquerade, detectMasqMode, type MasqMode, removeMasquerade } from './masq/masquerade.js';

/** The backend and the masquerade rules, as installed on this host. */
export class DataPlane {
  /** How the masquerade rules were installed; null while they are not. */
  private masqMode: MasqMode | null = null;

  constructor(readonly backend: Backend, private readonly log: Logger) {}

  /** Installs the masquerade rules for our subnet ('auto': nftables when the nft tool works, else iptables). */
  async masquerade(mode: MasqMode | 'auto', network: Cidr, subnet: Cidr): Promise<void> {
    const m = mode === 'auto' ? await detectMasqMode() : mode;
    await applyMasquerade(m, network, subnet);
    this.masqMode = m;
    this.log.info({ mode: m }, 'masquerade rules applied');
  }

  /**
   * Removes the masquerade rules (when installed) and what the backend programmed. What cannot be
   * removed is logged as a warning; "removed" is logged only when everything was.
   */
  async remove(): Promise<void> {
    const attempt = (what: string, step: () => Promise<void>): Promise<boolean> => step().then(
      () => true,
      (e: unknown) => (this.log.warn({ err: describeError(e) }, `cannot remove ${what}`), false),
    );
    const masq = this.masqMode;
    const rules = masq ? await attempt('masquerade rules', () => removeMasquerade(masq)) : true;
    const plane = await attempt('the data plane', () => this.backend.teardown());
    if (rules && plane) this.log.info({}, 'data plane and rules removed');
  }
}

/**
 * Deletes the host veths of pods for the plugin's DEL (POST /v1/attachments/delete). The kernel
 * unlists a link at once but returns from the deleting system call only once the device is freed,
 * an RCU grace period later (~20 ms here): this daemon waits for that on a thread of Node's pool,
 * and the plugin only until the link is unlisted (see shared/protocol/api.ts).
 */
import { describeError } from '../shared/errors.js';
import { netnsId } from '../shared/net/netns-id.js';
import { ENODEV } from '../shared/native/constants.js';
import { delLink, getLink, parseLink } from '../shared/netlink/link.js';
import { RtNetlink } from '../shared/netlink/rtnetlink.js';
import type { Logger } from './logger.js';

/**
 * Deletions under way at most: each holds a thread of the pool or a queued call (koffi refuses
 * more than 256). Past it (a mass eviction) the plugins delete their veths themselves.
 */
export const MAX_DELETIONS = 64;

export class LinkDeleter {
  private readonly netns = netnsId();
  /** Deletions under way, for `settle`. */
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly log: Logger) {}

  /**
   * Starts deleting veth `name` when the caller's namespace `callerNetns` is this one and it has
   * such a veth, and fewer than MAX_DELETIONS are under way; returns at once. `deleting: false`
   * means the caller must delete it (or that it is gone).
   */
  delete(callerNetns: string, name: string): { deleting: true; index: number } | { deleting: false } {
    if (this.running.size >= MAX_DELETIONS) return { deleting: false };
    if (callerNetns !== this.netns) {
      this.log.warn({ link: name, callerNetns, netns: this.netns }, 'link deletion refused: the caller is in another network namespace');
      return { deleting: false };
    }
    const nl = new RtNetlink();
    let index: number;
    try {
      const [found] = nl.transact([(w) => getLink(w, name)]);
      const link = found!.errno ? null : parseLink(found!.messages[0]!.payload);
      // Pods' host sides only: never the bridge, the VXLAN device or the host's own interfaces.
      if (link?.kind !== 'veth') {
        nl.close();
        return { deleting: false };
      }
      index = link.index;
    } catch (e) {
      nl.close();
      throw e;
    }
    const started = performance.now();
    const done: Promise<void> = nl.requestOffThread((w) => delLink(w, index)).then(
      (errno) => {
        const ms = Math.round(performance.now() - started);
        if (errno === 0 || errno === ENODEV) this.log.info({ link: name, index, ms }, 'link deleted');
        else this.log.warn({ link: name, index, errno }, 'link deletion failed');
      },
      (e: unknown) => this.log.warn({ link: name, index, err: describeError(e) }, 'link deletion failed'),
    ).finally(() => {
      nl.close();
      this.running.delete(done);
    });
    this.running.add(done);
    return { deleting: true, index };
  }

  /** Resolves once every deletion started has ended (for a clean stop). */
  async settle(): Promise<void> {
    await Promise.all([...this.running]);
  }
}

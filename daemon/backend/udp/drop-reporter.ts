/** Dropped packets, reported to the daemon at once, then at most once per interval per reason, with a count. */
import { formatIp } from '../../../shared/ip/cidr.js';
import { destinationOf, isIpv4, sourceOf } from './ip-packet.js';
import type { DropReason, FromWorker } from './relay-protocol.js';

/** How often one reason is reported at most. */
const REPORT_INTERVAL_MS = 10_000;

export class DropReporter {
  private readonly unreported = new Map<DropReason, number>();
  private readonly lastReport = new Map<DropReason, number>();

  constructor(private readonly post: (m: FromWorker) => void) {}

  /** One packet dropped (the one at `buf[off..off+len)`; `sender` 0: it came from the TUN device). */
  drop(reason: DropReason, sender: number, buf: Buffer, off: number, len: number): void {
    if (reason === 'not-ipv4') return;
    const n = (this.unreported.get(reason) ?? 0) + 1;
    const now = Date.now();
    if (now - (this.lastReport.get(reason) ?? 0) < REPORT_INTERVAL_MS) {
      this.unreported.set(reason, n);
      return;
    }
    const hasIp = isIpv4(buf, len, off);
    const src = hasIp ? formatIp(sourceOf(buf, off)) : '';
    const dst = hasIp ? formatIp(destinationOf(buf, off)) : '';
    this.post({ type: 'dropped', reason, count: n, from: sender ? formatIp(sender) : 'tun', src, dst });
    this.unreported.set(reason, 0);
    this.lastReport.set(reason, now);
  }
}

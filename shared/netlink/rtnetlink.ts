/**
 * An rtnetlink socket: what `ip` does, without a child process or text in between. The daemon
 * writes routes, neighbour and FDB entries through one (`apply`: many requests per system call,
 * each acknowledged; its reads stay with iproute2, ip-command.ts); the CNI plugin makes and reads
 * links, addresses and routes through one per namespace (`transact`), the pod's opened by
 * entering its namespace just for the socket(2) call (`inNetns`).
 */
import { closeSync, openSync } from 'node:fs';
import { KernelError } from '../errors.js';
import {
  bind, close, CLONE_NEWNET, EAGAIN, EINTR, errno, ifNameToIndex, recv, send, sendOffThread, setIntOption, setns, setTimeouts, SOCK_CLOEXEC,
  SOL_SOCKET, socket, sysError,
} from '../native/libc.js';
import { isLinkGone } from './link-messages.js';
import { NLMSG_DONE, NLMSG_ERROR, type NlMessage, splitMessages } from './nl-message.js';
import { encodeChange, ENODEV, MAX_REQUEST_BYTES, type NetlinkChange } from './rtnl-messages.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const SO_RCVBUFFORCE = 33;
const RTMGRP_LINK = 1;
const MSG_DONTWAIT = 0x40;

/** Requests per send: their acknowledgements must fit the receive buffer. */
const CHUNK = 256;

/** The kernel's answer to one request of `transact`: its errno (0: done) and any data messages. */
export interface NlAnswer {
  errno: number;
  messages: NlMessage[];
}

/** The errno an NLMSG_ERROR (0: an acknowledgement) or NLMSG_DONE message carries. */
function errnoOf(m: NlMessage): number {
  return m.payload.length >= 4 ? 0 - m.payload.readInt32LE(0) || 0 : 0;
}

export class RtNetlink {
  private readonly fd: number;
  private seq = 1;
  private readonly buf = Buffer.allocUnsafe(256 * 1024);
  /** apply's request buffer (the plugin's sockets never need it). */
  private out: Buffer | null = null;

  /** An rtnetlink socket in the network namespace at `path` (a CNI_NETNS-style path). */
  static inNetns(path: string, o: { linkEvents?: boolean } = {}): RtNetlink {
    const own = openSync('/proc/thread-self/ns/net', 'r');
    let target = -1;
    try {
      target = openSync(path, 'r');
      if (setns(target, CLONE_NEWNET) < 0) throw sysError(`cannot enter the network namespace ${path}`);
      try {
        return new RtNetlink(o); // a socket stays in the namespace it was made in
      } finally {
        // Nothing else runs on this thread in between (all synchronous), and it must not stay there.
        if (setns(own, CLONE_NEWNET) < 0) {
          process.stderr.write(`twill: cannot return to the original network namespace: ${sysError('setns').message}\n`);
          process.exit(70);
        }
      }
    } finally {
      if (target >= 0) closeSync(target);
      closeSync(own);
    }
  }

  /**
   * `linkEvents`: the socket also receives the kernel's notifications of links appearing, changing
   * and going in its namespace (for `waitLinkGone`).
   */
  constructor(o: { linkEvents?: boolean } = {}) {
    const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw sysError('cannot open an rtnetlink socket');
    const addr = Buffer.alloc(12); // struct sockaddr_nl
    addr.writeUInt16LE(AF_NETLINK, 0);
    if (o.linkEvents) addr.writeUInt32LE(RTMGRP_LINK, 8);
    if (bind(fd, addr, addr.length) < 0) {
      const e = errno();
      close(fd);
      throw sysError('cannot bind the rtnetlink socket', e);
    }
    setIntOption(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1); // acks without a copy of the request
    setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20);
    setTimeouts(fd, 5000, 'receive'); // a lost ack must not hang the daemon
    this.fd = fd;
  }

  /**
   * Applies the changes in order and returns each one's errno (0: done). Yields to the event loop
   * between chunks, so thousands of changes do not stall the daemon's other work.
   */
  async apply(changes: readonly NetlinkChange[]): Promise<number[]> {
    const results = new Array<number>(changes.length).fill(0);
    const ifindex = new Map<string, number>();
    const out = (this.out ??= Buffer.allocUnsafe(CHUNK * MAX_REQUEST_BYTES));
    for (let start = 0; start < changes.length; start += CHUNK) {
      if (start > 0) await new Promise((r) => setImmediate(r));
      let len = 0;
      const pending = new Map<number, number>();
      for (let i = start; i < Math.min(changes.length, start + CHUNK); i++) {
        const dev = changes[i]!.op.dev;
        let idx = ifindex.get(dev);
        if (idx === undefined) ifindex.set(dev, (idx = ifNameToIndex(dev)));
        if (idx === 0) {
          results[i] = ENODEV;
          continue;
        }
        const seq = this.seq++;
        pending.set(seq, i);
        len += encodeChange(changes[i]!, seq, idx, out, len);
      }
      if (len === 0) continue;
      this.send(out.subarray(0, len));
      while (pending.size > 0) {
        for (const m of this.receive()) {
          const i = pending.get(m.seq);
          if (i === undefined || m.type !== NLMSG_ERROR) continue;
          results[i] = errnoOf(m);
          pending.delete(m.seq);
        }
      }
    }
    return results;
  }

  /**
   * Sends the requests in one system call and waits for each one's end: its acknowledgement or
   * error, or for a dump the end of it. At most one dump per call (the kernel runs one at a time
   * per socket). Synchronous: each call is a few kernel operations.
   */
  transact(requests: readonly Buffer[]): NlAnswer[] {
    const answers = requests.map((): NlAnswer => ({ errno: 0, messages: [] }));
    const pending = new Map<number, NlAnswer>();
    const out = Buffer.concat(requests);
    for (let i = 0, off = 0; i < requests.length; off += requests[i]!.length, i++) {
      const seq = this.seq++;
      out.writeUInt32LE(seq >>> 0, off + 8);
      pending.set(seq, answers[i]!);
    }
    this.send(out);
    while (pending.size > 0) {
      for (const m of this.receive()) {
        const a = pending.get(m.seq);
        if (!a) continue;
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
          a.errno = errnoOf(m);
          pending.delete(m.seq);
        } else {
          a.messages.push({ ...m, payload: Buffer.from(m.payload) });
        }
      }
    }
    return answers;
  }

  /**
   * Sends one request from a thread of Node's pool and resolves to its errno (0: done), for a
   * request whose system call blocks long (a link's deletion returns only once the kernel has
   * freed the device). Nothing else may use this socket meanwhile.
   */
  async requestOffThread(request: Buffer): Promise<number> {
    const seq = this.seq++;
    request.writeUInt32LE(seq >>> 0, 8);
    const n = await sendOffThread(this.fd, request, request.length, 0);
    if (n < 0) throw new KernelError('rtnetlink send failed');
    // The kernel acknowledges within the same system call: the answer is already queued (this
    // runs on the caller's thread, which must not block).
    for (;;) for (const m of this.receive(MSG_DONTWAIT)) if (m.seq === seq && m.type === NLMSG_ERROR) return errnoOf(m);
  }

  /**
   * For a socket made with `linkEvents`, subscribed before the link could go: waits until the
   * kernel announces that link `index` is gone (isLinkGone), at most `ms`. False when no such
   * notification came in time, or some were lost (the socket's buffer overflowed).
   */
  waitLinkGone(index: number, ms: number): boolean {
    const deadline = Date.now() + ms; // not performance.now(): its first use loads ~1.5 ms of Node's code
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      setTimeouts(this.fd, left, 'receive');
      const n = recv(this.fd, this.buf, this.buf.length, 0);
      if (n < 0 && errno() === EINTR) continue;
      if (n < 0) return false; // EAGAIN: time is up; ENOBUFS: notifications were lost
      if (splitMessages(this.buf.subarray(0, n)).some((m) => isLinkGone(m, index))) return true;
    }
  }

  private send(b: Buffer): void {
    if (send(this.fd, b, b.length, 0) < 0) throw sysError('rtnetlink send');
  }

  /** The messages of one datagram from the kernel (views into the receive buffer, valid until the next call). */
  private receive(flags = 0): NlMessage[] {
    const n = recv(this.fd, this.buf, this.buf.length, flags);
    if (n < 0) throw sysError(errno() === EAGAIN ? `rtnetlink: no answer${flags & MSG_DONTWAIT ? '' : ' within 5 s'}` : 'rtnetlink recv');
    return splitMessages(this.buf.subarray(0, n));
  }

  close(): void {
    close(this.fd);
  }
}

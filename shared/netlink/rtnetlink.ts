/**
 * An rtnetlink socket: what `ip` and `bridge` do, without a child process or text in between. Its
 * requests are written by the functions of link.ts, addr.ts, route.ts and neigh.ts into the
 * socket's one NlWriter. The daemon makes its many route, neighbour and FDB changes with `apply`
 * (many requests per system call, no allocation per request) and its reads with `dump`; the CNI
 * plugin makes and reads links, addresses and routes with `transact`/`perform`, the pod's socket
 * opened by entering its namespace just for the socket(2) call (`inNetns`).
 */
import { closeSync, openSync } from 'node:fs';
import { KernelError, LinkNotFoundError } from '../errors.js';
import {
  AF_NETLINK, CLONE_NEWNET, EAGAIN, EINTR, ENODEV, MSG_DONTWAIT, SO_RCVBUFFORCE, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET,
} from '../native/constants.js';
import { bind, close, errno, recv, send, sendOffThread, setIntOption, setns, setTimeouts, socket, sysError } from '../native/libc.js';
import { exitUnsafe } from '../native/native-exit.js';
import { isLinkGone } from './link.js';
import { encode, errnoOf, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, type NlMessage, NlWriter, type Request, splitMessages } from './message.js';

const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const RTMGRP_LINK = 1;

/** Requests per send in `apply`: their acknowledgements must fit the receive buffer. */
const CHUNK = 256;

/** The kernel's answer to one request of `transact`: its errno (0: done) and any data messages. */
export interface NlAnswer {
  errno: number;
  messages: NlMessage[];
}

/** A request the kernel refused, as a typed error: LinkNotFoundError for ENODEV, else a KernelError with the errno. */
export function refusal(what: string, e: number): KernelError | LinkNotFoundError {
  const err = sysError(what, e);
  return e === ENODEV ? new LinkNotFoundError(err.message) : err;
}

/** One rtnetlink socket (in the namespace it was made in) and the requests it carries. */
export class RtNetlink {
  private readonly fd: number;
  private seq = 1;
  private readonly buf = Buffer.allocUnsafe(256 * 1024);
  private writer: NlWriter | null = null;

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
        if (setns(own, CLONE_NEWNET) < 0) exitUnsafe(`cannot return to the original network namespace: ${sysError('setns').message}`);
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

  /** The socket's writer, emptied. */
  private requests(): NlWriter {
    return (this.writer ??= new NlWriter()).reset();
  }

  /** Numbers the request written at `at` (its sequence number); returns the number. */
  private number(w: NlWriter, at: number): number {
    const seq = this.seq++ >>> 0;
    w.u32At(at + 8, seq);
    return seq;
  }

  /**
   * Makes `count` changes and returns each one's errno (0: done), writing change `i` with
   * `write(w, i)`, which returns 0, or an errno to record for a change it did not write (its device
   * is gone, say). Requests go CHUNK to a system call into one reused buffer, and the event loop
   * runs between chunks, so thousands of changes neither allocate per change nor stall the daemon.
   * Nothing is awaited while requests are outstanding: other users of the socket may run in between.
   */
  async apply(count: number, write: (w: NlWriter, i: number) => number): Promise<Int32Array> {
    const results = new Int32Array(count);
    const index = new Int32Array(CHUNK);
    const answered = new Uint8Array(CHUNK);
    for (let start = 0; start < count; start += CHUNK) {
      if (start > 0) await new Promise((r) => setImmediate(r));
      const w = this.requests();
      const first = this.seq >>> 0;
      let sent = 0;
      for (let i = start; i < Math.min(count, start + CHUNK); i++) {
        const at = w.length;
        const skipped = write(w, i);
        if (skipped) {
          results[i] = skipped;
          continue;
        }
        this.number(w, at);
        index[sent++] = i;
      }
      if (sent === 0) continue;
      answered.fill(0);
      this.send(w.view());
      for (let left = sent; left > 0;) {
        const n = this.recvInto(0);
        for (let off = 0; off + NLMSG_HDRLEN <= n;) {
          const len = this.buf.readUInt32LE(off);
          if (len < NLMSG_HDRLEN || off + len > n) break;
          const k = (this.buf.readUInt32LE(off + 8) - first) >>> 0;
          if (this.buf.readUInt16LE(off + 4) === NLMSG_ERROR && k < sent && !answered[k]) {
            answered[k] = 1;
            results[index[k]!] = errnoOf(this.buf, off + NLMSG_HDRLEN, off + len);
            left--;
          }
          off += (len + 3) & ~3;
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
  transact(requests: readonly Request[]): NlAnswer[] {
    if (requests.length === 0) return [];
    const answers = requests.map((): NlAnswer => ({ errno: 0, messages: [] }));
    const pending = new Map<number, NlAnswer>();
    const w = this.requests();
    requests.forEach((request, i) => {
      const at = w.length;
      request(w);
      pending.set(this.number(w, at), answers[i]!);
    });
    this.send(w.view());
    while (pending.size > 0) {
      for (const m of this.receive()) {
        const a = pending.get(m.seq);
        if (!a) continue;
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
          a.errno = errnoOf(m.payload);
          pending.delete(m.seq);
        } else {
          a.messages.push({ ...m, payload: Buffer.from(m.payload) });
        }
      }
    }
    return answers;
  }

  /** `transact`, throwing `refusal(what)` for the first request the kernel refused; each request comes with what it does. */
  perform(requests: ReadonlyArray<readonly [what: string, request: Request]>): NlAnswer[] {
    const answers = this.transact(requests.map(([, r]) => r));
    answers.forEach((a, i) => {
      if (a.errno) throw refusal(requests[i]![0], a.errno);
    });
    return answers;
  }

  /**
   * Sends one dump request and hands each message of the answer to `each` (its payload a view,
   * valid during the call only, so a big dump is not copied); throws `refusal(what)` when the
   * kernel refuses it. Synchronous.
   */
  dump(what: string, request: Request, each: (m: NlMessage) => void): void {
    const w = this.requests();
    request(w);
    const seq = this.number(w, 0);
    this.send(w.view());
    for (;;) {
      for (const m of this.receive()) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
          const e = errnoOf(m.payload);
          if (e) throw refusal(what, e);
          return;
        }
        each(m);
      }
    }
  }

  /**
   * Sends one request from a thread of Node's pool and resolves to its errno (0: done), for a
   * request whose system call blocks long (a link's deletion returns only once the kernel has
   * freed the device). Nothing else may use this socket meanwhile.
   */
  async requestOffThread(request: Request): Promise<number> {
    const b = encode(request);
    const seq = this.seq++ >>> 0;
    b.writeUInt32LE(seq, 8);
    const n = await sendOffThread(this.fd, b, b.length, 0);
    if (n < 0) throw new KernelError('rtnetlink send failed');
    // The kernel acknowledges within the same system call: the answer is already queued (this
    // runs on the caller's thread, which must not block).
    for (;;) for (const m of this.receive(MSG_DONTWAIT)) if (m.seq === seq && m.type === NLMSG_ERROR) return errnoOf(m.payload);
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

  /** Receives one datagram from the kernel into the receive buffer; returns its length. */
  private recvInto(flags: number): number {
    const n = recv(this.fd, this.buf, this.buf.length, flags);
    if (n < 0) throw sysError(errno() === EAGAIN ? `rtnetlink: no answer${flags & MSG_DONTWAIT ? '' : ' within 5 s'}` : 'rtnetlink recv');
    return n;
  }

  /** The messages of one datagram from the kernel (views into the receive buffer, valid until the next call). */
  private receive(flags = 0): NlMessage[] {
    return splitMessages(this.buf.subarray(0, this.recvInto(flags)));
  }

  /** Closes the socket. */
  close(): void {
    close(this.fd);
  }
}

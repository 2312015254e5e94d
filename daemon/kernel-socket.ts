/**
 * The daemon's rtnetlink socket: one for all its kernel reads and writes (interfaces, the VXLAN
 * device, addresses, routes, neighbour and FDB entries), opened on first use, so the C library
 * (koffi) loads only then. Sharing it is safe: every use finishes its exchange before it yields
 * (RtNetlink.apply awaits only between chunks, with no request outstanding).
 */
import type { RtNetlink } from '../shared/netlink/rtnetlink.js';

/** The socket, with the C library calls that go with it. */
export interface KernelSocket {
  nl: RtNetlink;
  /** The ifindex of a device (0: there is none). */
  ifNameToIndex(name: string): number;
  /** An errno's text ("No such device"). */
  describeErrno(errno: number): string;
}

let socket: Promise<KernelSocket> | null = null;

/** The daemon's socket, opened on first call. */
export function kernelSocket(): Promise<KernelSocket> {
  return (socket ??= Promise.all([import('../shared/netlink/rtnetlink.js'), import('../shared/native/libc.js')])
    .then(([m, libc]) => ({ nl: new m.RtNetlink(), ifNameToIndex: libc.ifNameToIndex, describeErrno: libc.describeErrno }))
    .catch((e: unknown) => {
      socket = null; // the next call tries again
      throw e;
    }));
}

/**
 * Linux's numbers for the system calls twill makes (linux/socket.h, sched.h,
 * asm-generic/errno-base.h), each defined here once. Pure: code that only builds or reads messages
 * (and the plugin before it needs native calls) can use them without loading the C library.
 */

/** Address families (also the family of an rtnetlink object: a route's, an address's, a neighbour's). */
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_NETLINK = 16;

/** Socket types and their flags. */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

/** Socket option levels and options. */
export const SOL_SOCKET = 1;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;

/** send/recv flags. */
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;

/** setns(2): a network namespace. */
export const CLONE_NEWNET = 0x40000000;

/** errno values. */
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EAGAIN = 11;
export const EEXIST = 17;
export const ENODEV = 19;

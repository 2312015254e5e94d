/**
 * Linux's numbers for the system calls twill makes (linux/socket.h, sched.h,
 * asm-generic/errno-base.h), each defined here once. Pure: code that only builds or reads messages
 * (and the plugin before it needs native calls) can use them without loading the C library.
 */

/** Address family: none (also a link's family in rtnetlink). */
export const AF_UNSPEC = 0;
/** Address family: Unix sockets. */
export const AF_UNIX = 1;
/** Address family: IPv4 (also the family of an IPv4 route, address or neighbour). */
export const AF_INET = 2;
/** Address family: bridges (in rtnetlink, the family of forwarding database entries). */
export const AF_BRIDGE = 7;
/** Address family: netlink. */
export const AF_NETLINK = 16;

/** Socket type: a byte stream. */
export const SOCK_STREAM = 1;
/** Socket type: datagrams. */
export const SOCK_DGRAM = 2;
/** Socket type: raw (netlink). */
export const SOCK_RAW = 3;
/** socket(2) flag: non-blocking. */
export const SOCK_NONBLOCK = 0o4000;
/** socket(2) flag: closed on exec. */
export const SOCK_CLOEXEC = 0o2000000;

/** Socket option level: the socket itself. */
export const SOL_SOCKET = 1;
/** Send buffer size, beyond the system's limit (needs CAP_NET_ADMIN). */
export const SO_SNDBUFFORCE = 32;
/** Receive buffer size, beyond the system's limit (needs CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
/** Receive timeout (struct timeval). */
export const SO_RCVTIMEO = 20;
/** Send timeout (struct timeval). */
export const SO_SNDTIMEO = 21;

/** send/recv flag: do not block. */
export const MSG_DONTWAIT = 0x40;
/** send flag: no SIGPIPE when the peer is gone. */
export const MSG_NOSIGNAL = 0x4000;

/** setns(2): a network namespace. */
export const CLONE_NEWNET = 0x40000000;

/** errno: no such file or entry (a route that is not there). */
export const ENOENT = 2;
/** errno: no such process (a neighbour entry that is not there). */
export const ESRCH = 3;
/** errno: interrupted system call. */
export const EINTR = 4;
/** errno: try again (a timeout on a socket with SO_RCVTIMEO). */
export const EAGAIN = 11;
/** errno: it exists. */
export const EEXIST = 17;
/** errno: no such device. */
export const ENODEV = 19;
/** errno: I/O error (a UDP GSO send on a route that cannot segment it). */
export const EIO = 5;
/** errno: invalid argument. */
export const EINVAL = 22;
/** errno: no buffer space available. */
export const ENOBUFS = 105;

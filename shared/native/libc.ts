/**
 * The C library calls twill makes that Node has no API for (ioctl, raw sockets: netlink, a UDP
 * socket read without allocating, setns), through koffi. Loaded lazily by whoever needs native
 * calls; the numbers they take are in constants.ts. In the single executables koffi's library
 * comes from native-addon.ts.
 */
import koffi from 'koffi';
import { KernelError } from '../errors.js';
import { SO_RCVTIMEO, SO_SNDTIMEO, SOL_SOCKET } from './constants.js';
import { registerNativeExit } from './native-exit.js';

const libc = koffi.load('libc.so.6');

type Fn<A extends unknown[]> = (...args: A) => number;

export const read = libc.func('long read(int fd, void *buf, unsigned long count)') as Fn<[number, Buffer, number]>;
export const write = libc.func('long write(int fd, const void *buf, unsigned long count)') as Fn<[number, Buffer, number]>;
const sendFn = libc.func('long send(int fd, const void *buf, unsigned long len, int flags)');
export const send = sendFn as Fn<[number, Buffer, number, number]>;
/**
 * send(2) from a thread of Node's pool (koffi's async call): for a system call that blocks long
 * while nothing else must wait for it. Resolves to its result (negative: it failed).
 */
export function sendOffThread(fd: number, buf: Buffer, len: number, flags: number): Promise<number> {
  return new Promise((resolve, reject) => {
    sendFn.async(fd, buf, len, flags, (err: unknown, n: number) => (err ? reject(err) : resolve(n)));
  });
}
export const recv = libc.func('long recv(int fd, void *buf, unsigned long len, int flags)') as Fn<[number, Buffer, number, number]>;
export const sendto = libc.func('long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, uint32_t addrlen)') as Fn<
  [number, Buffer, number, number, Buffer, number]>;
export const recvfrom = libc.func('long recvfrom(int fd, void *buf, unsigned long len, int flags, void *addr, void *addrlen)') as Fn<
  [number, Buffer, number, number, Buffer, Buffer]>;
/** ioctl is variadic: pass the argument's type, then its value (koffi's convention). */
export const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)') as (fd: number, request: number, type: string, arg: unknown) => number;
export const socket = libc.func('int socket(int domain, int type, int protocol)') as Fn<[number, number, number]>;
export const bind = libc.func('int bind(int fd, const void *addr, uint32_t addrlen)') as Fn<[number, Buffer, number]>;
export const connect = libc.func('int connect(int fd, const void *addr, uint32_t addrlen)') as Fn<[number, Buffer, number]>;
const setsockopt = libc.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as Fn<[number, number, number, Buffer, number]>;
export const close = libc.func('int close(int fd)') as Fn<[number]>;
export const setns = libc.func('int setns(int fd, int nstype)') as Fn<[number, number]>;
export const ifNameToIndex = libc.func('unsigned int if_nametoindex(const char *name)') as (name: string) => number;
const strerror = libc.func('const char *strerror(int errnum)') as (e: number) => string;
registerNativeExit(libc.func('void _exit(int status)') as (code: number) => void);

export const errno = (): number => koffi.errno();
export const describeErrno = (e: number): string => strerror(e);

/** A KernelError "<what>: <strerror>" carrying the errno. */
export function sysError(what: string, e = errno(), hint?: string): KernelError {
  return new KernelError(`${what}: ${strerror(e)}`, hint === undefined ? { errno: e } : { errno: e, hint });
}

const intArg = Buffer.alloc(4);
/** setsockopt with an int value; false when the kernel refuses. */
export function setIntOption(fd: number, level: number, name: number, value: number): boolean {
  intArg.writeInt32LE(value);
  return setsockopt(fd, level, name, intArg, 4) === 0;
}

/** Bounds every blocking receive (and send, and a Unix socket's connect) on `fd`: EAGAIN after `ms`. */
export function setTimeouts(fd: number, ms: number, which: 'receive' | 'both' = 'both'): void {
  const tv = Buffer.alloc(16); // struct timeval
  tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
  if (which === 'both') setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16);
}

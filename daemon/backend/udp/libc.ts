/**
 * The system calls the udp relay makes that Node has no API for (TUNSETIFF) or that must not
 * allocate per packet (read/write/sendto/recvfrom on raw descriptors), through koffi. Loaded only
 * by the relay worker: the daemon's main thread never touches native code.
 */
import { closeSync, constants, openSync } from 'node:fs';
import koffi from 'koffi';
import { KernelError } from '../../../shared/errors.js';
import { formatIp } from '../../../shared/ip/cidr.js';
import { sockaddrIn } from './peer-table.js';

const libc = koffi.load('libc.so.6');

export const read = libc.func('long read(int fd, void *buf, unsigned long count)') as (fd: number, buf: Buffer, count: number) => number;
export const write = libc.func('long write(int fd, const void *buf, unsigned long count)') as (fd: number, buf: Buffer, count: number) => number;
export const sendto = libc.func('long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, uint32_t addrlen)') as (
  fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number;
export const recvfrom = libc.func('long recvfrom(int fd, void *buf, unsigned long len, int flags, void *addr, void *addrlen)') as (
  fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: Buffer) => number;
const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');
const socket = libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
const bind = libc.func('int bind(int fd, const void *addr, uint32_t addrlen)') as (fd: number, addr: Buffer, len: number) => number;
const setsockopt = libc.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as (
  fd: number, level: number, name: number, val: Buffer, len: number) => number;
const close = libc.func('int close(int fd)') as (fd: number) => number;
const strerror = libc.func('const char *strerror(int errnum)') as (e: number) => string;

export const errno = (): number => koffi.errno();
export const EAGAIN = 11;

const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const IFNAMSIZ = 16;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
const UDP_GRO = 104;
const EBUSY = 16;

export function sysError(what: string, e = errno(), hint?: string): KernelError {
  return new KernelError(`${what}: ${strerror(e)}`, hint === undefined ? {} : { hint });
}

/**
 * Opens /dev/net/tun and attaches it to a new TUN device `name` without the packet-information
 * header (IFF_TUN | IFF_NO_PI), non-blocking, with a virtio_net_hdr before every packet
 * (IFF_VNET_HDR) and checksum + TCPv4 segmentation offload, so the kernel hands over TCP
 * super-packets (offload.ts). The device lives as long as the descriptor.
 */
export function openTun(name: string): number {
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new KernelError(`TUN device name "${name}" is longer than ${IFNAMSIZ - 1} bytes`);
  const fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
  const ifr = Buffer.alloc(40);
  ifr.write(name, 0, 'utf8');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, IFNAMSIZ);
  if (ioctl(fd, TUNSETIFF, 'void *', ifr) < 0) {
    const e = errno();
    closeSync(fd);
    throw sysError(`cannot create TUN device ${name}`, e,
      e === EBUSY ? `${name} is held by another process: stop the other twilld or flanneld on this host` : undefined);
  }
  if (ioctl(fd, TUNSETOFFLOAD, 'unsigned long', TUN_F_CSUM | TUN_F_TSO4) < 0) {
    const e = errno();
    closeSync(fd);
    throw sysError(`cannot enable offloads on TUN device ${name}`, e);
  }
  return fd;
}

/** A non-blocking UDP socket bound to ip:port, with large buffers (a burst must not be dropped). */
export function openUdpSocket(ip: number, port: number, bufferBytes: number): number {
  const fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('cannot create UDP socket');
  for (const opt of [SO_SNDBUFFORCE, SO_RCVBUFFORCE]) setIntOption(fd, SOL_SOCKET, opt, bufferBytes); // best effort: falls back to the default size
  setIntOption(fd, SOL_UDP, UDP_GRO, 1); // best effort: without it every datagram is read on its own
  const sa = sockaddrIn(ip, port);
  if (bind(fd, sa, sa.length) < 0) {
    const e = errno();
    close(fd);
    throw sysError(`cannot listen on UDP ${formatIp(ip)}:${port}`, e, 'another process uses the port: set Backend.Port in the network config, or stop that process');
  }
  return fd;
}

const intArg = Buffer.alloc(4);
function setIntOption(fd: number, level: number, name: number, value: number): boolean {
  intArg.writeInt32LE(value);
  return setsockopt(fd, level, name, intArg, 4) === 0;
}

/** Sets the UDP GSO segment size of later sends (0: no segmentation); false when the kernel refuses. */
export function setUdpSegment(fd: number, size: number): boolean {
  return setIntOption(fd, SOL_UDP, UDP_SEGMENT, size);
}

export function closeFd(fd: number): void {
  close(fd);
}

/**
 * The relay's descriptors: the TUN device (TUNSETIFF, offloads) and its UDP socket (GRO, GSO).
 * Loaded only by the relay worker.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { KernelError } from '../../../shared/errors.js';
import { formatIp } from '../../../shared/ip/cidr.js';
import { AF_INET, SO_RCVBUFFORCE, SO_SNDBUFFORCE, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOL_SOCKET } from '../../../shared/native/constants.js';
import { bind, close, errno, ioctl, setIntOption, socket, sysError } from '../../../shared/native/libc.js';
import { sockaddrIn } from './peer-table.js';

const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const IFNAMSIZ = 16;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
const UDP_GRO = 104;
const EBUSY = 16;

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

/** Sets the UDP GSO segment size of later sends (0: no segmentation); false when the kernel refuses. */
export function setUdpSegment(fd: number, size: number): boolean {
  return setIntOption(fd, SOL_UDP, UDP_SEGMENT, size);
}


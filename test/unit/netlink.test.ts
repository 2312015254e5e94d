/**
 * The rtnetlink requests, byte for byte where the layout is the point (headers, alignment,
 * nesting), and the readers of the kernel's answers on messages laid out as the kernel lays them
 * out. The same requests run against the real kernel in test/netns/plugin.test.ts and
 * test/netns/kernel-state.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fdbEntry, type KernelEntry, neighEntry, type NetlinkOp, routeEntry } from '../../daemon/backend/kernel-plan.js';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { macNumber } from '../../shared/net/mac.js';
import { addrRequest, addressChanges, dumpAddrs, parseAddr, RTM_NEWADDR } from '../../shared/netlink/addr.js';
import {
  delLink, getLink, IFF_UP, isLinkGone, newVeth, newVxlan, parseLink, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, setFlags, setHairpin,
} from '../../shared/netlink/link.js';
import {
  attrString, encode, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NlWriter, parseAttrs, type Request, splitMessages,
} from '../../shared/netlink/message.js';
import { dumpNeighs, fdbRequest, neighRequest, parseNeigh } from '../../shared/netlink/neigh.js';
import { parseRoute, readRoute, routeRequest, RTM_NEWROUTE, RTPROT_BOOT, TWILL_RTPROT } from '../../shared/netlink/route.js';

function header(b: Buffer): { len: number; type: number; flags: number } {
  return { len: b.readUInt32LE(0), type: b.readUInt16LE(4), flags: b.readUInt16LE(6) };
}

/** The attributes after a family header of `fixed` bytes. */
function attrs(b: Buffer, fixed: number): Map<number, Buffer> {
  return parseAttrs(b.subarray(16 + fixed));
}

/** The op of a daemon entry (kernel-plan.ts), checked to be of `kind`. */
function opOf<K extends NetlinkOp['kind']>(e: KernelEntry, kind: K): Extract<NetlinkOp, { kind: K }> {
  assert.equal(e.op.kind, kind);
  return e.op as Extract<NetlinkOp, { kind: K }>;
}

/** The payload of a message built as the kernel would send it. */
function payload(build: Request): Buffer {
  return splitMessages(encode(build))[0]!.payload;
}

describe('NlWriter', () => {
  it('frames header, family header and 4-byte aligned attributes; nested lengths cover their children', () => {
    const w = new NlWriter();
    const h = w.start(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 16);
    w.u32At(h + 4, 7);
    w.str(3, 'abc'); // 4 + "abc\0" = 8
    w.u8(99, 1); // 5, padded to 8
    w.nest(18);
    w.str(1, 'veth'); // 9, padded to 12
    const b = w.end().finish().view();
    assert.deepEqual(header(b), { len: 16 + 16 + 8 + 8 + 4 + 12, type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK });
    assert.equal(b.length, header(b).len);
    assert.equal(b.readInt32LE(20), 7);
    assert.deepEqual([...b.subarray(32, 40)], [8, 0, 3, 0, 0x61, 0x62, 0x63, 0]);
    assert.deepEqual([...b.subarray(40, 48)], [5, 0, 99, 0, 1, 0, 0, 0]);
    assert.equal(b.readUInt16LE(48), 4 + 12, 'nested length');
    assert.equal(b.readUInt16LE(50), 18 | NLA_F_NESTED);
    const a = attrs(b, 16);
    assert.equal(attrString(a.get(3)), 'abc');
    assert.equal(attrString(parseAttrs(a.get(18)!).get(1)), 'veth');
  });

  it('writes and reads string attributes (interface names) as UTF-8, as the kernel and iproute2 see them', () => {
    const w = new NlWriter();
    w.start(RTM_NEWLINK, NLM_F_REQUEST, 16);
    w.str(3, 'eth-é'); // 6 bytes in UTF-8 (é is c3 a9), 5 characters
    const b = w.finish().view();
    const name = attrs(b, 16).get(3)!;
    assert.deepEqual([...name], [0x65, 0x74, 0x68, 0x2d, 0xc3, 0xa9, 0]);
    assert.equal(b.readUInt16LE(32), 4 + 7, 'the length counts bytes, not characters');
    assert.equal(attrString(name), 'eth-é');
  });

  it('grows past its first buffer and refuses unbalanced nesting', () => {
    const w = new NlWriter(64);
    w.start(RTM_NEWLINK, NLM_F_REQUEST, 16);
    for (let i = 0; i < 40; i++) w.u32(i + 1, i);
    const b = w.finish().view();
    assert.equal(b.length, 32 + 40 * 8);
    assert.equal(attrs(b, 16).get(40)!.readUInt32LE(0), 39);
    const open = new NlWriter();
    open.start(RTM_NEWLINK, NLM_F_REQUEST, 16);
    open.nest(18);
    assert.throws(() => open.finish(), /open nested attribute/);
    const unopened = new NlWriter();
    unopened.start(RTM_NEWLINK, NLM_F_REQUEST, 16);
    assert.throws(() => unopened.end(), /without nest/);
  });

  it('writes requests back to back into one buffer it keeps, each as it would be alone; zeroes what it reuses', () => {
    const w = new NlWriter(64);
    const one = [encode((x) => getLink(x, 'eth0')), encode(dumpAddrs), encode((x) => setFlags(x, 'veth1', IFF_UP, true))];
    getLink(w, 'eth0');
    dumpAddrs(w);
    setFlags(w, 'veth1', IFF_UP, true);
    assert.deepEqual(w.view(), Buffer.concat(one));
    w.reset();
    w.u32At(0, 0xffffffff); // old bytes where the next request's header goes
    w.reset();
    dumpAddrs(w);
    assert.deepEqual(w.view(), one[1]);
  });

  it('splits a datagram into messages and stops at a truncated one', () => {
    const one = encode((w) => getLink(w, 'eth0'));
    const two = encode(dumpAddrs);
    const datagram = Buffer.concat([one, two, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2])]);
    const ms = splitMessages(datagram);
    assert.deepEqual(ms.map((m) => [m.type, m.payload.length]), [[RTM_GETLINK, one.length - 16], [22, two.length - 16]]);
  });
});

describe('link, address and route requests', () => {
  it('creates the veth pair in one request, the peer inside the pod namespace, both down', () => {
    const b = encode((w) => newVeth(w, { hostName: 'veth0123456789a', hostMac: '0a:58:0a:2d:00:01', master: 9, peerName: 'eth0', peerMac: '02:42:ac:11:00:99', mtu: 1450, peerNetnsFd: 21 }));
    assert.deepEqual(header(b), { len: b.length, type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL });
    assert.equal(b.readUInt32LE(24), 0, 'ifi_flags: down (a veth cannot come up before its peer is linked)');
    const a = attrs(b, 16);
    assert.equal(attrString(a.get(3)), 'veth0123456789a');
    assert.deepEqual([...a.get(1)!], [0x0a, 0x58, 0x0a, 0x2d, 0x00, 0x01]);
    assert.equal(a.get(4)!.readUInt32LE(0), 1450);
    assert.equal(a.get(10)!.readUInt32LE(0), 9, 'IFLA_MASTER');
    const info = parseAttrs(a.get(18)!);
    assert.equal(attrString(info.get(1)), 'veth');
    const peer = parseAttrs(info.get(2)!).get(1)!; // VETH_INFO_PEER: an ifinfomsg, then the peer's attributes
    assert.equal(peer.readUInt32LE(8), 0);
    const p = parseAttrs(peer.subarray(16));
    assert.equal(attrString(p.get(3)), 'eth0');
    assert.deepEqual([...p.get(1)!], [0x02, 0x42, 0xac, 0x11, 0x00, 0x99]);
    assert.equal(p.get(4)!.readUInt32LE(0), 1450);
    assert.equal(p.get(28)!.readUInt32LE(0), 21, 'IFLA_NET_NS_FD');
  });

  it('creates a VXLAN device with the attributes `ip link add … type vxlan … nolearning gbp` sends', () => {
    const b = encode((w) => newVxlan(w, { name: 'flannel.7', mac: '0a:11:22:33:44:55', mtu: 1450, id: 7, local: parseIp('172.31.255.1'), link: 3, port: 8472, gbp: true }));
    assert.deepEqual(header(b), { len: 132, type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL });
    const a = attrs(b, 16);
    assert.deepEqual([attrString(a.get(3)), [...a.get(1)!], a.get(4)!.readUInt32LE(0)], ['flannel.7', [0x0a, 0x11, 0x22, 0x33, 0x44, 0x55], 1450]);
    const info = parseAttrs(a.get(18)!);
    assert.equal(attrString(info.get(1)), 'vxlan');
    // IFLA_INFO_DATA as iproute2 6.1 sends it (captured with strace): link, gbp, id, local, learning 0, port (big-endian).
    assert.deepEqual([...info.get(2)!], [
      8, 0, 3, 0, 3, 0, 0, 0, 4, 0, 23, 0, 8, 0, 1, 0, 7, 0, 0, 0, 8, 0, 4, 0, 172, 31, 255, 1, 5, 0, 7, 0, 0, 0, 0, 0, 6, 0, 15, 0, 0x21, 0x18, 0, 0,
    ]);
    const plain = parseAttrs(parseAttrs(attrs(encode((w) => newVxlan(w, { name: 'flannel.1', mac: '0a:00:00:00:00:01', mtu: 1450, id: 1, local: 1, link: 2, port: 4789, gbp: false })), 16).get(18)!).get(2)!);
    assert.deepEqual([plain.has(23), plain.get(15)!.readUInt16BE(0)], [false, 4789], 'no GBP flag unless asked for');
  });

  it('changes an existing link by index or by name: flags with their change mask, hairpin as bridge-port data', () => {
    const up = encode((w) => setFlags(w, 5, IFF_UP, true));
    assert.deepEqual([up.readInt32LE(20), up.readUInt32LE(24), up.readUInt32LE(28)], [5, IFF_UP, IFF_UP]);
    assert.equal(header(up).flags, NLM_F_REQUEST | NLM_F_ACK, 'no CREATE: never makes a link');
    const down = encode((w) => setFlags(w, 'eth0', IFF_UP, false));
    assert.deepEqual([down.readInt32LE(20), down.readUInt32LE(24), down.readUInt32LE(28)], [0, 0, IFF_UP]);
    assert.equal(attrString(attrs(down, 16).get(3)), 'eth0');
    const hp = parseAttrs(attrs(encode((w) => setHairpin(w, 'veth1', true)), 16).get(18)!);
    assert.equal(attrString(hp.get(4)), 'bridge');
    assert.deepEqual([...parseAttrs(hp.get(5)!).get(4)!], [1]);
    const del = encode((w) => delLink(w, 'veth1'));
    assert.equal(header(del).type, RTM_DELLINK);
    assert.equal(attrString(attrs(del, 16).get(3)), 'veth1');
    const byIndex = encode((w) => delLink(w, 12));
    assert.deepEqual([header(byIndex).type, byIndex.readInt32LE(20), byIndex.length], [RTM_DELLINK, 12, 32], 'by index: no name attribute');
    const get = encode((w) => getLink(w, 7));
    assert.deepEqual([header(get).type, get.readInt32LE(20), get.length], [RTM_GETLINK, 7, 32]);
  });

  it('adds an IPv4 address exclusively, replaces one, deletes one', () => {
    const add = encode((w) => addrRequest(w, 'add', 4, parseIp('10.45.3.2'), 27));
    assert.equal(header(add).type, RTM_NEWADDR);
    assert.equal(header(add).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    assert.deepEqual([add[16], add[17], add.readUInt32LE(20)], [2, 27, 4]);
    assert.deepEqual([...attrs(add, 8).get(2)!], [10, 45, 3, 2]);
    assert.equal(header(encode((w) => addrRequest(w, 'replace', 4, 1, 27))).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | 0x100);
    assert.equal(header(encode((w) => addrRequest(w, 'delete', 4, 1, 27))).type, 21);
  });

  it('adds a route via a gateway; a default route has no destination attribute', () => {
    const r = encode((w) => routeRequest(w, 'add', { dst: parseCidr('10.45.0.0/16'), via: parseIp('10.45.3.1') }, 4, RTPROT_BOOT));
    assert.equal(header(r).type, RTM_NEWROUTE);
    assert.deepEqual([...r.subarray(16, 24)], [2, 16, 0, 0, 254, 3, 0, 1], 'inet, /16, main table, proto boot, universe, unicast');
    const a = attrs(r, 12);
    assert.deepEqual([...a.get(1)!], [10, 45, 0, 0]);
    assert.deepEqual([...a.get(5)!], [10, 45, 3, 1]);
    assert.equal(a.get(4)!.readUInt32LE(0), 4);
    assert.ok(!attrs(encode((w) => routeRequest(w, 'add', { dst: parseCidr('0.0.0.0/0'), via: 1 }, 4, RTPROT_BOOT)), 12).has(1));
    assert.equal(header(encode(dumpAddrs)).flags, NLM_F_REQUEST | NLM_F_DUMP);
  });
});

describe('the daemon\'s route, neighbour and FDB requests', () => {
  const b = Buffer.alloc(64);
  /** Writes one request for an entry's op into `b`; returns its length. */
  const write = (request: Request): number => encode(request).copy(b);

  it('encodes a route replace as `ip route replace … proto 116 onlink` does', () => {
    const len = write((w) => routeRequest(w, 'replace', opOf(routeEntry(parseCidr('10.5.2.0/24'), parseIp('10.5.2.0'), 'flannel.1', true), 'route'), 9, TWILL_RTPROT));
    assert.equal(len, 16 + 12 + 8 + 8 + 8);
    assert.deepEqual([b.readUInt32LE(0), b.readUInt16LE(4), b.readUInt16LE(6)], [len, 24, 0x1 | 0x4 | 0x100 | 0x400]);
    assert.deepEqual([...b.subarray(16, 24)], [2, 24, 0, 0, 254, 116, 0, 1], 'AF_INET /24, main table, proto 116, universe, unicast');
    assert.equal(b.readUInt32LE(24), 4, 'RTNH_F_ONLINK');
    assert.deepEqual([...b.subarray(28, 36)], [8, 0, 1, 0, 10, 5, 2, 0], 'RTA_DST');
    assert.deepEqual([...b.subarray(36, 44)], [8, 0, 5, 0, 10, 5, 2, 0], 'RTA_GATEWAY');
    assert.deepEqual([b.readUInt16LE(44), b.readUInt16LE(46), b.readUInt32LE(48)], [8, 4, 9], 'RTA_OIF');
  });

  it('encodes deletes that match only twill\'s entries: route by destination and proto 116, any scope', () => {
    const len = write((w) => routeRequest(w, 'delete', opOf(routeEntry(parseCidr('10.5.2.0/24'), parseIp('10.5.2.0'), 'flannel.1', true), 'route'), 9, TWILL_RTPROT));
    assert.equal(len, 16 + 12 + 8);
    assert.equal(b.readUInt16LE(4), 25);
    assert.equal(b.readUInt16LE(6), 0x1 | 0x4);
    assert.deepEqual([b[21], b[22], b[23]], [116, 255, 0]);
  });

  it('encodes a permanent neighbour and a vxlan FDB entry (AF_BRIDGE, NTF_SELF)', () => {
    let len = write((w) => neighRequest(w, 'replace', 9, opOf(neighEntry(parseIp('10.5.2.0'), macNumber('0A:0b:0c:0d:0e:0f'), 'flannel.1'), 'neigh')));
    assert.equal(len, 16 + 12 + 8 + 12);
    assert.deepEqual([b.readUInt16LE(4), b[16], b.readInt32LE(20), b.readUInt16LE(24), b[26]], [28, 2, 9, 0x80, 0]);
    assert.deepEqual([...b.subarray(32, 36)], [10, 5, 2, 0]);
    assert.deepEqual([b.readUInt16LE(36), b.readUInt16LE(38), ...b.subarray(40, 46)], [10, 2, 10, 11, 12, 13, 14, 15], 'NDA_LLADDR');
    len = write((w) => fdbRequest(w, 'replace', 9, opOf(fdbEntry(macNumber('0a:0b:0c:0d:0e:0f'), parseIp('192.168.0.7'), 'flannel.1'), 'fdb')));
    assert.equal(len, 16 + 12 + 12 + 8);
    assert.deepEqual([b[16], b[26]], [7, 0x02], 'AF_BRIDGE, NTF_SELF');
    assert.deepEqual([...b.subarray(32, 38)], [10, 11, 12, 13, 14, 15]);
    assert.deepEqual([...b.subarray(44, 48)], [192, 168, 0, 7], 'NDA_DST');
  });

  it('asks for every neighbour of a family (AF_BRIDGE: the forwarding databases)', () => {
    const d = encode((w) => dumpNeighs(w, 7));
    assert.deepEqual([header(d).type, header(d).flags, d[16], d.length], [30, NLM_F_REQUEST | NLM_F_DUMP, 7, 28]);
  });
});

describe('giving a device its address', () => {
  const a = (ip: string, prefix: number) => ({ index: 4, ip: parseIp(ip), prefix, scope: 0 });
  const want = { ip: parseIp('10.5.1.0'), prefix: 32 };
  it('removes the other addresses and adds the wanted one', () => {
    const c = addressChanges(4, 'flannel.1', [a('10.5.9.0', 32), a('192.168.7.1', 24)], want);
    assert.deepEqual(c.map(([what]) => what), ['removing 10.5.9.0/32 from flannel.1', 'removing 192.168.7.1/24 from flannel.1', 'adding 10.5.1.0/32 to flannel.1']);
    assert.deepEqual(encode(c[2]![1]), encode((w) => addrRequest(w, 'replace', 4, want.ip, 32)));
    assert.deepEqual(encode(c[0]![1]), encode((w) => addrRequest(w, 'delete', 4, parseIp('10.5.9.0'), 32)));
  });
  it('changes nothing when the device has just that address; keeps addresses `stale` does not select', () => {
    assert.deepEqual(addressChanges(4, 'flannel.1', [a('10.5.1.0', 32)], want), []);
    const c = addressChanges(4, 'cni0', [a('10.5.1.0', 24), a('192.168.7.1', 24)], want, (x) => x.ip >>> 24 === 10);
    assert.deepEqual(c.map(([what]) => what), ['removing 10.5.1.0/24 from cni0', 'adding 10.5.1.0/32 to cni0']);
  });
});

describe('reading the kernel\'s answers', () => {
  it('reads a link: index, flags, name, MTU, MAC, master, kind and hairpin', () => {
    const link = parseLink(payload((w) => {
      const h = w.start(RTM_NEWLINK, 0, 16);
      w.u32At(h + 4, 12).u32At(h + 8, IFF_UP | 0x1000);
      w.str(3, 'veth0').u32(4, 1450).mac(1, '0a:00:00:00:00:07').u32(10, 4);
      w.nest(18);
      w.str(1, 'veth').str(4, 'bridge');
      w.nest(5);
      w.u8(4, 1);
      w.end().end().finish();
    }));
    assert.deepEqual(link, { index: 12, flags: IFF_UP | 0x1000, name: 'veth0', mtu: 1450, mac: '0a:00:00:00:00:07', master: 4, kind: 'veth', hairpin: true });
  });

  it('reads a VXLAN device\'s settings', () => {
    const p = payload((w) => newVxlan(w, { name: 'flannel.7', mac: '0a:11:22:33:44:55', mtu: 1450, id: 7, local: parseIp('172.31.255.1'), link: 3, port: 8472, gbp: true }));
    const l = parseLink(p);
    assert.deepEqual([l.name, l.kind, l.mac, l.mtu], ['flannel.7', 'vxlan', '0a:11:22:33:44:55', 1450]);
    assert.deepEqual(l.vxlan, { id: 7, local: parseIp('172.31.255.1'), link: 3, port: 8472, learning: false, gbp: true });
  });

  it('reads IPv4 addresses (IFA_LOCAL first) and skips other families', () => {
    assert.deepEqual(parseAddr(payload((w) => {
      const h = w.start(RTM_NEWADDR, 0, 8);
      w.u8At(h, 2).u8At(h + 1, 24).u8At(h + 3, 254).u32At(h + 4, 3);
      w.ip(1, parseIp('10.0.0.9')).ip(2, parseIp('10.0.0.1')).finish();
    })), { index: 3, ip: parseIp('10.0.0.1'), prefix: 24, scope: 254 });
    assert.equal(parseAddr(payload((w) => {
      w.u8At(w.start(RTM_NEWADDR, 0, 8), 10);
      w.finish();
    })), null);
  });

  it('reads unicast routes as "default" or "a.b.c.d/n" with gateway and device; skips host-scope ones', () => {
    const route = (dstLen: number, scope: number, type: number): Buffer => payload((w) => {
      const h = w.start(RTM_NEWROUTE, 0, 12);
      [2, dstLen, 0, 0, 254, 3, scope, type].forEach((v, i) => w.u8At(h + i, v));
      if (dstLen) w.ip(1, parseIp('10.45.0.0'));
      w.ip(5, parseIp('10.45.3.1')).u32(4, 2).u32(15, 254).finish();
    });
    assert.deepEqual(parseRoute(route(0, 0, 1)), { dst: 'default', gateway: '10.45.3.1', oif: 2, table: 254 });
    assert.deepEqual(parseRoute(route(16, 0, 1)), { dst: '10.45.0.0/16', gateway: '10.45.3.1', oif: 2, table: 254 });
    assert.equal(parseRoute(route(32, 254, 2)), null, 'local route');
  });

  it('reads a route\'s protocol and onlink flag, as the daemon\'s own routes carry them', () => {
    const r = readRoute(payload((w) => routeRequest(w, 'replace', { dst: parseCidr('10.5.2.0/24'), via: parseIp('10.5.2.0'), onlink: true }, 9, TWILL_RTPROT)));
    assert.deepEqual(r, { dst: parseCidr('10.5.2.0/24'), gateway: parseIp('10.5.2.0'), oif: 9, table: 254, protocol: 116, scope: 0, type: 1, onlink: true });
  });

  it('reads neighbour and FDB entries: device, state, address and MAC', () => {
    const mac = macNumber('0a:0b:0c:0d:0e:0f');
    assert.deepEqual(parseNeigh(payload((w) => neighRequest(w, 'replace', 9, { ip: parseIp('10.5.2.0'), mac }))), { family: 2, index: 9, state: 0x80, ip: parseIp('10.5.2.0'), mac });
    assert.deepEqual(parseNeigh(payload((w) => fdbRequest(w, 'replace', 9, { mac, dst: parseIp('192.168.0.7') }))), { family: 7, index: 9, state: 0x80, ip: parseIp('192.168.0.7'), mac });
  });

  it('tells a link\'s own RTM_DELLINK from its bridge port\'s and from other links\' events', () => {
    const notice = (type: number, family: number, index: number) => {
      const p = Buffer.alloc(16); // ifinfomsg
      p[0] = family;
      p.writeInt32LE(index, 4);
      return { type, flags: 0, seq: 0, payload: p };
    };
    assert.equal(isLinkGone(notice(RTM_DELLINK, 0, 7), 7), true);
    assert.equal(isLinkGone(notice(RTM_DELLINK, 7, 7), 7), false, 'AF_BRIDGE: the port, sent before the link goes');
    assert.equal(isLinkGone(notice(RTM_DELLINK, 0, 8), 7), false, 'another link');
    assert.equal(isLinkGone(notice(RTM_NEWLINK, 0, 7), 7), false, 'a change, not a deletion');
    assert.equal(isLinkGone({ ...notice(RTM_DELLINK, 0, 7), payload: Buffer.alloc(4) }, 7), false, 'truncated');
  });
});

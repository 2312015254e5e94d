/**
 * The plugin's rtnetlink requests, byte for byte where the layout is the point (headers,
 * alignment, nesting), and the readers of the kernel's answers on messages laid out as the kernel
 * lays them out. The same requests run against the real kernel in test/netns/plugin.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import {
  addrRequest, addRoute, delLink, dumpAddrs, getLink, IFF_UP, isLinkGone, newVeth, parseAddr, parseLink, parseRoute, RTM_DELLINK, RTM_GETLINK,
  RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, setFlags, setHairpin,
} from '../../shared/netlink/link-messages.js';
import { attrString, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NlRequest, parseAttrs, splitMessages } from '../../shared/netlink/nl-message.js';

function header(b: Buffer): { len: number; type: number; flags: number } {
  return { len: b.readUInt32LE(0), type: b.readUInt16LE(4), flags: b.readUInt16LE(6) };
}

/** The attributes after a family header of `fixed` bytes. */
function attrs(b: Buffer, fixed: number): Map<number, Buffer> {
  return parseAttrs(b.subarray(16 + fixed));
}

describe('NlRequest', () => {
  it('frames header, family header and 4-byte aligned attributes; nested lengths cover their children', () => {
    const r = new NlRequest(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 16);
    r.header.writeInt32LE(7, 4);
    r.str(3, 'abc'); // 4 + "abc\0" = 8
    r.u8(99, 1); // 5, padded to 8
    r.begin(18);
    r.str(1, 'veth'); // 9, padded to 12
    const b = r.end().done();
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

  it('grows past its first buffer and refuses unbalanced nesting', () => {
    const r = new NlRequest(RTM_NEWLINK, NLM_F_REQUEST, 16);
    for (let i = 0; i < 40; i++) r.u32(i + 1, i);
    const b = r.done();
    assert.equal(b.length, 32 + 40 * 8);
    assert.equal(attrs(b, 16).get(40)!.readUInt32LE(0), 39);
    const open = new NlRequest(RTM_NEWLINK, NLM_F_REQUEST, 16);
    open.begin(18);
    assert.throws(() => open.done(), /open nested attribute/);
    assert.throws(() => new NlRequest(RTM_NEWLINK, NLM_F_REQUEST, 16).end(), /without begin/);
  });

  it('splits a datagram into messages and stops at a truncated one', () => {
    const one = getLink('eth0');
    const two = dumpAddrs();
    const datagram = Buffer.concat([one, two, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2])]);
    const ms = splitMessages(datagram);
    assert.deepEqual(ms.map((m) => [m.type, m.payload.length]), [[RTM_GETLINK, one.length - 16], [22, two.length - 16]]);
  });
});

describe('link, address and route requests', () => {
  it('creates the veth pair in one request, the peer inside the pod namespace, both down', () => {
    const b = newVeth({ hostName: 'veth0123456789a', hostMac: '0a:58:0a:2d:00:01', master: 9, peerName: 'eth0', peerMac: '02:42:ac:11:00:99', mtu: 1450, peerNetnsFd: 21 });
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

  it('changes an existing link by index or by name: flags with their change mask, hairpin as bridge-port data', () => {
    const up = setFlags(5, IFF_UP, true);
    assert.deepEqual([up.readInt32LE(20), up.readUInt32LE(24), up.readUInt32LE(28)], [5, IFF_UP, IFF_UP]);
    assert.equal(header(up).flags, NLM_F_REQUEST | NLM_F_ACK, 'no CREATE: never makes a link');
    const down = setFlags('eth0', IFF_UP, false);
    assert.deepEqual([down.readInt32LE(20), down.readUInt32LE(24), down.readUInt32LE(28)], [0, 0, IFF_UP]);
    assert.equal(attrString(attrs(down, 16).get(3)), 'eth0');
    const hp = parseAttrs(attrs(setHairpin('veth1', true), 16).get(18)!);
    assert.equal(attrString(hp.get(4)), 'bridge');
    assert.deepEqual([...parseAttrs(hp.get(5)!).get(4)!], [1]);
    const del = delLink('veth1');
    assert.equal(header(del).type, RTM_DELLINK);
    assert.equal(attrString(attrs(del, 16).get(3)), 'veth1');
    const byIndex = delLink(12);
    assert.deepEqual([header(byIndex).type, byIndex.readInt32LE(20), byIndex.length], [RTM_DELLINK, 12, 32], 'by index: no name attribute');
    const get = getLink(7);
    assert.deepEqual([header(get).type, get.readInt32LE(20), get.length], [RTM_GETLINK, 7, 32]);
  });

  it('adds an IPv4 address exclusively, replaces one, deletes one', () => {
    const add = addrRequest('add', 4, parseIp('10.45.3.2'), 27);
    assert.equal(header(add).type, RTM_NEWADDR);
    assert.equal(header(add).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    assert.deepEqual([add[16], add[17], add.readUInt32LE(20)], [2, 27, 4]);
    assert.deepEqual([...attrs(add, 8).get(2)!], [10, 45, 3, 2]);
    assert.equal(header(addrRequest('replace', 4, 1, 27)).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | 0x100);
    assert.equal(header(addrRequest('delete', 4, 1, 27)).type, 21);
  });

  it('adds a route via a gateway; a default route has no destination attribute', () => {
    const r = addRoute(parseCidr('10.45.0.0/16'), parseIp('10.45.3.1'), 4);
    assert.equal(header(r).type, RTM_NEWROUTE);
    assert.deepEqual([...r.subarray(16, 24)], [2, 16, 0, 0, 254, 3, 0, 1], 'inet, /16, main table, proto boot, universe, unicast');
    const a = attrs(r, 12);
    assert.deepEqual([...a.get(1)!], [10, 45, 0, 0]);
    assert.deepEqual([...a.get(5)!], [10, 45, 3, 1]);
    assert.equal(a.get(4)!.readUInt32LE(0), 4);
    assert.ok(!attrs(addRoute(parseCidr('0.0.0.0/0'), 1, 4), 12).has(1));
    assert.equal(header(dumpAddrs()).flags, NLM_F_REQUEST | NLM_F_DUMP);
  });
});

describe('reading the kernel\'s answers', () => {
  it('reads a link: index, flags, name, MTU, MAC, master, kind and hairpin', () => {
    const r = new NlRequest(RTM_NEWLINK, 0, 16);
    r.header.writeInt32LE(12, 4);
    r.header.writeUInt32LE(IFF_UP | 0x1000, 8);
    r.str(3, 'veth0').u32(4, 1450).mac(1, '0a:00:00:00:00:07').u32(10, 4);
    r.begin(18);
    r.str(1, 'veth').str(4, 'bridge');
    r.begin(5);
    r.u8(4, 1);
    const link = parseLink(splitMessages(r.end().end().done())[0]!.payload);
    assert.deepEqual(link, { index: 12, flags: IFF_UP | 0x1000, name: 'veth0', mtu: 1450, mac: '0a:00:00:00:00:07', master: 4, kind: 'veth', hairpin: true });
  });

  it('reads IPv4 addresses (IFA_LOCAL first) and skips other families', () => {
    const a = new NlRequest(RTM_NEWADDR, 0, 8);
    a.header[0] = 2;
    a.header[1] = 24;
    a.header.writeUInt32LE(3, 4);
    a.ip(1, parseIp('10.0.0.9')).ip(2, parseIp('10.0.0.1'));
    assert.deepEqual(parseAddr(splitMessages(a.done())[0]!.payload), { index: 3, ip: parseIp('10.0.0.1'), prefix: 24 });
    const v6 = new NlRequest(RTM_NEWADDR, 0, 8);
    v6.header[0] = 10;
    assert.equal(parseAddr(splitMessages(v6.done())[0]!.payload), null);
  });

  it('reads unicast routes as "default" or "a.b.c.d/n" with gateway and device; skips host-scope ones', () => {
    const route = (dstLen: number, scope: number, type: number): Buffer => {
      const r = new NlRequest(RTM_NEWROUTE, 0, 12);
      r.header.set([2, dstLen, 0, 0, 254, 3, scope, type]);
      if (dstLen) r.ip(1, parseIp('10.45.0.0'));
      return splitMessages(r.ip(5, parseIp('10.45.3.1')).u32(4, 2).u32(15, 254).done())[0]!.payload;
    };
    assert.deepEqual(parseRoute(route(0, 0, 1)), { dst: 'default', gateway: '10.45.3.1', oif: 2, table: 254 });
    assert.deepEqual(parseRoute(route(16, 0, 1)), { dst: '10.45.0.0/16', gateway: '10.45.3.1', oif: 2, table: 254 });
    assert.equal(parseRoute(route(32, 254, 2)), null, 'local route');
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

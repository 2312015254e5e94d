/**
 * The udp backend's pure parts: IPv4 header handling (TTL/checksum, ICMP net unreachable), the
 * peer table (routing by inner destination, the spoofed-source check), its config and peers, and
 * the offloads (TSO segmentation, checksum completion, coalescing).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { InvalidConfigError } from '../../shared/errors.js';
import { fold, internetChecksum, sum16 } from '../../daemon/backend/udp/checksum.js';
import { decrementTtl, destinationOf, isIpv4, netUnreachable, sourceOf, writeU32 } from '../../daemon/backend/udp/ip-packet.js';
import { completeChecksum, type Segments, segmentTcpV4, TcpCoalescer, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, VNET_HDR_LEN } from '../../daemon/backend/udp/offload.js';
import { PeerTable, sockaddrIn } from '../../daemon/backend/udp/peer-table.js';
import { parseUdpConfig, udpPeers } from '../../daemon/backend/udp/udp-backend.js';
import { decodeLease, type Lease } from '../../daemon/subnet/lease.js';

/** An IPv4 packet with a valid header checksum and `payload` bytes of payload. */
function packet(o: { src: string; dst: string; ttl?: number; proto?: number; payload?: number; frag?: number; id?: number }): Buffer {
  const b = Buffer.alloc(20 + (o.payload ?? 8));
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(o.id ?? 0x1234, 4);
  b.writeUInt16BE(o.frag ?? 0x4000, 6);
  b[8] = o.ttl ?? 64;
  b[9] = o.proto ?? 6;
  writeU32(b, 12, parseIp(o.src));
  writeU32(b, 16, parseIp(o.dst));
  for (let i = 20; i < b.length; i++) b[i] = i & 0xff;
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  return b;
}

describe('ip-packet', () => {
  it('reads addresses and recognises IPv4 headers', () => {
    const p = packet({ src: '10.42.1.2', dst: '10.42.7.9' });
    assert.equal(sourceOf(p), parseIp('10.42.1.2'));
    assert.equal(destinationOf(p), parseIp('10.42.7.9'));
    assert.ok(isIpv4(p, p.length));
    assert.ok(!isIpv4(p, 19), 'shorter than a header');
    const v6 = Buffer.from(p);
    v6[0] = 0x60;
    assert.ok(!isIpv4(v6, v6.length));
    const badIhl = Buffer.from(p);
    badIhl[0] = 0x44;
    assert.ok(!isIpv4(badIhl, badIhl.length));
  });

  it('decrements the TTL and keeps the header checksum valid, for every TTL and id', () => {
    for (let ttl = 2; ttl <= 255; ttl++) {
      for (const id of [0, 1, 0x00ff, 0x7fff, 0xfeff, 0xffff]) {
        const p = packet({ src: '10.0.0.1', dst: '10.0.1.1', ttl, id });
        assert.ok(decrementTtl(p));
        assert.equal(p[8], ttl - 1);
        assert.equal(internetChecksum(p, 0, 20), 0, `ttl ${ttl} id ${id}: checksum no longer valid`);
      }
    }
  });

  it('refuses to forward a packet whose TTL would reach zero, and leaves it untouched', () => {
    const p = packet({ src: '10.0.0.1', dst: '10.0.1.1', ttl: 1 });
    const before = Buffer.from(p);
    assert.equal(decrementTtl(p), false);
    assert.deepEqual(p, before);
  });

  it('builds an ICMP net unreachable back to the sender, quoting its header and 8 bytes', () => {
    const p = packet({ src: '10.42.1.2', dst: '10.42.99.1', payload: 100 });
    const out = Buffer.alloc(128);
    const len = netUnreachable(p, p.length, parseIp('10.42.1.0'), out);
    assert.equal(len, 20 + 8 + 28);
    assert.equal(out.readUInt16BE(2), len);
    assert.equal(internetChecksum(out, 0, 20), 0, 'IP header checksum');
    assert.equal(internetChecksum(out, 20, len), 0, 'ICMP checksum');
    assert.equal(out[9], 1);
    assert.equal(sourceOf(out), parseIp('10.42.1.0'));
    assert.equal(destinationOf(out), parseIp('10.42.1.2'));
    assert.deepEqual([out[20], out[21]], [3, 0]);
    assert.deepEqual(out.subarray(28, len), p.subarray(0, 28));
  });

  it('sends no ICMP about ICMP, about a later fragment, or about garbage', () => {
    const out = Buffer.alloc(128);
    const icmp = packet({ src: '10.42.1.2', dst: '10.42.99.1', proto: 1 });
    assert.equal(netUnreachable(icmp, icmp.length, 1, out), 0);
    const frag = packet({ src: '10.42.1.2', dst: '10.42.99.1', frag: 0x2000 | 185 });
    assert.equal(netUnreachable(frag, frag.length, 1, out), 0);
    assert.equal(netUnreachable(Buffer.alloc(10), 10, 1, out), 0);
  });
});

describe('PeerTable', () => {
  const table = new PeerTable([
    { subnet: parseIp('10.42.1.0'), prefix: 24, publicIp: parseIp('192.168.0.1') },
    { subnet: parseIp('10.42.2.0'), prefix: 24, publicIp: parseIp('192.168.0.2') },
    { subnet: parseIp('10.42.2.128'), prefix: 25, publicIp: parseIp('192.168.0.3') },
  ], 8285);

  it('routes an inner destination to PublicIP:Port of the lease holding it, longest prefix first', () => {
    assert.deepEqual(table.route(parseIp('10.42.1.77')), sockaddrIn(parseIp('192.168.0.1'), 8285));
    assert.deepEqual(table.route(parseIp('10.42.2.5')), sockaddrIn(parseIp('192.168.0.2'), 8285));
    assert.deepEqual(table.route(parseIp('10.42.2.200')), sockaddrIn(parseIp('192.168.0.3'), 8285));
    assert.equal(table.route(parseIp('10.42.3.1')), undefined);
    assert.equal(table.size, 3);
  });

  it('builds sockaddr_in as the kernel reads it: family in host order, port and address in network order', () => {
    assert.deepEqual([...sockaddrIn(parseIp('192.168.0.1'), 8285).subarray(0, 8)], [2, 0, 0x20, 0x5d, 192, 168, 0, 1]);
  });

  it('admits an inner source only from the host that leases it', () => {
    assert.ok(table.admits(parseIp('192.168.0.1'), parseIp('10.42.1.9')));
    assert.ok(!table.admits(parseIp('192.168.0.1'), parseIp('10.42.2.9')), 'another host\'s subnet');
    assert.ok(!table.admits(parseIp('192.168.0.1'), parseIp('8.8.8.8')), 'outside the network');
    assert.ok(!table.admits(parseIp('192.168.0.9'), parseIp('10.42.1.9')), 'a sender without a lease');
    assert.ok(table.knows(parseIp('192.168.0.2')));
    assert.ok(!table.knows(parseIp('192.168.0.9')));
  });
});

describe('udp backend config and peers', () => {
  it('defaults Port to flannel\'s 8285 and keeps a custom one', () => {
    assert.equal(parseUdpConfig({ Type: 'udp' }).Port, 8285);
    assert.equal(parseUdpConfig({ Type: 'udp', Port: 7890 }).Port, 7890);
  });

  it('refuses a bad Port, naming the field', () => {
    for (const Port of [0, 65536, 'x', 1.5]) {
      assert.throws(() => parseUdpConfig({ Type: 'udp', Port }), (e: unknown) => e instanceof InvalidConfigError && /Backend\.Port|Port/.test(e.message));
    }
  });

  it('takes udp leases as peers and lists the others as unroutable', () => {
    const lease = (subnet: string, PublicIP: string, BackendType: string): Lease => ({ subnet: parseCidr(subnet), attrs: { PublicIP, BackendType, BackendData: null }, expiresAt: 0, leaseId: '' });
    const r = udpPeers([lease('10.42.1.0/24', '192.168.0.1', 'udp'), lease('10.42.2.0/24', '192.168.0.2', 'vxlan')]);
    assert.deepEqual(r.peers, [{ subnet: parseIp('10.42.1.0'), prefix: 24, publicIp: parseIp('192.168.0.1') }]);
    assert.deepEqual(r.unroutable, ['10.42.2.0/24: vxlan lease, not udp']);
  });

  it('takes flanneld\'s udp leases, which carry no BackendType, as peers', () => {
    const d = decodeLease('10.42.3.0-24', '{"PublicIP":"192.168.0.3","PublicIPv6":null}');
    assert.ok(d.ok);
    const r = udpPeers([d.lease]);
    assert.deepEqual(r.peers, [{ subnet: parseIp('10.42.3.0'), prefix: 24, publicIp: parseIp('192.168.0.3') }]);
    assert.deepEqual(r.unroutable, []);
  });
});

/** A TCP/IPv4 super-packet as a TSO-capable TUN device hands it over (checksum left partial). */
function superPacket(payload: number, o: { options?: number; flags?: number; seq?: number } = {}): Buffer {
  const doff = 20 + (o.options ?? 12);
  const b = Buffer.alloc(20 + doff + payload);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(0xfff0, 4); // the id wraps while segmenting
  b[6] = 0x40;
  b[8] = 63;
  b[9] = 6;
  writeU32(b, 12, parseIp('10.42.1.2'));
  writeU32(b, 16, parseIp('10.42.2.3'));
  b.writeUInt16BE(40000, 20);
  b.writeUInt16BE(5201, 22);
  b.writeUInt32BE(o.seq ?? 0xfffff000, 24); // and so does the sequence number
  b.writeUInt32BE(777, 28);
  b[32] = (doff / 4) << 4;
  b[33] = o.flags ?? 0x18; // ACK|PSH
  b.writeUInt16BE(502, 34);
  for (let i = 40; i < 20 + doff; i++) b[i] = 1; // NOP options, identical in every segment
  for (let i = 20 + doff; i < b.length; i++) b[i] = (i * 7) & 0xff;
  return b;
}

function tcpChecksumOk(p: Buffer, off: number, len: number): boolean {
  return (~fold(sum16(p, off + 20, off + len, sum16(p, off + 12, off + 20, 6 + len - 20))) & 0xffff) === 0;
}

describe('offloads', () => {
  it('segments a TSO super-packet into MTU-sized packets with valid headers, sequence numbers and checksums', () => {
    const sp = superPacket(10_000);
    const out = Buffer.alloc(64 * 1024);
    const r: Segments = { count: 0, segLen: 0, total: 0 };
    assert.ok(segmentTcpV4(sp, 0, sp.length, 1420, out, r));
    assert.equal(r.count, 8);
    assert.equal(r.segLen, 20 + 32 + 1420);
    let payload = Buffer.alloc(0);
    for (let i = 0, off = 0; i < r.count; i++, off += r.segLen) {
      const len = out.readUInt16BE(off + 2);
      assert.equal(len, i < r.count - 1 ? r.segLen : r.total - off);
      assert.equal(internetChecksum(out, off, off + 20), 0, `segment ${i}: IP checksum`);
      assert.ok(tcpChecksumOk(out, off, len), `segment ${i}: TCP checksum`);
      assert.equal(out.readUInt16BE(off + 4), (0xfff0 + i) & 0xffff);
      assert.equal(out.readUInt32BE(off + 24), (0xfffff000 + i * 1420) >>> 0);
      assert.equal(out[off + 33], i === r.count - 1 ? 0x18 : 0x10, 'PSH on the last segment only');
      payload = Buffer.concat([payload, out.subarray(off + 52, off + len)]);
    }
    assert.deepEqual(payload, sp.subarray(52));
  });

  it('completes a partial checksum as a NIC would', () => {
    const p = superPacket(300);
    p.writeUInt16BE(fold(sum16(p, 12, 20, 6 + p.length - 20)), 36); // pseudo-header sum only
    assert.ok(completeChecksum(p, 0, p.length, 20, 16));
    assert.ok(tcpChecksumOk(p, 0, p.length));
    assert.equal(completeChecksum(p, 0, 30, 20, 16), false, 'checksum field beyond the packet');
  });

  it('merges the segments back into one GSO packet, and passes anything else through unchanged', () => {
    const sp = superPacket(10_000);
    const segs = Buffer.alloc(64 * 1024);
    const r: Segments = { count: 0, segLen: 0, total: 0 };
    segmentTcpV4(sp, 0, sp.length, 1420, segs, r);
    const emitted: Buffer[] = [];
    const c = new TcpCoalescer((b, len) => emitted.push(Buffer.from(b.subarray(0, len))));
    for (let off = 0; off < r.total; off += r.segLen) c.add(segs, off, segs.readUInt16BE(off + 2));
    const ping = packet({ src: '10.42.1.2', dst: '10.42.2.3', proto: 1, payload: 56 });
    c.add(ping, 0, ping.length);
    c.flush();
    assert.equal(emitted.length, 2);
    const [merged, single] = emitted as [Buffer, Buffer];
    assert.deepEqual([merged[0], merged[1], merged.readUInt16LE(2), merged.readUInt16LE(4), merged.readUInt16LE(6), merged.readUInt16LE(8)],
      [VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 52, 1420, 20, 16], 'virtio header: partial checksum, TCPv4 GSO of 1420');
    const ip = merged.subarray(VNET_HDR_LEN);
    assert.equal(ip.readUInt16BE(2), sp.length);
    assert.equal(internetChecksum(ip, 0, 20), 0);
    assert.equal(ip.readUInt32BE(24), 0xfffff000);
    assert.equal(ip[33], 0x18, 'PSH of the last segment kept');
    assert.equal(ip.readUInt16BE(36), fold(sum16(ip, 12, 20, 6 + ip.length - 20)), 'pseudo-header sum for the stack to complete');
    assert.deepEqual(ip.subarray(52), sp.subarray(52));
    assert.deepEqual(single.subarray(0, VNET_HDR_LEN), Buffer.alloc(VNET_HDR_LEN));
    assert.deepEqual(single.subarray(VNET_HDR_LEN), ping);
  });

  it('does not merge across a gap in sequence numbers, another flow, or after a short segment', () => {
    const a = superPacket(1000, { flags: 0x10, seq: 1000 });
    const gap = superPacket(1000, { flags: 0x10, seq: 3000 });
    const short = superPacket(500, { flags: 0x10, seq: 4000 });
    const after = superPacket(1000, { flags: 0x10, seq: 4500 });
    const other = superPacket(1000, { flags: 0x10, seq: 5500 });
    other.writeUInt16BE(40001, 20);
    const lens: number[] = [];
    const c = new TcpCoalescer((_b, len) => lens.push(len - VNET_HDR_LEN));
    for (const p of [a, gap, short, after, other]) c.add(p, 0, p.length);
    c.flush();
    const one = 52 + 1000;
    assert.deepEqual(lens, [one, one + 500, one, one]);
  });
});

/**
 * The udp backend's pure parts: IPv4 header handling (TTL/checksum, ICMP net unreachable), the
 * peer table (routing by inner destination, the spoofed-source check), its config and peers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr, parseIp } from '../../shared/ip/cidr.js';
import { InvalidConfigError } from '../../shared/errors.js';
import { decrementTtl, destinationOf, internetChecksum, isIpv4, netUnreachable, sourceOf, writeU32 } from '../../daemon/backend/udp/ip-packet.js';
import { PeerTable, sockaddrIn } from '../../daemon/backend/udp/peer-table.js';
import { parseUdpConfig, udpPeers } from '../../daemon/backend/udp/udp-backend.js';
import type { Lease } from '../../daemon/subnet/lease.js';

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
});

import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../../dns/wire/encode.ts';
import { ipv6Bytes, reverseName, reverseZoneForCidr } from '../../../dns/wire/ip.ts';

/** Put a writer's records behind a header + question so dns-packet can decode them. */
function decode(qname: string, w: Writer, an: number, ns = 0) {
  const head = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: qname, type: 'A' }] });
  head.writeUInt16BE(an, 6);
  head.writeUInt16BE(ns, 8);
  return dnsPacket.decode(Buffer.concat([head, w.bytes()]));
}

const dictFor = (qname: string) => {
  const d = new Map<string, number>();
  const labels = qname.split('.');
  let off = 12;
  labels.forEach((l, i) => {
    d.set(labels.slice(i).join('.'), off);
    off += l.length + 1;
  });
  return d;
};

describe('Writer', () => {
  it('encodes every supported type and compresses against the question', () => {
    const q = 'app.example.test';
    const w = new Writer(12 + q.length + 2 + 4, dictFor(q));
    w.record({ owner: q, ttl: 60, data: { type: 'A', address: '192.0.2.1' } });
    w.record({ owner: q, ttl: 60, data: { type: 'AAAA', address: '2001:db8::1' } });
    w.record({ owner: q, ttl: 60, data: { type: 'CNAME', target: 'www.example.test' } });
    w.record({ owner: q, ttl: 60, data: { type: 'PTR', target: 'host.example.test' } });
    w.record({ owner: q, ttl: 60, data: { type: 'NS', target: 'ns.example.test' } });
    w.record({ owner: q, ttl: 60, data: { type: 'TXT', texts: ['x'.repeat(300)] } });
    w.record({
      owner: 'example.test',
      ttl: 30,
      data: {
        type: 'SOA',
        soa: {
          mname: 'ns.example.test',
          rname: 'hostmaster.example.test',
          serial: 5,
          refresh: 1,
          retry: 2,
          expire: 3,
          minimum: 4,
        },
      },
    });
    const d = decode(q, w, 7);
    expect(d.answers?.map((r) => r.type)).toEqual(['A', 'AAAA', 'CNAME', 'PTR', 'NS', 'TXT', 'SOA']);
    expect((d.answers![1] as { data: string }).data).toBe('2001:db8::1');
    expect((d.answers![2] as { data: string }).data).toBe('www.example.test');
    // TXT over 255 bytes is split into character-strings that together hold the whole value.
    const txt = (d.answers![5] as { data: Buffer[] }).data;
    expect(txt.map((b) => b.length)).toEqual([255, 45]);
    expect((d.answers![6] as { data: { serial: number; rname: string } }).data).toMatchObject({
      serial: 5,
      rname: 'hostmaster.example.test',
      minimum: 4,
    });
    // Owner names are 2-byte pointers to the question: far shorter than writing them out.
    expect(w.length).toBeLessThan(7 * 20 + 300 + 100);
  });

  it('a pointer owner points where it is told (wildcard synthesis)', () => {
    const w = new Writer(12 + 20, new Map());
    w.record({ owner: { pointer: 12 }, ttl: 1, data: { type: 'A', address: '192.0.2.9' } });
    expect([...w.bytes().subarray(0, 2)]).toEqual([0xc0, 12]);
  });

  it('OPT record layout', () => {
    const w = new Writer(0);
    w.opt(1232, 1, true);
    expect([...w.bytes()]).toEqual([0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 0]);
  });
});

describe('ip helpers', () => {
  it('parses IPv6 forms', () => {
    expect(Buffer.from(ipv6Bytes('::1')).toString('hex')).toBe(`${'0'.repeat(31)}1`);
    expect(Buffer.from(ipv6Bytes('2001:db8::ffff:192.0.2.1')).toString('hex')).toBe(
      '20010db8000000000000ffffc0000201',
    );
    expect(() => ipv6Bytes('2001:db8::g')).toThrow();
  });

  it('reverse names and zones', () => {
    expect(reverseName('192.0.2.10')).toBe('10.2.0.192.in-addr.arpa');
    expect(reverseName('2001:db8::1')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`);
    expect(reverseZoneForCidr('192.0.2.0/24')).toBe('2.0.192.in-addr.arpa');
    expect(reverseZoneForCidr('2001:db8::/32')).toBe('8.b.d.0.1.0.0.2.ip6.arpa');
    expect(() => reverseZoneForCidr('192.0.2.0/25')).toThrow('/24');
  });
});

// The answer policy, rule by rule, with no sockets: query bytes in, response bytes out, decoded by
// dns-packet. Each `it` names the RFC rule it checks.

import { describe, expect, it } from 'vitest';
import { answer } from '../../../dns/zone/answer.ts';
import { answers, ask, query, rcodeOf, snapshots, zone } from '../helpers.ts';

const bigTxt = Array.from({ length: 6 }, (_, i) => `${String(i).repeat(100)}`); // ~650 bytes of TXT
const hugeTxt = Array.from({ length: 14 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(118)}`); // > 1232

const set = snapshots(
  zone('k8s.home.arpa', [
    { name: 'app', type: 'A', values: ['192.0.2.10', '192.0.2.11'] },
    { name: 'v6', type: 'AAAA', values: ['2001:db8::1'] },
    { name: 'dual', type: 'A', values: ['192.0.2.12'] },
    { name: 'dual', type: 'AAAA', values: ['2001:db8::12'] },
    { name: '*.apps', type: 'A', values: ['192.0.2.20'], ttl: 60 },
    { name: 'x.apps', type: 'A', values: ['192.0.2.21'] },
    { name: 'a.b.apps', type: 'A', values: ['192.0.2.22'] },
    { name: 'leaf.deep', type: 'A', values: ['192.0.2.23'] },
    { name: 'www', type: 'CNAME', values: ['app.k8s.home.arpa'] },
    { name: 'chain', type: 'CNAME', values: ['www.k8s.home.arpa.'] },
    { name: 'dangling', type: 'CNAME', values: ['nowhere.k8s.home.arpa'] },
    { name: 'ext', type: 'CNAME', values: ['example.org'] },
    { name: 'loop1', type: 'CNAME', values: ['loop2.k8s.home.arpa'] },
    { name: 'loop2', type: 'CNAME', values: ['loop1.k8s.home.arpa'] },
    { name: '*.wc', type: 'CNAME', values: ['app.k8s.home.arpa'] },
    { name: 'txt', type: 'TXT', values: ['hello world'] },
    { name: 'big', type: 'TXT', values: bigTxt },
    { name: 'huge', type: 'TXT', values: hugeTxt },
  ]),
  zone('short.test', [{ name: 'gone', type: 'A', values: ['192.0.2.99'] }], {
    ttl: 20,
    soa: { minimum: 3600 },
  }),
  zone('sub.k8s.home.arpa', [{ name: 'inner', type: 'A', values: ['192.0.2.30'] }]),
  zone('2.0.192.in-addr.arpa', []),
);

describe('positive answers', () => {
  it('exact name: records, AA set, RA clear, RD copied, ID copied', () => {
    const a = ask(set, 'app.k8s.home.arpa', 'A', { id: 0xbeef });
    expect(a.p.id).toBe(0xbeef);
    expect(a.p.rcode).toBe('NOERROR');
    expect(a.p.flag_aa).toBe(true);
    expect(a.p.flag_ra).toBe(false);
    expect(a.p.flag_rd).toBe(true);
    expect(answers(a)).toEqual(['app.k8s.home.arpa 300 A 192.0.2.10', 'app.k8s.home.arpa 300 A 192.0.2.11']);
    expect(a.p.authorities).toEqual([]);
  });

  it('RD clear in the query stays clear; CD is copied', () => {
    const a = ask(set, 'app.k8s.home.arpa', 'A', { rd: false, cd: true });
    expect(a.p.flag_rd).toBe(false);
    expect(a.raw[3]! & 0x10).toBe(0x10);
  });

  it('0x20: the question and the owner names keep the query letter case byte for byte', () => {
    const name = 'ApP.K8s.HoMe.aRpA';
    const a = ask(set, name, 'A');
    expect(a.p.questions?.[0]?.name).toBe(name);
    expect(a.p.answers?.map((r) => r.name)).toEqual([name, name]);
  });

  it('AAAA records', () => {
    expect(answers(ask(set, 'v6.k8s.home.arpa', 'AAAA'))).toEqual(['v6.k8s.home.arpa 300 AAAA 2001:db8::1']);
  });

  it('TXT records', () => {
    expect(answers(ask(set, 'txt.k8s.home.arpa', 'TXT'))).toEqual(['txt.k8s.home.arpa 300 TXT hello world']);
  });

  it('SOA and NS at the apex, with the configured serial', () => {
    const soa = ask(set, 'k8s.home.arpa', 'SOA');
    expect(soa.p.answers?.[0]?.type).toBe('SOA');
    expect((soa.p.answers![0] as { data: { serial: number; mname: string } }).data).toMatchObject({
      serial: 2026010101,
      mname: 'ns.k8s.home.arpa',
      rname: 'hostmaster.k8s.home.arpa',
    });
    expect(answers(ask(set, 'k8s.home.arpa', 'NS'))).toEqual(['k8s.home.arpa 300 NS ns.k8s.home.arpa']);
  });

  it('the deepest configured zone answers for its names', () => {
    const a = ask(set, 'inner.sub.k8s.home.arpa', 'A');
    expect(answers(a)).toEqual(['inner.sub.k8s.home.arpa 300 A 192.0.2.30']);
    const soa = ask(set, 'nope.sub.k8s.home.arpa', 'A');
    expect(soa.p.authorities?.[0]?.name).toBe('sub.k8s.home.arpa');
  });
});

describe('negative answers (RFC 2308, 8020, 4074)', () => {
  it('NXDOMAIN carries the SOA with TTL = min(SOA TTL, minimum)', () => {
    const a = ask(set, 'nope.k8s.home.arpa', 'A');
    expect(a.p.rcode).toBe('NXDOMAIN');
    expect(a.p.flag_aa).toBe(true);
    expect(a.p.answers).toEqual([]);
    expect(a.p.authorities?.map((r) => [r.name, r.type, r.ttl])).toEqual([['k8s.home.arpa', 'SOA', 30]]);
    // SOA TTL 20 < minimum 3600 → 20
    const b = ask(set, 'nope.short.test', 'A');
    expect(b.p.authorities?.map((r) => [r.type, r.ttl])).toEqual([['SOA', 20]]);
  });

  it('NXDOMAIN keeps the question case and still points the SOA owner at the apex', () => {
    const a = ask(set, 'NoPe.Deeper.K8S.home.arpa', 'A');
    expect(a.p.questions?.[0]?.name).toBe('NoPe.Deeper.K8S.home.arpa');
    expect(a.p.authorities?.[0]?.name.toLowerCase()).toBe('k8s.home.arpa');
  });

  it('A-only name asked AAAA → NOERROR NODATA with SOA, never NXDOMAIN (RFC 4074)', () => {
    const a = ask(set, 'app.k8s.home.arpa', 'AAAA');
    expect(a.p.rcode).toBe('NOERROR');
    expect(a.p.answers).toEqual([]);
    expect(a.p.authorities?.map((r) => [r.type, r.ttl])).toEqual([['SOA', 30]]);
  });

  it('types nobody has (HTTPS, MX) at an existing name → NODATA', () => {
    for (const t of [65, 'MX']) {
      const a = ask(set, 'app.k8s.home.arpa', t);
      expect(a.p.rcode).toBe('NOERROR');
      expect(a.p.authorities?.[0]?.type).toBe('SOA');
    }
  });

  it('empty non-terminal → NODATA, not NXDOMAIN (RFC 8020)', () => {
    const a = ask(set, 'deep.k8s.home.arpa', 'A');
    expect(a.p.rcode).toBe('NOERROR');
    expect(a.p.answers).toEqual([]);
    expect(a.p.authorities?.[0]?.type).toBe('SOA');
  });

  it('a name below a leaf → NXDOMAIN', () => {
    expect(ask(set, 'under.app.k8s.home.arpa', 'A').p.rcode).toBe('NXDOMAIN');
  });

  it('apex A → NODATA', () => {
    expect(ask(set, 'k8s.home.arpa', 'A').p.rcode).toBe('NOERROR');
    expect(ask(set, 'k8s.home.arpa', 'A').p.authorities?.[0]?.type).toBe('SOA');
  });
});

describe('wildcards (RFC 4592)', () => {
  it('*.apps matches any depth below apps, owner = the query name, wildcard TTL', () => {
    for (const name of ['one.apps.k8s.home.arpa', 'a.b.c.d.apps.k8s.home.arpa', 'MiXeD.Apps.k8s.home.arpa']) {
      expect(answers(ask(set, name, 'A'))).toEqual([`${name} 60 A 192.0.2.20`]);
    }
  });

  it('synthesised names have NODATA for other types', () => {
    const a = ask(set, 'one.apps.k8s.home.arpa', 'AAAA');
    expect(a.p.rcode).toBe('NOERROR');
    expect(a.p.answers).toEqual([]);
    expect(a.p.authorities?.[0]?.type).toBe('SOA');
  });

  it('an existing name is not overridden by the wildcard', () => {
    expect(answers(ask(set, 'x.apps.k8s.home.arpa', 'A'))).toEqual(['x.apps.k8s.home.arpa 300 A 192.0.2.21']);
    expect(ask(set, 'x.apps.k8s.home.arpa', 'AAAA').p.rcode).toBe('NOERROR');
    expect(ask(set, 'x.apps.k8s.home.arpa', 'AAAA').p.answers).toEqual([]);
  });

  it('below an existing name the wildcard does not apply (closest encloser is that name)', () => {
    expect(ask(set, 'z.x.apps.k8s.home.arpa', 'A').p.rcode).toBe('NXDOMAIN');
  });

  it('an empty non-terminal blocks the wildcard: itself NODATA, below it NXDOMAIN', () => {
    const ent = ask(set, 'b.apps.k8s.home.arpa', 'A');
    expect(ent.p.rcode).toBe('NOERROR');
    expect(ent.p.answers).toEqual([]);
    expect(ask(set, 'c.b.apps.k8s.home.arpa', 'A').p.rcode).toBe('NXDOMAIN');
  });

  it('the wildcard owner itself can be asked', () => {
    expect(answers(ask(set, '*.apps.k8s.home.arpa', 'A'))).toEqual(['*.apps.k8s.home.arpa 60 A 192.0.2.20']);
  });

  it('the apps node itself is an empty non-terminal (NODATA)', () => {
    expect(ask(set, 'apps.k8s.home.arpa', 'A').p.rcode).toBe('NOERROR');
  });

  it('wildcard CNAME: synthesised CNAME owned by the query name, chased inside the zone', () => {
    expect(answers(ask(set, 'q.wc.k8s.home.arpa', 'A'))).toEqual([
      'q.wc.k8s.home.arpa 300 CNAME app.k8s.home.arpa',
      'app.k8s.home.arpa 300 A 192.0.2.10',
      'app.k8s.home.arpa 300 A 192.0.2.11',
    ]);
  });

  it('answers for different query-name lengths under one wildcard all decode (per-length bodies)', () => {
    for (let n = 1; n <= 40; n++) {
      const name = `${'q'.repeat(n)}.apps.k8s.home.arpa`;
      expect(answers(ask(set, name, 'A'))).toEqual([`${name} 60 A 192.0.2.20`]);
      const nx = ask(set, `${'y'.repeat(n)}.k8s.home.arpa`, 'A');
      expect(nx.p.authorities?.[0]?.name).toBe('k8s.home.arpa');
    }
  });
});

describe('CNAME', () => {
  it('is chased inside the zone', () => {
    expect(answers(ask(set, 'chain.k8s.home.arpa', 'A'))).toEqual([
      'chain.k8s.home.arpa 300 CNAME www.k8s.home.arpa',
      'www.k8s.home.arpa 300 CNAME app.k8s.home.arpa',
      'app.k8s.home.arpa 300 A 192.0.2.10',
      'app.k8s.home.arpa 300 A 192.0.2.11',
    ]);
  });

  it('asked for CNAME returns only the CNAME', () => {
    expect(answers(ask(set, 'www.k8s.home.arpa', 'CNAME'))).toEqual([
      'www.k8s.home.arpa 300 CNAME app.k8s.home.arpa',
    ]);
  });

  it('target without the type → CNAME + SOA, NOERROR', () => {
    const a = ask(set, 'www.k8s.home.arpa', 'AAAA');
    expect(a.p.rcode).toBe('NOERROR');
    expect(a.p.answers?.map((r) => r.type)).toEqual(['CNAME']);
    expect(a.p.authorities?.[0]?.type).toBe('SOA');
  });

  it('target missing in the zone → NXDOMAIN with the CNAME (RFC 6604)', () => {
    const a = ask(set, 'dangling.k8s.home.arpa', 'A');
    expect(a.p.rcode).toBe('NXDOMAIN');
    expect(a.p.answers?.map((r) => r.type)).toEqual(['CNAME']);
  });

  it('target outside the zone → the CNAME alone; we never recurse', () => {
    const a = ask(set, 'ext.k8s.home.arpa', 'A');
    expect(a.p.rcode).toBe('NOERROR');
    expect(answers(a)).toEqual(['ext.k8s.home.arpa 300 CNAME example.org']);
    expect(a.p.authorities).toEqual([]);
  });

  it('a loop terminates with a bounded answer', () => {
    const a = ask(set, 'loop1.k8s.home.arpa', 'A');
    expect(a.p.answers?.length).toBeLessThanOrEqual(10);
    expect(a.p.answers?.every((r) => r.type === 'CNAME')).toBe(true);
  });
});

describe('ANY (RFC 8482)', () => {
  it('answers with one RRset only', () => {
    const a = ask(set, 'dual.k8s.home.arpa', 'ANY');
    const types = new Set(a.p.answers?.map((r) => r.type));
    expect(types.size).toBe(1);
  });

  it('at an empty non-terminal → NODATA', () => {
    const a = ask(set, 'deep.k8s.home.arpa', 'ANY');
    expect(a.p.answers).toEqual([]);
    expect(a.p.authorities?.[0]?.type).toBe('SOA');
  });

  it('synthesised from a wildcard', () => {
    expect(answers(ask(set, 'q.apps.k8s.home.arpa', 'ANY'))).toEqual([
      'q.apps.k8s.home.arpa 60 A 192.0.2.20',
    ]);
  });
});

describe('PTR for reverse zones', () => {
  it('generates PTR for A records whose address is in a configured reverse zone', () => {
    expect(answers(ask(set, '10.2.0.192.in-addr.arpa', 'PTR'))).toEqual([
      '10.2.0.192.in-addr.arpa 300 PTR app.k8s.home.arpa',
    ]);
    expect(ask(set, '99.2.0.192.in-addr.arpa', 'PTR').p.rcode).toBe('NOERROR'); // gone.short.test
    expect(ask(set, '250.2.0.192.in-addr.arpa', 'PTR').p.rcode).toBe('NXDOMAIN');
  });

  it('wildcard owners get no PTR', () => {
    expect(ask(set, '20.2.0.192.in-addr.arpa', 'PTR').p.rcode).toBe('NXDOMAIN');
  });

  it('ip6.arpa zones work the same way', () => {
    const s6 = snapshots(
      zone('example.test', [{ name: 'h', type: 'AAAA', values: ['2001:db8::5'] }]),
      zone('8.b.d.0.1.0.0.2.ip6.arpa', []),
    );
    const name = `5.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`;
    expect(answers(ask(s6, name, 'PTR'))).toEqual([`${name} 300 PTR h.example.test`]);
  });
});

describe('refusals and errors', () => {
  it('REFUSED outside every zone, AA clear, no records', () => {
    for (const name of ['example.com', 'home.arpa', '.']) {
      const a = ask(set, name === '.' ? '' : name, 'A');
      expect(a.p.rcode).toBe('REFUSED');
      expect(a.p.flag_aa).toBe(false);
      expect(a.p.answers).toEqual([]);
    }
  });

  it('REFUSED for class CH and for zone transfers', () => {
    expect(ask(set, 'app.k8s.home.arpa', 'A', { qclass: 3 }).p.rcode).toBe('REFUSED');
    expect(ask(set, 'k8s.home.arpa', 'AXFR').p.rcode).toBe('REFUSED');
    expect(ask(set, 'k8s.home.arpa', 'IXFR').p.rcode).toBe('REFUSED');
  });

  it('NOTIMP for opcodes other than QUERY', () => {
    const q = query('app.k8s.home.arpa', 'A');
    q[2] = (q[2]! & 0x87) | (2 << 3); // STATUS
    const r = answer(q, set)!;
    expect(rcodeOf(r)).toBe(4);
    expect((r[2]! >> 3) & 0xf).toBe(2);
    expect(r[2]! & 0x80).toBe(0x80);
  });

  it('FORMERR for two questions and for a compressed question name', () => {
    const two = query('app.k8s.home.arpa', 'A');
    two[5] = 2;
    expect(rcodeOf(answer(two, set)!)).toBe(1);
    const ptr = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]);
    expect(rcodeOf(answer(ptr, set)!)).toBe(1);
  });

  it('SERVFAIL while not synced, never an answer', () => {
    const a = ask(null, 'app.k8s.home.arpa', 'A');
    expect(a.p.rcode).toBe('SERVFAIL');
    expect(a.p.answers).toEqual([]);
  });

  it('no reply to responses or runts', () => {
    const resp = query('app.k8s.home.arpa', 'A');
    resp[2] = resp[2]! | 0x80;
    expect(answer(resp, set)).toBeNull();
    expect(answer(Buffer.from([1, 2, 3]), set)).toBeNull();
  });
});

describe('EDNS (RFC 6891) and truncation', () => {
  it('echoes an OPT with our payload size only when the query had one; DO copied', () => {
    const a = ask(set, 'app.k8s.home.arpa', 'A', { edns: true, dnssecOk: true });
    const opt = a.p.additionals?.find((r) => r.type === 'OPT') as unknown as {
      udpPayloadSize: number;
      flags: number;
    };
    expect(opt.udpPayloadSize).toBe(1232);
    expect(opt.flags & 0x8000).toBe(0x8000);
    expect(ask(set, 'app.k8s.home.arpa', 'A').p.additionals).toEqual([]);
  });

  it('BADVERS for EDNS version ≠ 0, with an OPT saying version 0', () => {
    const a = ask(set, 'app.k8s.home.arpa', 'A', { edns: true, ednsVersion: 1 });
    expect(a.info.rcode).toBe(16);
    expect(rcodeOf(a.raw)).toBe(0);
    const opt = a.raw.subarray(a.raw.length - 11);
    expect(opt[5]).toBe(1); // extended rcode upper bits: 16 >> 4
    expect(opt[6]).toBe(0); // version
    expect(a.p.answers).toEqual([]);
  });

  it('over 512 without EDNS → TC=1 and no records; with EDNS it fits', () => {
    const plain = ask(set, 'big.k8s.home.arpa', 'TXT');
    expect(plain.p.flag_tc).toBe(true);
    expect(plain.p.answers).toEqual([]);
    expect(plain.raw.length).toBeLessThanOrEqual(512);
    const edns = ask(set, 'big.k8s.home.arpa', 'TXT', { edns: true, udpSize: 1232 });
    expect(edns.p.flag_tc).toBe(false);
    expect(edns.p.answers?.length).toBe(6);
  });

  it('payload = min(client, 1232): over 1232 truncates even if the client offers 4096', () => {
    const a = ask(set, 'huge.k8s.home.arpa', 'TXT', { edns: true, udpSize: 4096 });
    expect(a.p.flag_tc).toBe(true);
    expect(a.info.truncated).toBe(true);
    expect(a.p.additionals?.some((r) => r.type === 'OPT')).toBe(true);
  });

  it('client sizes under 512 count as 512', () => {
    const a = ask(set, 'app.k8s.home.arpa', 'A', { edns: true, udpSize: 100 });
    expect(a.p.flag_tc).toBe(false);
  });

  it('over TCP nothing is truncated', () => {
    const a = ask(set, 'huge.k8s.home.arpa', 'TXT', { edns: true, opts: { tcp: true } });
    expect(a.p.flag_tc).toBe(false);
    expect(a.p.answers?.length).toBe(14);
  });

  it('a larger configured payload lets bigger answers through', () => {
    const a = ask(set, 'huge.k8s.home.arpa', 'TXT', {
      edns: true,
      udpSize: 4096,
      opts: { maxUdpPayload: 4096 },
    });
    expect(a.p.flag_tc).toBe(false);
  });
});

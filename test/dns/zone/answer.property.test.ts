// Properties of answer(): no input makes it throw, and whatever it sends parses with an independent
// codec; against a model of random zones, names resolve to exactly their records.

import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answer } from '../../../dns/zone/answer.ts';
import { answers, ask, query, snapshots, zone } from '../helpers.ts';

const set = snapshots(
  zone('k8s.home.arpa', [
    { name: 'app', type: 'A', values: ['192.0.2.10'] },
    { name: '*.apps', type: 'A', values: ['192.0.2.20'] },
    { name: 'www', type: 'CNAME', values: ['app.k8s.home.arpa'] },
    { name: 'txt', type: 'TXT', values: ['x'.repeat(700)] },
  ]),
  zone('2.0.192.in-addr.arpa', []),
);

function checkResponse(msg: Uint8Array, out: Uint8Array | null, tcp: boolean): void {
  if (out === null) return;
  expect(out.length).toBeGreaterThanOrEqual(12);
  expect(out.length).toBeLessThanOrEqual(tcp ? 65535 : 1232);
  expect(out[0]).toBe(msg[0]);
  expect(out[1]).toBe(msg[1]);
  expect(out[2]! & 0x80).toBe(0x80);
  // Must parse with dns-packet: no dangling pointers, counts matching sections.
  dnsPacket.decode(Buffer.from(out));
}

const seeds = [
  query('app.k8s.home.arpa', 'A', { edns: true }),
  query('Q.apps.k8s.home.arpa', 'AAAA'),
  query('www.k8s.home.arpa', 'A', { edns: true, udpSize: 512 }),
  query('txt.k8s.home.arpa', 'TXT'),
  query('nope.k8s.home.arpa', 'ANY', { edns: true }),
  query('10.2.0.192.in-addr.arpa', 'PTR'),
  query('example.com', 'A'),
];

describe('answer() on arbitrary input', () => {
  it('random bytes: never throws; no reply or a reply that parses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, tcp) => {
        const msg = Buffer.from(bytes);
        checkResponse(msg, answer(msg, set, { tcp, maxUdpPayload: 1232 }), tcp);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated real queries: never throws; no reply or a reply that parses', () => {
    const mutation = fc.record({
      seed: fc.nat(seeds.length - 1),
      edits: fc.array(fc.tuple(fc.nat(300), fc.nat(255)), { maxLength: 6 }),
      cut: fc.option(fc.nat(120)),
      extra: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(mutation, fc.boolean(), ({ seed, edits, cut, extra }, tcp) => {
        let msg = Buffer.from(seeds[seed]!);
        for (const [pos, val] of edits) if (pos < msg.length) msg[pos] = val;
        if (cut !== null) msg = msg.subarray(0, cut);
        if (extra.length && edits.length % 2) msg = Buffer.concat([msg, extra]);
        checkResponse(msg, answer(msg, set, { tcp, maxUdpPayload: 1232 }), tcp);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('answer() against a model of random zones', () => {
  const label = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
  const ip = fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `198.51.${a}.${b}`);
  const names = fc.uniqueArray(
    fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')),
    {
      minLength: 1,
      maxLength: 30,
    },
  );

  it('every name answers its own A records in any letter case; its ancestors are NODATA; others NXDOMAIN', () => {
    fc.assert(
      fc.property(
        names,
        fc.array(ip, { minLength: 30, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        (ns, ips, caseBits) => {
          const s = snapshots(
            zone(
              'model.test',
              ns.map((n, i) => ({ name: n, type: 'A' as const, values: [ips[i]!] })),
            ),
          );
          const owners = new Set(ns);
          ns.forEach((n, i) => {
            const asked = `${n}.model.test`
              .split('')
              .map((c, j) => (caseBits[j % 40] ? c.toUpperCase() : c))
              .join('');
            expect(answers(ask(s, asked, 'A'))).toEqual([`${asked} 300 A ${ips[i]}`]);
            const labels = n.split('.');
            for (let k = 1; k < labels.length; k++) {
              const anc = labels.slice(k).join('.');
              if (owners.has(anc)) continue;
              const a = ask(s, `${anc}.model.test`, 'A');
              expect(a.p.rcode).toBe('NOERROR');
              expect(a.p.answers).toEqual([]);
            }
            const below = ask(s, `zz-none.${n}.model.test`, 'A');
            expect(below.p.rcode).toBe('NXDOMAIN');
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

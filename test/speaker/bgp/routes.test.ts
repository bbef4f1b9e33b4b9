import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type UpdateMessage } from '../../../speaker/bgp/codec.ts';
import type { Session } from '../../../speaker/bgp/negotiate.ts';
import { advertise, type Route, withdraw } from '../../../speaker/bgp/routes.ts';
import { formatIPv4, formatIPv6 } from '../../../speaker/layer2/addr.ts';

const V4 = { afi: 1, safi: 1 };
const V6 = { afi: 2, safi: 1 };
const EBGP: Session = {
  peerAs: 65000,
  peerId: '10.0.0.1',
  internal: false,
  holdTime: 9,
  keepaliveTime: 3,
  fourOctetAs: true,
  families: [V4, V6],
  routeRefresh: true,
};
const NH = { nextHopV4: '192.0.2.1', nextHopV6: ['2001:db8::1', 'fe80::1'] };

describe('advertise', () => {
  it('eBGP: ORIGIN IGP, AS_PATH [our AS], NEXT_HOP for IPv4; MP_REACH first for IPv6; no LOCAL_PREF', () => {
    const r = advertise([{ prefix: '198.51.100.10/32' }, { prefix: '2001:db8:1::10/128' }], {
      localAs: 65001,
      session: EBGP,
      ...NH,
    });
    expect(r.skipped).toEqual([]);
    expect(r.updates).toEqual([
      {
        type: 'update',
        withdrawn: [],
        attributes: [
          { type: 'origin', value: 0 },
          { type: 'as-path', segments: [{ type: 2, asns: [65001] }] },
          { type: 'next-hop', address: '192.0.2.1' },
        ],
        nlri: ['198.51.100.10/32'],
      },
      {
        type: 'update',
        withdrawn: [],
        attributes: [
          {
            type: 'mp-reach',
            afi: 2,
            safi: 1,
            nextHops: ['2001:db8::1', 'fe80::1'],
            nlri: ['2001:db8:1::10/128'],
          },
          { type: 'origin', value: 0 },
          { type: 'as-path', segments: [{ type: 2, asns: [65001] }] },
        ],
        nlri: [],
      },
    ]);
  });

  it('iBGP: empty AS_PATH and LOCAL_PREF', () => {
    const r = advertise([{ prefix: '198.51.100.10/32' }], {
      localAs: 65001,
      session: { ...EBGP, internal: true },
      ...NH,
      localPref: 200,
    });
    expect(r.updates[0]!.attributes).toEqual([
      { type: 'origin', value: 0 },
      { type: 'as-path', segments: [] },
      { type: 'local-pref', value: 200 },
      { type: 'next-hop', address: '192.0.2.1' },
    ]);
  });

  it('iBGP: per-route LOCAL_PREF splits the UPDATEs; eBGP ignores it', () => {
    const routes: Route[] = [
      { prefix: '198.51.100.1/32', localPref: 300 },
      { prefix: '198.51.100.2/32' },
      { prefix: '198.51.100.3/32', localPref: 300 },
    ];
    const ibgp = advertise(routes, { localAs: 65001, session: { ...EBGP, internal: true }, ...NH });
    expect(ibgp.updates.map((u) => [u.nlri, u.attributes.find((a) => a.type === 'local-pref')])).toEqual([
      [['198.51.100.1/32', '198.51.100.3/32'], { type: 'local-pref', value: 300 }],
      [['198.51.100.2/32'], { type: 'local-pref', value: 100 }],
    ]);
    const ebgp = advertise(routes, { localAs: 65001, session: EBGP, ...NH });
    expect(ebgp.updates).toHaveLength(1);
    expect(ebgp.updates[0]!.attributes.some((a) => a.type === 'local-pref')).toBe(false);
  });

  it('a 4-octet AS towards a 2-octet peer: AS_TRANS in AS_PATH, the real AS in AS4_PATH', () => {
    const session = { ...EBGP, fourOctetAs: false };
    const r = advertise([{ prefix: '198.51.100.10/32' }], { localAs: 4_200_000_000, session, ...NH });
    expect(r.updates[0]!.attributes.slice(1, 3)).toEqual([
      { type: 'as-path', segments: [{ type: 2, asns: [23456] }] },
      { type: 'as4-path', segments: [{ type: 2, asns: [4_200_000_000] }] },
    ]);
    expect(
      decodeMessage(encodeMessage(r.updates[0]!, { fourOctetAs: false }), { fourOctetAs: false }).kind,
    ).toBe('message');
  });

  it('groups by communities and skips what the session cannot carry, saying why', () => {
    const r = advertise(
      [
        { prefix: '198.51.100.1/32', communities: [1] },
        { prefix: '198.51.100.2/32', communities: [1] },
        { prefix: '198.51.100.3/32', largeCommunities: [[65001, 1, 2]] },
        { prefix: '2001:db8::1/128' },
        { prefix: '198.51.100.9/24' },
      ],
      { localAs: 65001, session: { ...EBGP, families: [V4] }, nextHopV4: '192.0.2.1' },
    );
    expect(r.updates.map((u) => u.nlri)).toEqual([
      ['198.51.100.1/32', '198.51.100.2/32'],
      ['198.51.100.3/32'],
    ]);
    expect(r.updates[1]!.attributes).toContainEqual({ type: 'large-communities', values: [[65001, 1, 2]] });
    expect(r.skipped).toEqual([
      { prefix: '2001:db8::1/128', reason: 'IPv6 unicast not negotiated' },
      { prefix: '198.51.100.9/24', reason: expect.stringMatching(/host bits/) },
    ]);
    expect(
      advertise([{ prefix: '2001:db8::1/128' }], { localAs: 1, session: EBGP, nextHopV4: '192.0.2.1' })
        .skipped,
    ).toEqual([{ prefix: '2001:db8::1/128', reason: 'no next hop of that family on this session' }]);
  });

  const host4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => `${formatIPv4(b)}/32`);
  const host6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => `${formatIPv6(b)}/128`);

  it('every UPDATE fits in 4096 octets, decodes cleanly, and together they carry exactly the routes', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.oneof(host4, host6), { maxLength: 2500 }),
        fc.boolean(),
        fc.boolean(),
        (prefixes, internal, fourOctetAs) => {
          const session = { ...EBGP, internal, fourOctetAs };
          const routes: Route[] = prefixes.map((prefix, i) => ({
            prefix,
            communities: i % 3 ? [i % 3] : [],
          }));
          const r = advertise(routes, { localAs: fourOctetAs ? 4_200_000_000 : 65001, session, ...NH });
          expect(r.skipped).toEqual([]);
          const carried: string[] = [];
          for (const u of r.updates) {
            const bytes = encodeMessage(u, { fourOctetAs });
            expect(bytes.length).toBeLessThanOrEqual(4096);
            expect(decodeMessage(bytes, { fourOctetAs, external: !internal })).toEqual({
              kind: 'message',
              message: u,
            });
            carried.push(...u.nlri, ...u.attributes.flatMap((a) => (a.type === 'mp-reach' ? a.nlri : [])));
          }
          expect(carried.sort()).toEqual([...prefixes].sort());
        },
      ),
      { numRuns: 60 },
    );
  });

  it('withdraw: IPv4 in Withdrawn Routes, IPv6 in MP_UNREACH, split at 4096 octets', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.oneof(host4, host6), { maxLength: 2500 }), (prefixes) => {
        const r = withdraw(prefixes, EBGP);
        const gone: string[] = [];
        for (const u of r.updates) {
          const bytes = encodeMessage(u, { fourOctetAs: true });
          expect(bytes.length).toBeLessThanOrEqual(4096);
          expect(decodeMessage(bytes, { fourOctetAs: true })).toEqual({ kind: 'message', message: u });
          gone.push(
            ...u.withdrawn,
            ...u.attributes.flatMap((a) => (a.type === 'mp-unreach' ? a.withdrawn : [])),
          );
        }
        expect(gone.sort()).toEqual([...prefixes].sort());
      }),
      { numRuns: 60 },
    );
    const big = withdraw(
      Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}/32`),
      EBGP,
    );
    expect(big.updates.length).toBe(2); // 1000 × 5 octets do not fit in one message
    expect((big.updates[0] as UpdateMessage).withdrawn.length).toBe(814); // floor((4096 - 23) / 5)
  });
});

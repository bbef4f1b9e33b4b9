import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AsPathSegment, CodecContext, PathAttribute } from '../../../speaker/bgp/attributes.ts';
import type { Capability } from '../../../speaker/bgp/capabilities.ts';
import {
  type Decoded,
  decodeBody,
  decodeMessage,
  encodeMessage,
  type Message,
  splitFrames,
} from '../../../speaker/bgp/codec.ts';
import { SUBCODES } from '../../../speaker/bgp/constants.ts';
import { decodePrefixes, encodePrefixes, formatPrefix, parsePrefix } from '../../../speaker/bgp/prefix.ts';
import { formatIPv4, formatIPv6 } from '../../../speaker/layer2/addr.ts';

// Generators produce canonical values (RFC 5952 IPv6 text, prefixes with host bits clear), so a
// decoded message must deep-equal the one that was encoded.

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b));

function prefixOf(afi: 1 | 2) {
  const width = afi === 1 ? 4 : 16;
  return fc
    .tuple(fc.uint8Array({ minLength: width, maxLength: width }), fc.integer({ min: 0, max: width * 8 }))
    .map(([bytes, len]) => {
      const b = Buffer.from(bytes);
      for (let i = 0; i < width; i++) {
        const keep = Math.max(0, Math.min(8, len - i * 8));
        b[i] = b[i]! & ((0xff << (8 - keep)) & 0xff);
      }
      return formatPrefix(afi, b, len);
    });
}

const segments = (maxAs: number) =>
  fc.array(
    fc.record({
      type: fc.integer({ min: 1, max: 4 }),
      asns: fc.array(fc.integer({ min: 0, max: maxAs }), { minLength: 1, maxLength: 8 }),
    }) as fc.Arbitrary<AsPathSegment>,
    { maxLength: 4 },
  );

function optionalAttributes(ctx: CodecContext): fc.Arbitrary<PathAttribute>[] {
  const maxAs = ctx.fourOctetAs ? 0xffffffff : 0xffff;
  const list: fc.Arbitrary<PathAttribute>[] = [
    u32.map((value) => ({ type: 'med', value })),
    u32.map((value) => ({ type: 'local-pref', value })),
    fc.constant({ type: 'atomic-aggregate' }),
    fc
      .record({ asn: fc.integer({ min: 0, max: maxAs }), address: v4 })
      .map((r) => ({ type: 'aggregator', ...r })),
    fc.array(u32, { minLength: 1, maxLength: 10 }).map((values) => ({ type: 'communities', values })),
    v4.map((id) => ({ type: 'originator-id', id })),
    fc.array(v4, { minLength: 1, maxLength: 4 }).map((ids) => ({ type: 'cluster-list', ids })),
    fc
      .array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 5 })
      .map((values) => ({ type: 'large-communities', values })),
    fc
      .oneof(
        fc.record({
          afi: fc.constant(1 as const),
          nextHops: v4.map((h) => [h]),
          nlri: fc.array(prefixOf(1), { maxLength: 5 }),
        }),
        fc.record({
          afi: fc.constant(2 as const),
          nextHops: fc.array(v6, { minLength: 1, maxLength: 2 }),
          nlri: fc.array(prefixOf(2), { maxLength: 5 }),
        }),
      )
      .map((r) => ({ type: 'mp-reach', safi: 1, ...r })),
    fc
      .oneof(
        fc.record({ afi: fc.constant(1 as const), withdrawn: fc.array(prefixOf(1), { maxLength: 5 }) }),
        fc.record({ afi: fc.constant(2 as const), withdrawn: fc.array(prefixOf(2), { maxLength: 5 }) }),
      )
      .map((r) => ({ type: 'mp-unreach', safi: 1, ...r })),
    fc
      .record({
        code: fc.integer({ min: 33, max: 255 }),
        flags: fc.constantFrom(0x80, 0xc0, 0xe0),
        value: fc.uint8Array({ maxLength: 300 }),
      })
      .map((r) => ({ type: 'unknown', ...r })),
  ];
  if (!ctx.fourOctetAs) {
    list.push(
      segments(0xffffffff)
        .filter((s) => s.every((x) => x.type <= 2))
        .map((s) => ({ type: 'as4-path', segments: s })),
    );
    list.push(fc.record({ asn: u32, address: v4 }).map((r) => ({ type: 'as4-aggregator', ...r })));
  }
  return list;
}

const updateArb = (ctx: CodecContext): fc.Arbitrary<Message> =>
  fc
    .record({
      withdrawn: fc.array(prefixOf(1), { maxLength: 8 }),
      nlri: fc.array(prefixOf(1), { maxLength: 8 }),
      origin: fc.integer({ min: 0, max: 2 }),
      path: segments(ctx.fourOctetAs ? 0xffffffff : 0xffff),
      nextHop: v4,
      // One of each optional kind at most: RFC 7606 §3 g discards duplicates.
      optional: fc.subarray(optionalAttributes(ctx).map((_, i) => i)),
      seeds: fc.tuple(...optionalAttributes(ctx)),
    })
    .map(({ withdrawn, nlri, origin, path, nextHop, optional, seeds }) => {
      const attributes: PathAttribute[] = [
        { type: 'origin', value: origin },
        { type: 'as-path', segments: path },
        { type: 'next-hop', address: nextHop },
        ...optional.map((i) => seeds[i]!),
      ];
      // The unknown generator may draw a code another entry uses; keep one per code.
      const seen = new Set<string>();
      const unique = attributes.filter((a) => {
        const key = a.type === 'unknown' ? `u${a.code}` : a.type;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      return { type: 'update', withdrawn, attributes: unique, nlri };
    });

const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  fc
    .record({ afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }) })
    .map((r) => ({ kind: 'multiprotocol' as const, ...r })),
  fc.constant({ kind: 'route-refresh' }),
  u32.map((asn) => ({ kind: 'four-octet-as' as const, asn })),
  fc
    .record({
      restarting: fc.boolean(),
      notification: fc.boolean(),
      restartTime: fc.integer({ min: 0, max: 4095 }),
      families: fc.array(
        fc.record({
          afi: fc.integer({ min: 0, max: 0xffff }),
          safi: fc.integer({ min: 0, max: 255 }),
          forwarding: fc.boolean(),
        }),
        { maxLength: 4 },
      ),
    })
    .map((r) => ({ kind: 'graceful-restart' as const, ...r })),
  fc
    .record({ code: fc.constantFrom(5, 6, 69, 70, 73, 128), value: fc.uint8Array({ maxLength: 12 }) })
    .map((r) => ({ kind: 'unknown' as const, ...r })),
);

const openArb: fc.Arbitrary<Message> = fc.record({
  type: fc.constant('open' as const),
  version: fc.integer({ min: 0, max: 255 }),
  myAs: fc.integer({ min: 0, max: 0xffff }),
  holdTime: fc.integer({ min: 0, max: 0xffff }),
  bgpId: v4,
  capabilities: fc.array(capabilityArb, { maxLength: 6 }),
});

const otherArb: fc.Arbitrary<Message> = fc.oneof(
  fc.constant({ type: 'keepalive' as const }),
  fc.record({
    type: fc.constant('notification' as const),
    code: fc.integer({ min: 0, max: 255 }),
    subcode: fc.integer({ min: 0, max: 255 }),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({
    type: fc.constant('route-refresh' as const),
    afi: fc.integer({ min: 0, max: 0xffff }),
    safi: fc.integer({ min: 0, max: 255 }),
    subtype: fc.integer({ min: 0, max: 255 }),
  }),
);

const ctxArb: fc.Arbitrary<CodecContext> = fc.record({ fourOctetAs: fc.boolean() });
const anyMessage = ctxArb.chain((ctx) =>
  fc.tuple(fc.constant(ctx), fc.oneof(updateArb(ctx), openArb, otherArb)),
);

/** Every outcome is one of the five kinds, and every error names a NOTIFICATION that exists. */
function checkOutcome(r: Decoded) {
  expect([
    'message',
    'attribute-discard',
    'treat-as-withdraw',
    'afi-safi-disable',
    'session-reset',
  ]).toContain(r.kind);
  if (r.kind === 'message') return;
  const subs = SUBCODES[r.notification.code];
  expect(subs, `code ${r.notification.code}`).toBeDefined();
  expect(subs).toContain(r.notification.subcode);
  expect(r.reason.length).toBeGreaterThan(0);
}

describe('codec properties', () => {
  it('decode ∘ encode = id for generated messages', () => {
    fc.assert(
      fc.property(anyMessage, ([ctx, m]) => {
        const bytes = encodeMessage(m, ctx);
        expect(bytes.length).toBeLessThanOrEqual(4096);
        expect(decodeMessage(bytes, ctx)).toEqual({ kind: 'message', message: m });
        // and the bytes are canonical: encoding the decoded message reproduces them
        expect(encodeMessage(m, ctx).equals(bytes)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('a stream cut at arbitrary points frames back to the same messages', () => {
    fc.assert(
      fc.property(
        ctxArb.chain((ctx) =>
          fc.tuple(
            fc.constant(ctx),
            fc.array(fc.oneof(updateArb(ctx), otherArb), { minLength: 1, maxLength: 6 }),
          ),
        ),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }),
        ([ctx, msgs], cuts) => {
          const stream = Buffer.concat(msgs.map((m) => encodeMessage(m, ctx)));
          let pending = Buffer.alloc(0);
          const got: Message[] = [];
          let off = 0;
          let k = 0;
          while (off < stream.length) {
            const n = cuts[k++ % cuts.length]!;
            pending = Buffer.concat([pending, stream.subarray(off, off + n)]);
            off += n;
            const s = splitFrames(pending);
            expect(s.error).toBeUndefined();
            for (const f of s.frames) {
              const d = decodeBody(f.type, f.body, ctx);
              expect(d.kind).toBe('message');
              if (d.kind === 'message') got.push(d.message);
            }
            pending = Buffer.from(s.rest);
          }
          expect(pending.length).toBe(0);
          expect(got).toEqual(msgs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw and every error names a valid NOTIFICATION', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), ctxArb, (bytes, ctx) => {
        checkOutcome(decodeMessage(bytes, ctx));
        splitFrames(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bodies behind a valid header never throw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.uint8Array({ maxLength: 300 }),
        ctxArb,
        (type, body, ctx) => {
          const head = Buffer.alloc(19, 0xff);
          head.writeUInt16BE(19 + body.length, 16);
          head[18] = type;
          checkOutcome(decodeMessage(Buffer.concat([head, body]), ctx));
          checkOutcome(decodeBody(type, Buffer.from(body), ctx));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated valid messages never throw and every error names a valid NOTIFICATION', () => {
    fc.assert(
      fc.property(
        anyMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        ([ctx, m], edits, truncate) => {
          const bytes = Buffer.from(encodeMessage(m, ctx));
          // Mutate past the marker mostly (a broken marker is the least interesting error).
          for (const [pos, val] of edits) bytes[16 + (pos % (bytes.length - 16))] = val;
          const cut = truncate === undefined ? bytes : bytes.subarray(0, truncate % (bytes.length + 1));
          checkOutcome(decodeMessage(cut, ctx));
          // And with the length field repaired so the body itself is what is malformed.
          if (cut.length >= 19) {
            const fixed = Buffer.from(cut);
            fixed.writeUInt16BE(Math.min(fixed.length, 0xffff), 16);
            checkOutcome(decodeMessage(fixed, ctx));
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('treat-as-withdraw lists only prefixes that were in the message', () => {
    fc.assert(
      fc.property(updateArb({ fourOctetAs: true }), fc.nat(), (m, pos) => {
        const bytes = Buffer.from(encodeMessage(m, { fourOctetAs: true }));
        // Corrupt the ORIGIN value (the first attribute) to an undefined value.
        const wl = bytes.readUInt16BE(19);
        const originValue = 19 + 2 + wl + 2 + 3;
        bytes[originValue] = 3 + (pos % 253);
        const r = decodeMessage(bytes, { fourOctetAs: true });
        expect(r.kind).toBe('treat-as-withdraw');
        if (r.kind !== 'treat-as-withdraw' || m.type !== 'update') return;
        const all = [
          ...m.withdrawn,
          ...m.nlri,
          ...m.attributes.flatMap((a) =>
            a.type === 'mp-reach' ? a.nlri : a.type === 'mp-unreach' ? a.withdrawn : [],
          ),
        ];
        expect(r.withdrawn.sort()).toEqual(all.sort());
      }),
      { numRuns: 500 },
    );
  });
});

describe('prefixes', () => {
  it('decode ∘ encode = id (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(1 as const, 2 as const)
          .chain((afi) => fc.tuple(fc.constant(afi), fc.array(prefixOf(afi), { maxLength: 20 }))),
        ([afi, ps]) => {
          expect(decodePrefixes(afi, encodePrefixes(afi, ps))).toEqual({ ok: true, prefixes: ps });
        },
      ),
    );
  });

  it('uses the fewest octets: /0 is one octet, /1../8 two, /25../32 five', () => {
    expect(encodePrefixes(1, ['0.0.0.0/0']).toString('hex')).toBe('00');
    expect(encodePrefixes(1, ['128.0.0.0/1']).toString('hex')).toBe('0180');
    expect(encodePrefixes(1, ['10.0.0.0/8']).toString('hex')).toBe('080a');
    expect(encodePrefixes(1, ['10.1.2.128/25']).toString('hex')).toBe('190a010280');
    expect(encodePrefixes(2, ['2001:db8::/33']).toString('hex')).toBe('2120010db800');
  });

  it('rejects host bits, bad lengths and the wrong family with a sentence', () => {
    expect(parsePrefix('192.0.2.10/24')).toMatch(/host bits set \(did you mean 192\.0\.2\.0\/24\?\)/);
    expect(parsePrefix('2001:db8::1/64')).toMatch(/did you mean 2001:db8::\/64/);
    expect(parsePrefix('192.0.2.0/33')).toMatch(/0\.\.32/);
    expect(parsePrefix('192.0.2.0')).toMatch(/no \/length/);
    expect(parsePrefix('nope/8')).toMatch(/not an IP address/);
    expect(parsePrefix('2001:DB8::/32')).toEqual({ afi: 2, bytes: expect.any(Buffer), length: 32 });
    expect(() => encodePrefixes(1, ['2001:db8::/32'])).toThrow(/not IPv4/);
  });
});

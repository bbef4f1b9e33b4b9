import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../layer2/addr.ts';
import { Afi, AttrFlag, AttrType, Safi, SegmentType, UpdateSubcode } from './constants.ts';
import { decodePrefixes, encodePrefixes, type PrefixAfi } from './prefix.ts';

/**
 * UPDATE path attributes (RFC 4271 §4.3/§5, RFC 4760, RFC 1997, RFC 6793, RFC 8092) and the
 * RFC 7606 reaction to each malformation. Decoding one attribute never throws: it yields either the
 * attribute or a Problem naming the reaction and the NOTIFICATION data RFC 4271 §6.3 would send.
 */

export interface CodecContext {
  /** Both sides advertised the 4-octet AS capability (RFC 6793): AS_PATH/AGGREGATOR carry 4-octet ASNs. */
  fourOctetAs: boolean;
  /** The peer is in another AS. Only changes LOCAL_PREF handling (RFC 7606 §7.5). */
  external?: boolean;
}

export interface AsPathSegment {
  /** SegmentType: AS_SET 1, AS_SEQUENCE 2, AS_CONFED_SEQUENCE 3, AS_CONFED_SET 4. */
  type: number;
  asns: number[];
}

export type PathAttribute =
  | { type: 'origin'; value: number }
  | { type: 'as-path'; segments: AsPathSegment[] }
  | { type: 'next-hop'; address: string }
  | { type: 'med'; value: number }
  | { type: 'local-pref'; value: number }
  | { type: 'atomic-aggregate' }
  | { type: 'aggregator'; asn: number; address: string }
  | { type: 'communities'; values: number[] }
  | { type: 'originator-id'; id: string }
  | { type: 'cluster-list'; ids: string[] }
  /** IPv4 or IPv6 unicast. IPv6 next hops: [global] or [global, link-local] (RFC 2545 §3). */
  | { type: 'mp-reach'; afi: PrefixAfi; safi: number; nextHops: string[]; nlri: string[] }
  | { type: 'mp-unreach'; afi: PrefixAfi; safi: number; withdrawn: string[] }
  /** MP_REACH/MP_UNREACH of a family this speaker does not speak: kept undecoded after AFI/SAFI. */
  | { type: 'mp-other'; code: 14 | 15; afi: number; safi: number; rest: Uint8Array }
  | { type: 'as4-path'; segments: AsPathSegment[] }
  | { type: 'as4-aggregator'; asn: number; address: string }
  /** [global administrator, local data 1, local data 2] (RFC 8092). */
  | { type: 'large-communities'; values: [number, number, number][] }
  /** An optional attribute we do not interpret; flags as received (partial bit kept, extended-length dropped). */
  | { type: 'unknown'; code: number; flags: number; value: Uint8Array };

/** RFC 7606 §2 approaches, weakest to strongest (§3 j: the strongest one found wins). */
export type Reaction = 'attribute-discard' | 'treat-as-withdraw' | 'afi-safi-disable' | 'session-reset';
export const REACTION_STRENGTH: Record<Reaction, number> = {
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'afi-safi-disable': 3,
  'session-reset': 4,
};

export interface Problem {
  reaction: Reaction;
  /** UPDATE Message Error subcode the RFC 4271 reaction would have used (sent only on session-reset). */
  subcode: number;
  data: Uint8Array;
  reason: string;
  /** The attribute type code concerned, when there is one. */
  code?: number;
  /** For afi-safi-disable. */
  afi?: number;
  safi?: number;
}

const WELL_KNOWN = 0 | AttrFlag.TRANSITIVE;
const OPT_NON_TRANSITIVE = AttrFlag.OPTIONAL;
const OPT_TRANSITIVE = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;

/** The Optional and Transitive bits each known attribute must carry. */
const EXPECTED_FLAGS: Record<number, number> = {
  [AttrType.ORIGIN]: WELL_KNOWN,
  [AttrType.AS_PATH]: WELL_KNOWN,
  [AttrType.NEXT_HOP]: WELL_KNOWN,
  [AttrType.MULTI_EXIT_DISC]: OPT_NON_TRANSITIVE,
  [AttrType.LOCAL_PREF]: WELL_KNOWN,
  [AttrType.ATOMIC_AGGREGATE]: WELL_KNOWN,
  [AttrType.AGGREGATOR]: OPT_TRANSITIVE,
  [AttrType.COMMUNITIES]: OPT_TRANSITIVE,
  [AttrType.ORIGINATOR_ID]: OPT_NON_TRANSITIVE,
  [AttrType.CLUSTER_LIST]: OPT_NON_TRANSITIVE,
  [AttrType.MP_REACH_NLRI]: OPT_NON_TRANSITIVE,
  [AttrType.MP_UNREACH_NLRI]: OPT_NON_TRANSITIVE,
  [AttrType.AS4_PATH]: OPT_TRANSITIVE,
  [AttrType.AS4_AGGREGATOR]: OPT_TRANSITIVE,
  [AttrType.LARGE_COMMUNITY]: OPT_TRANSITIVE,
};

const TYPE_CODE: Record<Exclude<PathAttribute['type'], 'unknown' | 'mp-other'>, number> = {
  origin: AttrType.ORIGIN,
  'as-path': AttrType.AS_PATH,
  'next-hop': AttrType.NEXT_HOP,
  med: AttrType.MULTI_EXIT_DISC,
  'local-pref': AttrType.LOCAL_PREF,
  'atomic-aggregate': AttrType.ATOMIC_AGGREGATE,
  aggregator: AttrType.AGGREGATOR,
  communities: AttrType.COMMUNITIES,
  'originator-id': AttrType.ORIGINATOR_ID,
  'cluster-list': AttrType.CLUSTER_LIST,
  'mp-reach': AttrType.MP_REACH_NLRI,
  'mp-unreach': AttrType.MP_UNREACH_NLRI,
  'as4-path': AttrType.AS4_PATH,
  'as4-aggregator': AttrType.AS4_AGGREGATOR,
  'large-communities': AttrType.LARGE_COMMUNITY,
};

export function attributeCode(a: PathAttribute): number {
  if (a.type === 'unknown' || a.type === 'mp-other') return a.code;
  return TYPE_CODE[a.type];
}

/** The families whose MP_REACH/MP_UNREACH this codec decodes; others stay `mp-other`. */
export function isKnownFamily(afi: number, safi: number): afi is PrefixAfi {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && safi === Safi.UNICAST;
}

// ---------------------------------------------------------------------------------------------
// Encoding. Throws on values that cannot be represented (callers build attributes themselves).

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function ipv4(text: string): Buffer {
  const b = parseIPv4(text);
  if (!b) throw new Error(`not an IPv4 address: ${text}`);
  return b;
}

function ipv6(text: string): Buffer {
  const b = parseIPv6(text);
  if (!b) throw new Error(`not an IPv6 address: ${text}`);
  return b;
}

function encodeSegments(segments: readonly AsPathSegment[], four: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const s of segments) {
    if (s.asns.length === 0 || s.asns.length > 255) throw new Error('AS_PATH segment must hold 1..255 ASNs');
    const b = Buffer.alloc(2 + s.asns.length * (four ? 4 : 2));
    b[0] = s.type;
    b[1] = s.asns.length;
    s.asns.forEach((asn, i) => {
      if (four) b.writeUInt32BE(asn, 2 + 4 * i);
      else if (asn > 0xffff) throw new Error(`AS ${asn} needs 4 octets; send AS_TRANS with AS4_PATH`);
      else b.writeUInt16BE(asn, 2 + 2 * i);
    });
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function attributeValue(a: PathAttribute, ctx: CodecContext): Buffer {
  switch (a.type) {
    case 'origin':
      return Buffer.from([a.value]);
    case 'as-path':
      return encodeSegments(a.segments, ctx.fourOctetAs);
    case 'as4-path':
      return encodeSegments(a.segments, true);
    case 'next-hop':
      return ipv4(a.address);
    case 'med':
    case 'local-pref':
      return u32(a.value);
    case 'atomic-aggregate':
      return Buffer.alloc(0);
    case 'aggregator': {
      if (ctx.fourOctetAs) return Buffer.concat([u32(a.asn), ipv4(a.address)]);
      if (a.asn > 0xffff) throw new Error(`AGGREGATOR AS ${a.asn} needs 4 octets`);
      return Buffer.concat([Buffer.from([a.asn >> 8, a.asn & 0xff]), ipv4(a.address)]);
    }
    case 'as4-aggregator':
      return Buffer.concat([u32(a.asn), ipv4(a.address)]);
    case 'communities':
      return Buffer.concat(a.values.map(u32));
    case 'originator-id':
      return ipv4(a.id);
    case 'cluster-list':
      return Buffer.concat(a.ids.map(ipv4));
    case 'large-communities':
      return Buffer.concat(a.values.flatMap((v) => v.map(u32)));
    case 'mp-reach': {
      const nh = Buffer.concat(a.nextHops.map((h) => (a.afi === Afi.IPV4 ? ipv4(h) : ipv6(h))));
      return Buffer.concat([
        Buffer.from([a.afi >> 8, a.afi & 0xff, a.safi, nh.length]),
        nh,
        Buffer.from([0]),
        encodePrefixes(a.afi, a.nlri),
      ]);
    }
    case 'mp-unreach':
      return Buffer.concat([
        Buffer.from([a.afi >> 8, a.afi & 0xff, a.safi]),
        encodePrefixes(a.afi, a.withdrawn),
      ]);
    case 'mp-other':
      return Buffer.concat([Buffer.from([a.afi >> 8, a.afi & 0xff, a.safi]), Buffer.from(a.rest)]);
    case 'unknown':
      return Buffer.from(a.value);
  }
}

/** Encodes one attribute with its standard flags; extended length only when the value needs it. */
export function encodeAttribute(a: PathAttribute, ctx: CodecContext): Buffer {
  const code = attributeCode(a);
  const value = attributeValue(a, ctx);
  if (value.length > 0xffff) throw new Error(`attribute ${code} longer than 65535 octets`);
  let flags = a.type === 'unknown' ? a.flags & 0xe0 : (EXPECTED_FLAGS[code] ?? OPT_NON_TRANSITIVE);
  const ext = value.length > 255;
  if (ext) flags |= AttrFlag.EXTENDED_LENGTH;
  const head = ext
    ? Buffer.from([flags, code, value.length >> 8, value.length & 0xff])
    : Buffer.from([flags, code, value.length]);
  return Buffer.concat([head, value]);
}

// ---------------------------------------------------------------------------------------------
// Decoding.

type One = { ok: true; attribute: PathAttribute } | { ok: false; problem: Problem };

function problem(reaction: Reaction, subcode: number, raw: Uint8Array, code: number, reason: string): One {
  return { ok: false, problem: { reaction, subcode, data: Uint8Array.from(raw), reason, code } };
}

/** Parses AS_PATH segments (RFC 7606 §7.2 lists what makes one malformed). */
function decodeSegments(v: Buffer, width: 2 | 4): AsPathSegment[] | string {
  const out: AsPathSegment[] = [];
  let i = 0;
  while (i < v.length) {
    if (v.length - i < 2) return 'a single octet is left after the last segment';
    const type = v[i]!;
    const count = v[i + 1]!;
    if (type < SegmentType.AS_SET || type > SegmentType.AS_CONFED_SET)
      return `unrecognized segment type ${type}`;
    if (count === 0) return 'a segment of length zero';
    if (i + 2 + count * width > v.length) return `segment of ${count} ASNs overruns the attribute`;
    const asns: number[] = [];
    for (let k = 0; k < count; k++) {
      asns.push(width === 4 ? v.readUInt32BE(i + 2 + 4 * k) : v.readUInt16BE(i + 2 + 2 * k));
    }
    out.push({ type, asns });
    i += 2 + count * width;
  }
  return out;
}

/**
 * One attribute, its header already split off. `raw` is the whole attribute (flags, type,
 * length, value): RFC 4271 §6.3 puts it in the NOTIFICATION data for most errors.
 */
export function decodeAttribute(
  flags: number,
  code: number,
  v: Buffer,
  raw: Uint8Array,
  ctx: CodecContext,
): One {
  const expected = EXPECTED_FLAGS[code];
  if (expected === undefined) {
    // RFC 4271 §6.3 (unchanged by RFC 7606): an unrecognized well-known attribute resets the session.
    if ((flags & AttrFlag.OPTIONAL) === 0) {
      return problem(
        'session-reset',
        UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        raw,
        code,
        `unrecognized well-known attribute ${code}`,
      );
    }
    return { ok: true, attribute: { type: 'unknown', code, flags: flags & 0xe0, value: Uint8Array.from(v) } };
  }
  const isMp = code === AttrType.MP_REACH_NLRI || code === AttrType.MP_UNREACH_NLRI;
  const isAs4 = code === AttrType.AS4_PATH || code === AttrType.AS4_AGGREGATOR;
  if ((flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)) !== expected) {
    // RFC 7606 §3 c: treat-as-withdraw, unless the attribute's own spec says otherwise. RFC 6793 §6
    // discards a malformed AS4_* attribute; an MP attribute is still parsed (below) because
    // treat-as-withdraw must find the NLRI it carries.
    const reason = `attribute ${code} has flags 0x${flags.toString(16)}, expected optional/transitive 0x${expected.toString(16)}`;
    if (isAs4) return problem('attribute-discard', UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, raw, code, reason);
    if (!isMp) return problem('treat-as-withdraw', UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, raw, code, reason);
    const parsed = decodeMp(code, v, raw);
    if (!parsed.ok) return parsed;
    return {
      ok: false,
      problem: {
        reaction: 'treat-as-withdraw',
        subcode: UpdateSubcode.ATTRIBUTE_FLAGS_ERROR,
        data: Uint8Array.from(raw),
        reason,
        code,
      },
    };
  }
  const lengthIs = (ok: boolean, reaction: Reaction, what: string): One | undefined =>
    ok
      ? undefined
      : problem(reaction, UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, raw, code, `${what} has length ${v.length}`);
  switch (code) {
    case AttrType.ORIGIN: {
      // RFC 7606 §7.1
      const bad = lengthIs(v.length === 1, 'treat-as-withdraw', 'ORIGIN');
      if (bad) return bad;
      if (v[0]! > 2)
        return problem(
          'treat-as-withdraw',
          UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE,
          raw,
          code,
          `ORIGIN value ${v[0]}`,
        );
      return { ok: true, attribute: { type: 'origin', value: v[0]! } };
    }
    case AttrType.AS_PATH: {
      // RFC 7606 §7.2
      const segments = decodeSegments(v, ctx.fourOctetAs ? 4 : 2);
      if (typeof segments === 'string') {
        return problem(
          'treat-as-withdraw',
          UpdateSubcode.MALFORMED_AS_PATH,
          new Uint8Array(0),
          code,
          `AS_PATH: ${segments}`,
        );
      }
      return { ok: true, attribute: { type: 'as-path', segments } };
    }
    case AttrType.NEXT_HOP:
      // RFC 7606 §7.3
      return (
        lengthIs(v.length === 4, 'treat-as-withdraw', 'NEXT_HOP') ?? {
          ok: true,
          attribute: { type: 'next-hop', address: formatIPv4(v) },
        }
      );
    case AttrType.MULTI_EXIT_DISC:
      // RFC 7606 §7.4
      return (
        lengthIs(v.length === 4, 'treat-as-withdraw', 'MULTI_EXIT_DISC') ?? {
          ok: true,
          attribute: { type: 'med', value: v.readUInt32BE(0) },
        }
      );
    case AttrType.LOCAL_PREF:
      // RFC 7606 §7.5: from an external peer it is discarded whatever it holds.
      if (ctx.external) {
        return problem(
          'attribute-discard',
          UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
          raw,
          code,
          'LOCAL_PREF from an external peer',
        );
      }
      return (
        lengthIs(v.length === 4, 'treat-as-withdraw', 'LOCAL_PREF') ?? {
          ok: true,
          attribute: { type: 'local-pref', value: v.readUInt32BE(0) },
        }
      );
    case AttrType.ATOMIC_AGGREGATE:
      // RFC 7606 §7.6
      return (
        lengthIs(v.length === 0, 'attribute-discard', 'ATOMIC_AGGREGATE') ?? {
          ok: true,
          attribute: { type: 'atomic-aggregate' },
        }
      );
    case AttrType.AGGREGATOR: {
      // RFC 7606 §7.7
      const width = ctx.fourOctetAs ? 4 : 2;
      const bad = lengthIs(v.length === width + 4, 'attribute-discard', 'AGGREGATOR');
      if (bad) return bad;
      const asn = width === 4 ? v.readUInt32BE(0) : v.readUInt16BE(0);
      return { ok: true, attribute: { type: 'aggregator', asn, address: formatIPv4(v.subarray(width)) } };
    }
    case AttrType.COMMUNITIES: {
      // RFC 7606 §7.8
      const bad = lengthIs(v.length > 0 && v.length % 4 === 0, 'treat-as-withdraw', 'COMMUNITIES');
      if (bad) return bad;
      const values: number[] = [];
      for (let i = 0; i < v.length; i += 4) values.push(v.readUInt32BE(i));
      return { ok: true, attribute: { type: 'communities', values } };
    }
    case AttrType.ORIGINATOR_ID:
      // RFC 7606 §7.9
      return (
        lengthIs(v.length === 4, 'treat-as-withdraw', 'ORIGINATOR_ID') ?? {
          ok: true,
          attribute: { type: 'originator-id', id: formatIPv4(v) },
        }
      );
    case AttrType.CLUSTER_LIST: {
      // RFC 7606 §7.10
      const bad = lengthIs(v.length > 0 && v.length % 4 === 0, 'treat-as-withdraw', 'CLUSTER_LIST');
      if (bad) return bad;
      const ids: string[] = [];
      for (let i = 0; i < v.length; i += 4) ids.push(formatIPv4(v.subarray(i, i + 4)));
      return { ok: true, attribute: { type: 'cluster-list', ids } };
    }
    case AttrType.MP_REACH_NLRI:
    case AttrType.MP_UNREACH_NLRI:
      return decodeMp(code, v, raw);
    case AttrType.AS4_PATH: {
      // RFC 6793 §6: a NEW speaker never sends AS4_PATH to a NEW speaker, a malformed one (or one
      // carrying confederation segments) is discarded, never a reason to drop routes.
      if (ctx.fourOctetAs)
        return problem(
          'attribute-discard',
          UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
          raw,
          code,
          'AS4_PATH on a 4-octet session',
        );
      const segments = decodeSegments(v, 4);
      if (typeof segments === 'string')
        return problem(
          'attribute-discard',
          UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
          raw,
          code,
          `AS4_PATH: ${segments}`,
        );
      if (
        segments.some(
          (s) => s.type === SegmentType.AS_CONFED_SEQUENCE || s.type === SegmentType.AS_CONFED_SET,
        )
      ) {
        return problem(
          'attribute-discard',
          UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
          raw,
          code,
          'AS4_PATH with confederation segments',
        );
      }
      return { ok: true, attribute: { type: 'as4-path', segments } };
    }
    case AttrType.AS4_AGGREGATOR: {
      if (ctx.fourOctetAs) {
        return problem(
          'attribute-discard',
          UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
          raw,
          code,
          'AS4_AGGREGATOR on a 4-octet session',
        );
      }
      const bad = lengthIs(v.length === 8, 'attribute-discard', 'AS4_AGGREGATOR');
      if (bad) return bad;
      return {
        ok: true,
        attribute: { type: 'as4-aggregator', asn: v.readUInt32BE(0), address: formatIPv4(v.subarray(4)) },
      };
    }
    case AttrType.LARGE_COMMUNITY: {
      // RFC 8092 §5: a length that is not a non-zero multiple of 12 is treat-as-withdraw.
      const bad = lengthIs(v.length > 0 && v.length % 12 === 0, 'treat-as-withdraw', 'LARGE_COMMUNITY');
      if (bad) return bad;
      const values: [number, number, number][] = [];
      for (let i = 0; i < v.length; i += 12)
        values.push([v.readUInt32BE(i), v.readUInt32BE(i + 4), v.readUInt32BE(i + 8)]);
      return { ok: true, attribute: { type: 'large-communities', values } };
    }
    default:
      throw new Error(`unreachable: attribute ${code}`);
  }
}

/**
 * MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3-4). RFC 7606 §7.11 and §5.3: when the AFI/SAFI can be
 * read but the rest cannot (next hop length, NLRI syntax) the family is disabled; when not even the
 * AFI/SAFI fits, the session is reset.
 */
function decodeMp(code: number, v: Buffer, raw: Uint8Array): One {
  const name = code === AttrType.MP_REACH_NLRI ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI';
  if (v.length < 3) {
    return problem(
      'session-reset',
      UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
      raw,
      code,
      `${name} too short for AFI/SAFI`,
    );
  }
  const afi = v.readUInt16BE(0);
  const safi = v[2]!;
  const disable = (reason: string): One => ({
    ok: false,
    problem: {
      reaction: 'afi-safi-disable',
      subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
      data: Uint8Array.from(raw),
      reason: `${name} (AFI ${afi} SAFI ${safi}): ${reason}`,
      code,
      afi,
      safi,
    },
  });
  if (!isKnownFamily(afi, safi)) {
    return {
      ok: true,
      attribute: { type: 'mp-other', code: code as 14 | 15, afi, safi, rest: Uint8Array.from(v.subarray(3)) },
    };
  }
  if (code === AttrType.MP_UNREACH_NLRI) {
    const w = decodePrefixes(afi, v.subarray(3));
    if (!w.ok) return disable(w.reason);
    return { ok: true, attribute: { type: 'mp-unreach', afi, safi, withdrawn: w.prefixes } };
  }
  if (v.length < 5) return disable('too short for next hop length and reserved octet');
  const nhLen = v[3]!;
  const okLen = afi === Afi.IPV4 ? nhLen === 4 : nhLen === 16 || nhLen === 32;
  if (!okLen) return disable(`next hop length ${nhLen}`);
  if (4 + nhLen + 1 > v.length) return disable('next hop overruns the attribute');
  const nextHops: string[] = [];
  for (let i = 4; i < 4 + nhLen; i += afi === Afi.IPV4 ? 4 : 16) {
    nextHops.push(afi === Afi.IPV4 ? formatIPv4(v.subarray(i, i + 4)) : formatIPv6(v.subarray(i, i + 16)));
  }
  // The reserved octet (SNPA count in RFC 2858) is ignored on receipt (RFC 4760 §3).
  const n = decodePrefixes(afi, v.subarray(4 + nhLen + 1));
  if (!n.ok) return disable(n.reason);
  return { ok: true, attribute: { type: 'mp-reach', afi, safi, nextHops, nlri: n.prefixes } };
}

export interface AttributeList {
  attributes: PathAttribute[];
  problems: Problem[];
}

/**
 * The Path Attributes field. Parsing continues past attributes that are malformed in their value
 * (each one's reaction is recorded); it stops where the list itself cannot be followed (RFC 7606
 * §4: an attribute overrunning the field, or fewer octets left than a header), which is
 * treat-as-withdraw — the Total Path Attribute Length still locates the NLRI.
 */
export function decodeAttributeList(field: Buffer, ctx: CodecContext): AttributeList {
  const attributes: PathAttribute[] = [];
  const problems: Problem[] = [];
  const seen = new Set<number>();
  let i = 0;
  while (i < field.length) {
    const flags = field[i]!;
    const hdr = flags & AttrFlag.EXTENDED_LENGTH ? 4 : 3;
    if (field.length - i < hdr) {
      problems.push({
        reaction: 'treat-as-withdraw',
        subcode: UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
        data: new Uint8Array(0),
        reason: `${field.length - i} octets left, too few for an attribute header`,
      });
      break;
    }
    const code = field[i + 1]!;
    const len = hdr === 4 ? field.readUInt16BE(i + 2) : field[i + 2]!;
    if (i + hdr + len > field.length) {
      problems.push({
        reaction: 'treat-as-withdraw',
        subcode: UpdateSubcode.ATTRIBUTE_LENGTH_ERROR,
        data: Uint8Array.from(field.subarray(i)),
        reason: `attribute ${code} of length ${len} overruns the path attributes`,
        code,
      });
      break;
    }
    const raw = field.subarray(i, i + hdr + len);
    const value = field.subarray(i + hdr, i + hdr + len);
    i += hdr + len;
    if (seen.has(code)) {
      // RFC 7606 §3 g
      if (code === AttrType.MP_REACH_NLRI || code === AttrType.MP_UNREACH_NLRI) {
        problems.push({
          reaction: 'session-reset',
          subcode: UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
          data: new Uint8Array(0),
          reason: `attribute ${code} appears more than once`,
          code,
        });
      } else {
        problems.push({
          reaction: 'attribute-discard',
          subcode: UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
          data: Uint8Array.from(raw),
          reason: `duplicate attribute ${code} discarded`,
          code,
        });
      }
      continue;
    }
    seen.add(code);
    const one = decodeAttribute(flags, code, value, raw, ctx);
    if (one.ok) attributes.push(one.attribute);
    else {
      problems.push(one.problem);
      // A treat-as-withdraw MP attribute still names the routes to withdraw.
      if (
        one.problem.reaction === 'treat-as-withdraw' &&
        (code === AttrType.MP_REACH_NLRI || code === AttrType.MP_UNREACH_NLRI)
      ) {
        const parsed = decodeMp(code, value, raw);
        if (parsed.ok) attributes.push(parsed.attribute);
      }
    }
  }
  return { attributes, problems };
}

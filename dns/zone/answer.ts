// The answer policy, as one pure function: query bytes + snapshots → response bytes (or null = send
// nothing). No sockets, no clock, no logging; the server shell calls it per datagram / TCP message
// and the tests call it directly (the shape of CoreDNS's ServeDNS tested with a recorder).
//
// Hot path: parse (bounds-checked, no allocation) → find the zone by suffix hash → find the node →
// pick a pre-encoded body → allocate the response and copy header, the client's own question bytes
// (its 0x20 letter case included) and the body. Nothing else is built per query.

import {
  CLASSIC_UDP_SIZE,
  DEFAULT_EDNS_SIZE,
  Flag,
  HEADER_SIZE,
  OPT_RR_SIZE,
  Rcode,
  RRClass,
  RRType,
} from '../wire/constants.ts';
import { wireEqualsLower } from '../wire/name.ts';
import { newParsedQuery, type ParsedQuery, ParseStatus, parseQuery } from '../wire/query.ts';
import {
  type Blob,
  nxBlob,
  type SnapshotSet,
  synthBlob,
  type ZoneNode,
  type ZoneSnapshot,
} from './snapshot.ts';

export interface AnswerOptions {
  /** TCP: no size limit but the 64 KiB frame. UDP: 512, or the EDNS size capped by maxUdpPayload. */
  tcp: boolean;
  /** Largest UDP response we send to an EDNS client (default 1232). Also advertised in our OPT. */
  maxUdpPayload: number;
}

/** What happened, for metrics and logs; filled in by answer() when passed. */
export interface AnswerInfo {
  qtype: number;
  /** Full rcode, extended (BADVERS = 16) included; -1 when nothing was sent. */
  rcode: number;
  truncated: boolean;
}

export const defaultAnswerOptions: AnswerOptions = { tcp: false, maxUdpPayload: DEFAULT_EDNS_SIZE };

const q: ParsedQuery = newParsedQuery();
const EMPTY = Buffer.alloc(0);

// Where the response goes: a fresh Buffer (answer) or a caller's buffer at an offset (answerInto,
// used by the batched native UDP path so a query allocates nothing at all).
const EMPTY_OUT = new Uint8Array(0);
let into: Uint8Array | null = null;
let intoOffset = 0;
let written = 0;

let tOut: Uint8Array = EMPTY_OUT;
let tBase = 0;

/** Point tOut/tBase at room for `size` bytes (module state, not an object: nothing per query). */
function target(size: number): void {
  written = size;
  if (into !== null) {
    tOut = into;
    tBase = intoOffset;
  } else {
    tOut = Buffer.allocUnsafe(size);
    tBase = 0;
  }
}

function headerOnly(msg: Uint8Array, rcode: number, info: AnswerInfo | undefined): Uint8Array {
  // FORMERR / NOTIMP before the question could be trusted: echo ID, opcode and RD; no sections.
  target(HEADER_SIZE);
  const out = tOut;
  const base = tBase;
  out.fill(0, base, base + HEADER_SIZE);
  out[base] = msg[0]!;
  out[base + 1] = msg[1]!;
  out[base + 2] = 0x80 | (msg[2]! & 0x79); // QR, opcode, RD
  out[base + 3] = rcode;
  if (info) {
    info.rcode = rcode;
    info.truncated = false;
  }
  return out;
}

/** A response to the parsed query with `body` after the question. */
function respond(
  msg: Uint8Array,
  flags: number,
  an: number,
  ns: number,
  ar: number,
  body: Buffer,
  extRcode: number,
  opts: AnswerOptions,
  info: AnswerInfo | undefined,
): Uint8Array {
  const qEnd = q.questionEnd;
  const optLen = q.edns ? OPT_RR_SIZE : 0;
  let limit = 65535;
  if (!opts.tcp) {
    // RFC 6891 §6.2.5: sizes under 512 mean 512.
    limit = q.edns
      ? Math.min(Math.max(q.ednsUdpSize, CLASSIC_UDP_SIZE), opts.maxUdpPayload)
      : CLASSIC_UDP_SIZE;
  }
  let size = qEnd + body.length + optLen;
  let tc = 0;
  if (size > limit) {
    // Over the limit: TC=1 and no records, so the client retries over TCP (RFC 7766 §5).
    tc = Flag.TC;
    size = qEnd + optLen;
    an = 0;
    ns = 0;
    ar = 0;
  }
  target(size);
  const out = tOut;
  const base = tBase;
  const f = Flag.QR | tc | (q.flags & (Flag.RD | Flag.CD)) | flags;
  out[base] = msg[0]!;
  out[base + 1] = msg[1]!;
  out[base + 2] = f >> 8;
  out[base + 3] = f & 0xff;
  out[base + 4] = 0;
  out[base + 5] = 1;
  out[base + 6] = an >> 8;
  out[base + 7] = an & 0xff;
  out[base + 8] = ns >> 8;
  out[base + 9] = ns & 0xff;
  const arc = ar + (q.edns ? 1 : 0);
  out[base + 10] = arc >> 8;
  out[base + 11] = arc & 0xff;
  for (let i = HEADER_SIZE; i < qEnd; i++) out[base + i] = msg[i]!;
  let o = base + qEnd;
  if (tc === 0 && body.length > 0) {
    body.copy(out, o);
    o += body.length;
  }
  if (q.edns) {
    const payload = opts.maxUdpPayload;
    out[o] = 0;
    out[o + 1] = 0;
    out[o + 2] = RRType.OPT;
    out[o + 3] = payload >> 8;
    out[o + 4] = payload & 0xff;
    out[o + 5] = extRcode;
    out[o + 6] = 0;
    out[o + 7] = q.dnssecOk ? 0x80 : 0;
    out[o + 8] = 0;
    out[o + 9] = 0;
    out[o + 10] = 0;
  }
  if (info) {
    info.rcode = (extRcode << 4) | (flags & 0xf);
    info.truncated = tc !== 0;
  }
  return out;
}

function respondBlob(
  msg: Uint8Array,
  b: Blob,
  opts: AnswerOptions,
  info: AnswerInfo | undefined,
): Uint8Array {
  return respond(msg, b.flags, b.an, b.ns, b.ar, b.body, 0, opts, info);
}

/** Offset of label i of the question name (i = labelCount → the root byte). */
function labelOffset(i: number): number {
  return i < q.labelCount ? q.labelOffsets[i]! : HEADER_SIZE + q.nameLength - 1;
}

function findZone(msg: Uint8Array, set: SnapshotSet): number {
  // Deepest zone first: walk suffixes from the full name towards the root.
  for (let i = 0; i <= q.labelCount; i++) {
    let z = set.zones.get(q.suffix[i]!);
    while (z) {
      if (z.apexLabelCount === q.labelCount - i && wireEqualsLower(msg, labelOffset(i), z.apex.wire)) {
        found = z;
        return i;
      }
      z = z.next;
    }
  }
  return -1;
}
let found: ZoneSnapshot | undefined;

function findNode(msg: Uint8Array, zone: ZoneSnapshot, i: number): ZoneNode | undefined {
  let n = zone.nodes.get(q.suffix[i]!);
  while (n) {
    if (n.labelCount === q.labelCount - i && wireEqualsLower(msg, labelOffset(i), n.wire)) return n;
    n = n.next;
  }
  return undefined;
}

/**
 * Like answer(), but writes the response into `out` at `offset` (which must have room for 65,535
 * bytes) and returns its length; 0 = send nothing. Allocates nothing.
 */
export function answerInto(
  msg: Uint8Array,
  set: SnapshotSet | null,
  opts: AnswerOptions,
  info: AnswerInfo | undefined,
  out: Uint8Array,
  offset: number,
): number {
  into = out;
  intoOffset = offset;
  try {
    return answer(msg, set, opts, info) === null ? 0 : written;
  } finally {
    into = null;
  }
}

/**
 * Answer one DNS message. `set` = null means "not synced yet": SERVFAIL, never an answer from an
 * empty table (see docs/decisions/042-servfail-until-synced.md). Returns null when nothing should
 * be sent (runt packets, responses).
 */
export function answer(
  msg: Uint8Array,
  set: SnapshotSet | null,
  opts: AnswerOptions = defaultAnswerOptions,
  info?: AnswerInfo,
): Uint8Array | null {
  const st = parseQuery(msg, q);
  if (info) {
    info.qtype = q.questionEnd > 0 ? q.qtype : -1;
    info.rcode = -1;
    info.truncated = false;
  }
  if (st === ParseStatus.DROP) return null;
  if (st === ParseStatus.NOTIMP) return headerOnly(msg, Rcode.NOTIMP, info);
  if (st === ParseStatus.FORMERR) return headerOnly(msg, Rcode.FORMERR, info);
  // RFC 6891 §6.1.3: an unknown EDNS version gets BADVERS (ext rcode 1 → 16), our OPT says version 0.
  if (q.edns && q.ednsVersion !== 0) return respond(msg, 0, 0, 0, 0, EMPTY, 1, opts, info);
  if (set === null) return respond(msg, Rcode.SERVFAIL, 0, 0, 0, EMPTY, 0, opts, info);
  const qtype = q.qtype;
  // Zone transfers and the obsolete mailbox meta-types are not offered; only class IN is served.
  if (q.qclass !== RRClass.IN || (qtype >= RRType.IXFR && qtype <= RRType.MAILA)) {
    return respond(msg, Rcode.REFUSED, 0, 0, 0, EMPTY, 0, opts, info);
  }
  const zi = findZone(msg, set);
  const zone = found;
  if (zi < 0 || !zone) return respond(msg, Rcode.REFUSED, 0, 0, 0, EMPTY, 0, opts, info);

  const exact = findNode(msg, zone, 0);
  if (exact) {
    const b = qtype === RRType.ANY ? exact.any! : (exact.answers.get(qtype) ?? exact.fallback!);
    return respondBlob(msg, b, opts, info);
  }
  // Closest encloser (RFC 4592 §3.3.1): the deepest existing ancestor — empty non-terminals count,
  // which is what stops a wildcard higher up from matching beneath them.
  for (let i = 1; i <= zi; i++) {
    const ce = findNode(msg, zone, i);
    if (!ce) continue;
    const b = ce.wildcard ? synthBlob(zone, ce.wildcard, q.nameLength, qtype) : nxBlob(zone, q.nameLength);
    return respondBlob(msg, b, opts, info);
  }
  // Unreachable: the apex node always exists.
  return respond(msg, Rcode.SERVFAIL, 0, 0, 0, EMPTY, 0, opts, info);
}

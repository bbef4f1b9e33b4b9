// Query parser for the hot path. It reads one DNS query into a reusable `ParsedQuery` without
// allocating, checking every bound before it reads (RFC 1035 §4.1, RFC 6891 §6).
//
// What a well-formed query is, here:
//  - a 12-byte header with QR=0, QDCOUNT=1, ANCOUNT=0, NSCOUNT=0, ARCOUNT ≤ 1;
//  - one question whose name is a plain label sequence: compression pointers (and the reserved 0x40 /
//    0x80 label types) are rejected — no legitimate client compresses the only name in a query, and
//    refusing them removes the pointer-loop class of bugs;
//  - labels of at most 63 bytes, the whole name at most 255 bytes;
//  - if ARCOUNT = 1, that record is an OPT with the root owner and a bounded RDATA;
//  - nothing after the last record.
// The parser only classifies; `dns/zone/answer.ts` decides the response.

import { HEADER_SIZE, MAX_LABEL, MAX_NAME_WIRE, RRType } from './constants.ts';
import { suffixHashes } from './name.ts';

/** 255 bytes of wire name hold at most 127 labels. */
export const MAX_LABELS = 127;

export const ParseStatus = {
  /** Parsed; answer it. */
  OK: 0,
  /** Not worth a reply: shorter than a header, or a response (QR=1) — replying could loop. */
  DROP: 1,
  /** Malformed: FORMERR. `questionEnd` > 0 when the question itself was readable. */
  FORMERR: 2,
  /** Opcode other than QUERY: NOTIMP. */
  NOTIMP: 3,
} as const;
export type ParseStatus = (typeof ParseStatus)[keyof typeof ParseStatus];

export interface ParsedQuery {
  id: number;
  /** The header's second word as received. */
  flags: number;
  opcode: number;
  /** Offsets of each label's length byte in the packet, left to right. */
  labelOffsets: Int32Array;
  labelCount: number;
  /** suffix[i] = hash of labels i..end; suffix[labelCount] = root. */
  suffix: Int32Array;
  /** Wire length of the question name including the root byte. */
  nameLength: number;
  qtype: number;
  qclass: number;
  /** Offset just past QTYPE/QCLASS, 0 when the question could not be read. */
  questionEnd: number;
  edns: boolean;
  /** Requestor's UDP payload size as sent (0 without EDNS). */
  ednsUdpSize: number;
  ednsVersion: number;
  /** The DO bit (RFC 3225), copied into our OPT. */
  dnssecOk: boolean;
}

export function newParsedQuery(): ParsedQuery {
  return {
    id: 0,
    flags: 0,
    opcode: 0,
    labelOffsets: new Int32Array(MAX_LABELS + 1),
    labelCount: 0,
    suffix: new Int32Array(MAX_LABELS + 2),
    nameLength: 0,
    qtype: 0,
    qclass: 0,
    questionEnd: 0,
    edns: false,
    ednsUdpSize: 0,
    ednsVersion: 0,
    dnssecOk: false,
  };
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function parseQuery(msg: Uint8Array, q: ParsedQuery): ParseStatus {
  q.questionEnd = 0;
  q.edns = false;
  q.ednsUdpSize = 0;
  q.ednsVersion = 0;
  q.dnssecOk = false;
  q.labelCount = 0;
  const len = msg.length;
  if (len < HEADER_SIZE) return ParseStatus.DROP;
  q.id = u16(msg, 0);
  q.flags = u16(msg, 2);
  if (q.flags & 0x8000) return ParseStatus.DROP;
  q.opcode = (q.flags >> 11) & 0xf;
  const qd = u16(msg, 4);
  const an = u16(msg, 6);
  const ns = u16(msg, 8);
  const ar = u16(msg, 10);
  if (q.opcode !== 0) return ParseStatus.NOTIMP;
  if (qd !== 1 || an !== 0 || ns !== 0 || ar > 1) return ParseStatus.FORMERR;

  // Question name: plain labels only.
  let o = HEADER_SIZE;
  let count = 0;
  for (;;) {
    if (o >= len) return ParseStatus.FORMERR;
    const l = msg[o]!;
    if (l === 0) {
      o++;
      break;
    }
    if (l > MAX_LABEL) return ParseStatus.FORMERR; // pointer (0xC0) or reserved label type
    if (count >= MAX_LABELS) return ParseStatus.FORMERR;
    q.labelOffsets[count++] = o;
    o += 1 + l;
    if (o - HEADER_SIZE >= MAX_NAME_WIRE) return ParseStatus.FORMERR; // room needed for the root byte
  }
  q.labelCount = count;
  q.nameLength = o - HEADER_SIZE;
  if (o + 4 > len) return ParseStatus.FORMERR;
  q.qtype = u16(msg, o);
  q.qclass = u16(msg, o + 2);
  o += 4;
  q.questionEnd = o;
  suffixHashes(msg, q.labelOffsets, count, q.suffix);

  if (ar === 1) {
    // OPT pseudo-RR: root owner, TYPE 41, CLASS = payload size, TTL = ext-rcode|version|DO|Z, RDATA.
    if (o + 11 > len) return ParseStatus.FORMERR;
    if (msg[o] !== 0 || u16(msg, o + 1) !== RRType.OPT) return ParseStatus.FORMERR;
    const rdlen = u16(msg, o + 9);
    // Options are TLVs; walk them so a truncated option is FORMERR (RFC 6891 §6.1.2).
    let p = o + 11;
    const end = p + rdlen;
    if (end > len) return ParseStatus.FORMERR;
    while (p < end) {
      if (p + 4 > end) return ParseStatus.FORMERR;
      p += 4 + u16(msg, p + 2);
    }
    if (p !== end) return ParseStatus.FORMERR;
    q.edns = true;
    q.ednsUdpSize = u16(msg, o + 3);
    q.ednsVersion = msg[o + 6]!;
    q.dnssecOk = (msg[o + 7]! & 0x80) !== 0;
    o = end;
  }
  if (o !== len) return ParseStatus.FORMERR;
  if (q.qtype === RRType.OPT) return ParseStatus.FORMERR;
  return ParseStatus.OK;
}

// Answer encoder with RFC 1035 §4.1.4 name compression. Runs when a zone snapshot is built (and in
// slow paths), never per query: the hot path only copies what this produced.
//
// A Writer knows the absolute offset its first byte will have in the final message (`base`), so the
// compression pointers it emits are valid once its bytes are placed after the header and question.
// Its dictionary can be seeded with names already present in the message (the question name and its
// suffixes), which is how a pre-encoded answer points back into the question the client sent —
// and so carries the client's letter case (0x20) for free.

import { RRClass, RRType } from './constants.ts';
import { ipv4Bytes, ipv6Bytes } from './ip.ts';

export interface Soa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export type RData =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'NS'; target: string }
  | { type: 'CNAME'; target: string }
  | { type: 'PTR'; target: string }
  | { type: 'TXT'; texts: string[] }
  | { type: 'SOA'; soa: Soa };

export type RecordType = RData['type'];

export const recordTypeCode: Record<RecordType, number> = {
  A: RRType.A,
  AAAA: RRType.AAAA,
  NS: RRType.NS,
  CNAME: RRType.CNAME,
  PTR: RRType.PTR,
  TXT: RRType.TXT,
  SOA: RRType.SOA,
};

/** Owner of a record: a dotted lower-case name, or a fixed message offset to point at (0x20 question). */
export type Owner = string | { pointer: number };

export interface WireRecord {
  owner: Owner;
  ttl: number;
  data: RData;
}

const MAX_POINTER = 0x3fff;

export class Writer {
  readonly base: number;
  private buf = new Uint8Array(512);
  private len = 0;
  private readonly dict: Map<string, number>;

  constructor(base: number, dict?: Map<string, number>) {
    this.base = base;
    this.dict = new Map(dict);
  }

  get length(): number {
    return this.len;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.room(2);
    this.buf[this.len++] = (v >> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }

  u32(v: number): void {
    this.u16((v >>> 16) & 0xffff);
    this.u16(v & 0xffff);
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  pointer(offset: number): void {
    this.u16(0xc000 | offset);
  }

  /** Write a dotted name, pointing at the longest suffix already in the message. */
  name(text: string): void {
    const labels = text === '' ? [] : text.toLowerCase().split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const known = this.dict.get(suffix);
      if (known !== undefined) {
        this.pointer(known);
        return;
      }
      const here = this.base + this.len;
      if (here <= MAX_POINTER) this.dict.set(suffix, here);
      const l = labels[i]!;
      this.u8(l.length);
      for (let j = 0; j < l.length; j++) this.u8(l.charCodeAt(j));
    }
    this.u8(0);
  }

  record(r: WireRecord): void {
    if (typeof r.owner === 'string') this.name(r.owner);
    else this.pointer(r.owner.pointer);
    this.u16(recordTypeCode[r.data.type]);
    this.u16(RRClass.IN);
    this.u32(r.ttl);
    const lenAt = this.len;
    this.u16(0);
    const d = r.data;
    switch (d.type) {
      case 'A':
        this.raw(ipv4Bytes(d.address));
        break;
      case 'AAAA':
        this.raw(ipv6Bytes(d.address));
        break;
      case 'NS':
      case 'CNAME':
      case 'PTR':
        this.name(d.target);
        break;
      case 'TXT':
        for (const t of d.texts) {
          const b = new TextEncoder().encode(t);
          // A character-string holds at most 255 bytes; longer values are split (RFC 7208 §3.3 style).
          for (let o = 0; o === 0 || o < b.length; o += 255) {
            const chunk = b.subarray(o, o + 255);
            this.u8(chunk.length);
            this.raw(chunk);
          }
        }
        break;
      case 'SOA':
        this.name(d.soa.mname);
        this.name(d.soa.rname);
        this.u32(d.soa.serial);
        this.u32(d.soa.refresh);
        this.u32(d.soa.retry);
        this.u32(d.soa.expire);
        this.u32(d.soa.minimum);
        break;
    }
    const rdlen = this.len - lenAt - 2;
    this.buf[lenAt] = rdlen >> 8;
    this.buf[lenAt + 1] = rdlen & 0xff;
  }

  /** OPT pseudo-record (RFC 6891 §6.1.2): root owner, payload size in CLASS, no options. */
  opt(udpSize: number, extRcode: number, dnssecOk: boolean): void {
    this.u8(0);
    this.u16(RRType.OPT);
    this.u16(udpSize);
    this.u8(extRcode);
    this.u8(0);
    this.u8(dnssecOk ? 0x80 : 0);
    this.u8(0);
    this.u16(0);
  }
}

/** Compression dictionary entries for a question name written at offset 12 (header size). */
export function questionDictionary(qname: string): Map<string, number> {
  const dict = new Map<string, number>();
  const labels = qname === '' ? [] : qname.split('.');
  let off = 12;
  for (let i = 0; i < labels.length; i++) {
    dict.set(labels.slice(i).join('.'), off);
    off += 1 + labels[i]!.length;
  }
  return dict;
}

// Test helpers: build snapshots from records and ask them questions with dns-packet-encoded
// queries, decoding the answers with dns-packet — an independent codec, so a bug in our wire code
// cannot hide itself.

import dnsPacket from 'dns-packet';
import { type AnswerInfo, type AnswerOptions, answer } from '../../dns/zone/answer.ts';
import { buildSnapshotSet, type SnapshotSet } from '../../dns/zone/snapshot.ts';
import type { RecordInput, ZoneInput } from '../../dns/zone/spec.ts';

export function zone(name: string, records: RecordInput[], extra: Partial<ZoneInput> = {}): ZoneInput {
  return { zone: name, serial: 2026010101, records, ...extra };
}

export function snapshots(...zones: ZoneInput[]): SnapshotSet {
  const { set, errors } = buildSnapshotSet(zones);
  if (errors.length) throw new Error(errors.join('\n'));
  return set;
}

export interface AskOptions {
  id?: number;
  rd?: boolean;
  cd?: boolean;
  edns?: boolean;
  udpSize?: number;
  ednsVersion?: number;
  dnssecOk?: boolean;
  qclass?: number;
  opts?: Partial<AnswerOptions>;
}

export function query(name: string, type: string | number, o: AskOptions = {}): Buffer {
  const flags = (o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (o.cd ? dnsPacket.CHECKING_DISABLED : 0);
  const q = dnsPacket.encode({
    type: 'query',
    id: o.id ?? 0x1234,
    flags,
    questions: [{ name, type: (typeof type === 'number' ? `TYPE${type}` : type) as 'A', class: 'IN' }],
    additionals: o.edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: o.udpSize ?? 4096,
            extendedRcode: 0,
            ednsVersion: o.ednsVersion ?? 0,
            flags: o.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
            options: [],
          } as unknown as dnsPacket.Answer,
        ]
      : [],
  });
  if (typeof type === 'number') q.writeUInt16BE(type, q.length - (o.edns ? 11 : 0) - 4);
  if (o.qclass !== undefined) q.writeUInt16BE(o.qclass, q.length - (o.edns ? 11 : 0) - 2);
  return q;
}

/** dns-packet's decoded shape, narrowed to what the tests read. */
export interface RR {
  name: string;
  type: string;
  ttl: number;
  data?: unknown;
}
export interface Decoded {
  id: number;
  rcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  questions: Array<{ name: string; type: string }>;
  answers: RR[];
  authorities: RR[];
  additionals: RR[];
}

export interface Asked {
  raw: Uint8Array;
  p: Decoded;
  info: AnswerInfo;
}

export function decode(raw: Uint8Array): Decoded {
  return dnsPacket.decode(Buffer.from(raw)) as unknown as Decoded;
}

export function ask(set: SnapshotSet | null, name: string, type: string | number, o: AskOptions = {}): Asked {
  const info: AnswerInfo = { qtype: 0, rcode: 0, truncated: false };
  const raw = answer(query(name, type, o), set, { tcp: false, maxUdpPayload: 1232, ...o.opts }, info);
  if (raw === null) throw new Error('no response');
  return { raw, p: decode(raw), info };
}

/** rcode from the header's low 4 bits (dns-packet names only the classic ones). */
export function rcodeOf(raw: Uint8Array): number {
  return raw[3]! & 0x0f;
}

export function answers(a: Asked): string[] {
  return (a.p.answers ?? []).map((r) => {
    const d = (r as { data?: unknown }).data;
    const text =
      typeof d === 'string'
        ? d
        : Array.isArray(d)
          ? d.map((x) => Buffer.from(x as Uint8Array).toString()).join('')
          : JSON.stringify(d);
    return `${r.name} ${r.ttl} ${r.type} ${text}`;
  });
}

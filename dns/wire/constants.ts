// DNS protocol numbers used by Portico (RFC 1035 §3.2, RFC 3596, RFC 6891, RFC 8482).
// Plain `as const` objects instead of enums: the project runs TypeScript by type stripping.

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

export const RRClass = { IN: 1, CH: 3, ANY: 255 } as const;

export const Opcode = { QUERY: 0 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (RFC 6891): the upper 8 bits live in the OPT record, the low 4 bits are 0. */
  BADVERS: 16,
} as const;

/** Header flag bits (second 16-bit word of the header). */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const HEADER_SIZE = 12;
/** RFC 1035 §2.3.4. */
export const MAX_LABEL = 63;
export const MAX_NAME_WIRE = 255;
/** RFC 1035 §4.2.1: UDP without EDNS. */
export const CLASSIC_UDP_SIZE = 512;
/** DNS flag day 2020 recommendation, RFC 9715 spirit: avoids IP fragmentation. */
export const DEFAULT_EDNS_SIZE = 1232;
/** The size of the OPT record Portico appends (root owner, no options). */
export const OPT_RR_SIZE = 11;

const typeNames: Record<number, string> = {};
for (const [k, v] of Object.entries(RRType)) typeNames[v] = k;
export function typeName(t: number): string {
  return typeNames[t] ?? `TYPE${t}`;
}

const rcodeNames: Record<number, string> = {};
for (const [k, v] of Object.entries(Rcode)) rcodeNames[v] = k;
export function rcodeName(r: number): string {
  return rcodeNames[r] ?? `RCODE${r}`;
}

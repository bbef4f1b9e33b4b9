// Domain names: text form for configuration, wire form for packets, and the hash both sides share.
//
// The hash is FNV-1a over the lower-cased labels taken from the RIGHTMOST label leftwards, each label
// fed as its length byte then its bytes. Walking right-to-left means one pass over a query name
// yields the hash of every suffix (`suffixHashes`), which is what zone selection and the
// closest-encloser walk need — with no string built and nothing allocated.

import { MAX_LABEL, MAX_NAME_WIRE } from './constants.ts';

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** Hash of the root name (no labels). */
export const ROOT_HASH = FNV_OFFSET;

/** Feed one label (bytes [start, start+len) of buf, lower-cased) into a running suffix hash. */
export function hashLabel(h: number, buf: Uint8Array, start: number, len: number): number {
  let x = Math.imul(h ^ len, FNV_PRIME);
  for (let i = start; i < start + len; i++) {
    let b = buf[i]!;
    if (b >= 65 && b <= 90) b |= 0x20;
    x = Math.imul(x ^ b, FNV_PRIME);
  }
  return x;
}

/**
 * Given the offsets of `count` labels (each offset points at the label's length byte), write into
 * `out[i]` the hash of the name made of labels i..count-1, and `out[count]` = ROOT_HASH.
 */
export function suffixHashes(
  buf: Uint8Array,
  labelOffsets: Int32Array,
  count: number,
  out: Int32Array,
): void {
  let h = ROOT_HASH;
  out[count] = h;
  for (let i = count - 1; i >= 0; i--) {
    const off = labelOffsets[i]!;
    h = hashLabel(h, buf, off + 1, buf[off]!);
    out[i] = h;
  }
}

/** A validated, lower-cased name from configuration. `labels` never include the root. */
export interface Name {
  labels: string[];
  /** Lower-case dotted form without the trailing dot; '' for the root. */
  text: string;
  /** Uncompressed wire form, lower case, ending with the root byte. */
  wire: Uint8Array;
}

const LABEL_RE = /^[a-z0-9_-]+$/;

/**
 * Parse a configured name. Accepts a trailing dot; '*' only as a whole leftmost label. Letters, digits,
 * '-' and '_' only: every name a Gateway, Service or DNSZone can carry, nothing that needs escaping.
 */
export function parseName(text: string): Name {
  let t = text.trim().toLowerCase();
  if (t.endsWith('.')) t = t.slice(0, -1);
  if (t === '') return { labels: [], text: '', wire: new Uint8Array([0]) };
  const labels = t.split('.');
  let wireLen = 1;
  labels.forEach((l, i) => {
    if (l.length === 0) throw new Error(`invalid name "${text}": empty label`);
    if (l.length > MAX_LABEL) throw new Error(`invalid name "${text}": label longer than ${MAX_LABEL}`);
    if (l === '*') {
      if (i !== 0) throw new Error(`invalid name "${text}": '*' is only allowed as the leftmost label`);
    } else if (!LABEL_RE.test(l)) {
      throw new Error(`invalid name "${text}": label "${l}" has characters other than a-z 0-9 - _`);
    }
    wireLen += 1 + l.length;
  });
  if (wireLen > MAX_NAME_WIRE) throw new Error(`invalid name "${text}": longer than ${MAX_NAME_WIRE} bytes`);
  const wire = new Uint8Array(wireLen);
  let o = 0;
  for (const l of labels) {
    wire[o++] = l.length;
    for (let j = 0; j < l.length; j++) wire[o++] = l.charCodeAt(j);
  }
  wire[o] = 0;
  return { labels, text: labels.join('.'), wire };
}

/** Join a possibly relative record name to a zone: '@' or '' is the apex, 'x.' is absolute. */
export function qualify(name: string, zone: string): string {
  const n = name.trim();
  if (n === '@' || n === '') return zone;
  if (n.endsWith('.')) return n.slice(0, -1);
  const lower = n.toLowerCase();
  if (zone !== '' && (lower === zone || lower.endsWith(`.${zone}`))) return n;
  return zone === '' ? n : `${n}.${zone}`;
}

/** Hash of a configured name, identical to `suffixHashes(...)[0]` for the same name in a packet. */
export function nameHash(name: Name): number {
  let h = ROOT_HASH;
  const offs: number[] = [];
  for (let o = 0; name.wire[o]! !== 0; o += name.wire[o]! + 1) offs.push(o);
  for (let i = offs.length - 1; i >= 0; i--) h = hashLabel(h, name.wire, offs[i]! + 1, name.wire[offs[i]!]!);
  return h;
}

/** Is `name` equal to or below `zone`? (both lower-case dotted, no trailing dot) */
export function isSubdomain(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

/**
 * Case-insensitive comparison of the name in `buf` starting at `off` (uncompressed labels) with a
 * lower-case wire name. The caller guarantees the packet name was already bounds-checked.
 */
export function wireEqualsLower(buf: Uint8Array, off: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) {
    let b = buf[off + i];
    if (b === undefined) return false;
    if (b >= 65 && b <= 90) b |= 0x20;
    if (b !== lower[i]) return false;
  }
  return true;
}

/** Render a packet name for logs: labels [start..] as dotted text (slow path only). */
export function wireToText(buf: Uint8Array, off: number): string {
  const parts: string[] = [];
  let o = off;
  while (o < buf.length && buf[o]! !== 0 && parts.length < 128) {
    const len = buf[o]!;
    parts.push(String.fromCharCode(...buf.subarray(o + 1, o + 1 + len)));
    o += len + 1;
  }
  return parts.join('.');
}

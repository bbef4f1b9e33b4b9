// Address intervals: the `addresses` entries of a pool (CIDRs and `a-b` ranges) as inclusive BigInt
// intervals [start, end] of one family, plus the set operations the allocator and pool status need.
//
// Decision on CIDRs with host bits set (`192.0.2.7/24`): accepted and normalised to the network
// (`192.0.2.0/24`), with `hostBitsSet` so callers can warn. This is what MetalLB does (Go's
// net.ParseCIDR masks silently), so pools migrated from MetalLB keep working; `{ strict: true }`
// turns it into an error for callers that want one.
import { bitsOf, type Family, formatIP, type IPAddr, maxValueOf, parseIP, type Result } from './ip.ts';

export interface IPInterval {
  family: Family;
  /** First address, inclusive. */
  start: bigint;
  /** Last address, inclusive (start <= end). */
  end: bigint;
}

export interface ParsedCidr extends IPInterval {
  prefix: number;
  /** The text had bits set below the prefix length; the interval is the normalised network. */
  hostBitsSet: boolean;
}

export interface ParsedEntry {
  kind: 'cidr' | 'range';
  interval: IPInterval;
  /** Canonical spelling: `192.0.2.0/24`, `2001:db8::/64`, `192.0.2.10-192.0.2.20`. */
  canonical: string;
  /** Non-fatal remark (host bits set) worth surfacing to the user. */
  warning?: string;
}

function fail<T>(error: string): Result<T> {
  return { ok: false, error };
}

function show(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

function mask(family: Family, prefix: number): bigint {
  const hostBits = BigInt(bitsOf(family) - prefix);
  return maxValueOf(family) ^ ((1n << hostBits) - 1n);
}

/** Parse `address/prefix`. */
export function parseCidr(text: string, opts: { strict?: boolean } = {}): Result<ParsedCidr> {
  if (typeof text !== 'string') return fail('CIDR must be a string');
  const slash = text.indexOf('/');
  if (slash < 0) return fail(`${show(text)} is not a CIDR (missing /prefix)`);
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const addr = parseIP(addrText);
  if (!addr.ok) return fail(`${show(text)} is not a valid CIDR: ${addr.error}`);
  const family = addr.value.family;
  const bits = bitsOf(family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return fail(`${show(text)} is not a valid CIDR: prefix length must be an integer from 0 to ${bits}`);
  }
  const prefix = Number(prefixText);
  const m = mask(family, prefix);
  const start = addr.value.value & m;
  const end = start | (maxValueOf(family) ^ m);
  const hostBitsSet = start !== addr.value.value;
  if (hostBitsSet && opts.strict) {
    return fail(
      `${show(text)} has host bits set; did you mean ${formatIP({ family, value: start })}/${prefix}?`,
    );
  }
  return { ok: true, value: { family, start, end, prefix, hostBitsSet } };
}

/** Parse `first-last` (inclusive, same family, first <= last). Blanks around the dash are allowed. */
export function parseRange(text: string): Result<IPInterval> {
  if (typeof text !== 'string') return fail('range must be a string');
  const parts = text.split('-');
  if (parts.length !== 2) return fail(`${show(text)} is not a range (expected first-last)`);
  const a = parseIP((parts[0] ?? '').trim());
  if (!a.ok) return fail(`${show(text)} is not a valid range: start: ${a.error}`);
  const b = parseIP((parts[1] ?? '').trim());
  if (!b.ok) return fail(`${show(text)} is not a valid range: end: ${b.error}`);
  if (a.value.family !== b.value.family) {
    return fail(`${show(text)} mixes IPv${a.value.family} and IPv${b.value.family}`);
  }
  if (a.value.value > b.value.value) {
    return fail(`${show(text)} is reversed: the start comes after the end`);
  }
  return { ok: true, value: { family: a.value.family, start: a.value.value, end: b.value.value } };
}

/** Parse one pool `addresses` entry: a CIDR, an `a-b` range, or a bare address (a /32 or /128). */
export function parseAddressEntry(text: string, opts: { strict?: boolean } = {}): Result<ParsedEntry> {
  if (typeof text !== 'string') return fail('address entry must be a string');
  const t = text.trim();
  if (t === '') return fail('empty address entry');
  if (t.includes('-')) {
    const r = parseRange(t);
    if (!r.ok) return r;
    return { ok: true, value: { kind: 'range', interval: r.value, canonical: formatInterval(r.value) } };
  }
  if (t.includes('/')) {
    const c = parseCidr(t, opts);
    if (!c.ok) return c;
    const interval: IPInterval = { family: c.value.family, start: c.value.start, end: c.value.end };
    const canonical = `${formatIP({ family: c.value.family, value: c.value.start })}/${c.value.prefix}`;
    const entry: ParsedEntry = { kind: 'cidr', interval, canonical };
    if (c.value.hostBitsSet) entry.warning = `${show(t)} has host bits set; used as ${canonical}`;
    return { ok: true, value: entry };
  }
  const ip = parseIP(t);
  if (!ip.ok) return fail(`${show(t)} is neither a CIDR, a range nor an address: ${ip.error}`);
  const interval = { family: ip.value.family, start: ip.value.value, end: ip.value.value };
  return {
    ok: true,
    value: { kind: 'cidr', interval, canonical: `${formatIP(ip.value)}/${bitsOf(ip.value.family)}` },
  };
}

/** Number of addresses, exact for any size (a /0 IPv6 is 2^128). */
export function intervalSize(iv: IPInterval): bigint {
  return iv.end - iv.start + 1n;
}

export function containsIP(iv: IPInterval, ip: IPAddr): boolean {
  return iv.family === ip.family && iv.start <= ip.value && ip.value <= iv.end;
}

export function containsInterval(outer: IPInterval, inner: IPInterval): boolean {
  return outer.family === inner.family && outer.start <= inner.start && inner.end <= outer.end;
}

export function overlaps(a: IPInterval, b: IPInterval): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

/** The common part of two intervals, or null. */
export function intersection(a: IPInterval, b: IPInterval): IPInterval | null {
  if (!overlaps(a, b)) return null;
  return {
    family: a.family,
    start: a.start > b.start ? a.start : b.start,
    end: a.end < b.end ? a.end : b.end,
  };
}

/** The prefix length if the interval is exactly one CIDR block, else null. */
export function prefixLengthOf(iv: IPInterval): number | null {
  const size = intervalSize(iv);
  if ((size & (size - 1n)) !== 0n) return null; // not a power of two
  if ((iv.start & (size - 1n)) !== 0n) return null; // not aligned
  let hostBits = 0;
  while (1n << BigInt(hostBits) < size) hostBits++;
  return bitsOf(iv.family) - hostBits;
}

/** `net/len` when the interval is one CIDR block, `first-last` otherwise. */
export function formatInterval(iv: IPInterval): string {
  const p = prefixLengthOf(iv);
  const first = formatIP({ family: iv.family, value: iv.start });
  if (p !== null) return `${first}/${p}`;
  return `${first}-${formatIP({ family: iv.family, value: iv.end })}`;
}

/** The minimal list of CIDR blocks covering exactly the interval, in order. */
export function intervalToCidrs(iv: IPInterval): string[] {
  const out: string[] = [];
  const bits = bitsOf(iv.family);
  let cur = iv.start;
  while (cur <= iv.end) {
    // Largest block aligned at cur that does not pass the end.
    let hostBits = 0;
    while (
      hostBits < bits &&
      (cur & ((1n << BigInt(hostBits + 1)) - 1n)) === 0n &&
      cur + (1n << BigInt(hostBits + 1)) - 1n <= iv.end
    ) {
      hostBits++;
    }
    out.push(`${formatIP({ family: iv.family, value: cur })}/${bits - hostBits}`);
    cur += 1n << BigInt(hostBits);
  }
  return out;
}

function cmpInterval(a: IPInterval, b: IPInterval): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  if (a.end !== b.end) return a.end < b.end ? -1 : 1;
  return 0;
}

/**
 * Sorted, disjoint, non-adjacent intervals covering exactly the union of the input (IPv4 first).
 * Adjacent intervals are joined: 192.0.2.0/25 + 192.0.2.128/25 → 192.0.2.0/24.
 */
export function mergeIntervals(list: readonly IPInterval[]): IPInterval[] {
  const sorted = [...list].sort(cmpInterval);
  const out: IPInterval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && last.family === iv.family && iv.start <= last.end + 1n) {
      if (iv.end > last.end) last.end = iv.end;
    } else {
      out.push({ family: iv.family, start: iv.start, end: iv.end });
    }
  }
  return out;
}

/** Number of distinct addresses covered by the list (overlaps counted once). */
export function unionSize(list: readonly IPInterval[]): bigint {
  let n = 0n;
  for (const iv of mergeIntervals(list)) n += intervalSize(iv);
  return n;
}

// The allocatable addresses of one pool in one family, numbered 0 … total-1 in address order
// ("indexes"), and which of them are in use.
//
// The pool's entries are merged into sorted segments; an index maps to an address by a binary search
// over the segments plus arithmetic, so no address is ever enumerated and free space costs nothing.
// avoidBuggyIPs (skip IPv4 x.y.z.0 and x.y.z.255) is folded into that arithmetic: inside a segment
// the allowed addresses are counted per /24 block exactly, whatever the segment's alignment (a range
// 192.0.2.200-192.0.3.10 loses 192.0.2.255 and 192.0.3.0, nothing else).
//
// Used indexes live in a RunSet. Indexes below 2^53 are numbers (fast, and all that lowest-first
// allocation ever reaches); indexes above only occur for requested IPs deep inside huge IPv6 pools
// and go to a second RunSet of bigints.
import {
  formatIPv4,
  formatIPv6,
  formatIPv6Groups,
  type IPInterval,
  ipv6Groups,
} from '../../lib/net/index.ts';
import { RunSet } from './runset.ts';

export type Index = number | bigint;

const SAFE = 2 ** 53;
const SAFE_N = 1n << 53n;

interface Segment {
  start: bigint;
  end: bigint;
  /** Allocatable addresses in this segment. */
  count: bigint;
  /** Index of the segment's first allocatable address. */
  first: bigint;
  /** first and count capped at 2^53, so number indexes compare exactly against them. */
  firstNum: number;
  countNum: number;
  /** IPv4: start as a number. */
  startNum: number;
  /** IPv4 with avoidBuggyIPs: allowed addresses below start (rank of the first allowed one). */
  rankBase: number;
  /** IPv6: the start address as eight 16-bit groups, for string building without BigInt. */
  groups: number[] | null;
  /** IPv6: the lower 64 bits of start as two 32-bit numbers, so number offsets add without BigInt. */
  lowHi: number;
  lowLo: number;
  /**
   * IPv6 text cache: the block (addresses that differ only in their last group) textAt formatted
   * last, as its lower 64 bits >> 16, and its text up to the last group, separator included (null
   * for an IPv4-mapped block). Lowest-first allocation stays in one block for 65536 addresses, so
   * the zero-run search and the hex of seven groups run once per block, not once per address.
   */
  blockKey: number;
  blockText: string | null;
}

/** IPv4 addresses in [0, a] not ending in .0 or .255 (a >= -1). */
function allowedUpTo(a: number): number {
  const n = a + 1;
  const rem = n % 256;
  return Math.floor(n / 256) * 254 + (rem <= 1 ? 0 : rem - 1);
}

/** The allowed IPv4 address of rank r (0-based) when .0 and .255 are skipped. */
function allowedAt(r: number): number {
  return Math.floor(r / 254) * 256 + 1 + (r % 254);
}

const TWO_32 = 2 ** 32;

/** ::ffff:0:0/96 is written with a dotted-quad tail (RFC 5952 section 5), not group by group. */
function isMappedBlock(g: readonly number[], hi: number): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && hi === 0xffff;
}

/**
 * RFC 5952 text of every address of a block up to its last group, for addresses whose last group
 * is not zero: with a non-zero last group the zero-run choice no longer depends on its value, so
 * the text of the block's address ending in 1, minus that final "1", fits them all.
 */
function blockPrefix(g: readonly number[], hi: number, lo: number): string | null {
  if (isMappedBlock(g, hi)) return null;
  const text = formatIPv6Groups([g[0]!, g[1]!, g[2]!, g[3]!, hi >>> 16, hi & 0xffff, lo >>> 16, 1]);
  return text.slice(0, -1);
}

/**
 * Text of segment start + off from the segment's block cache, or null when the cache does not
 * apply (the sum carries into the upper 64 bits, the last group is zero and may join a zero run,
 * or the block is IPv4-mapped).
 */
function textFromBlock(seg: Segment, off: number): string | null {
  const offLo = off % TWO_32;
  let lo = seg.lowLo + offLo;
  let hi = seg.lowHi + (off - offLo) / TWO_32;
  if (lo >= TWO_32) {
    lo -= TWO_32;
    hi += 1;
  }
  const last = lo & 0xffff;
  if (hi >= TWO_32 || last === 0) return null;
  const key = hi * 65536 + (lo >>> 16);
  if (key !== seg.blockKey) {
    seg.blockText = blockPrefix(seg.groups!, hi, lo);
    seg.blockKey = key;
  }
  return seg.blockText === null ? null : seg.blockText + last.toString(16);
}

export function isBuggyIPv4(n: number): boolean {
  const last = n & 255;
  return last === 0 || last === 255;
}

export class FamilySpace {
  readonly family: 4 | 6;
  readonly pool: string;
  readonly avoidBuggy: boolean;
  readonly segments: Segment[];
  /** Allocatable addresses, exact. */
  readonly total: bigint;
  /** Indexes below this are numbers. */
  private readonly lowLimit: number;
  private readonly low = new RunSet<number>(1);
  private readonly high: RunSet<bigint> | null;
  private used = 0;
  /** Other pools' spaces of the same family sharing addresses with this one (kept in sync on hold). */
  overlapping: FamilySpace[] = [];

  constructor(pool: string, family: 4 | 6, merged: readonly IPInterval[], avoidBuggyIPs: boolean) {
    this.pool = pool;
    this.family = family;
    this.avoidBuggy = avoidBuggyIPs && family === 4;
    const segments: Segment[] = [];
    let next = 0n;
    for (const iv of merged) {
      if (iv.family !== family) continue;
      let count = iv.end - iv.start + 1n;
      let rankBase = 0;
      if (this.avoidBuggy) {
        rankBase = allowedUpTo(Number(iv.start) - 1);
        count = BigInt(allowedUpTo(Number(iv.end)) - rankBase);
      }
      if (count === 0n) continue;
      segments.push({
        start: iv.start,
        end: iv.end,
        count,
        first: next,
        firstNum: next >= SAFE_N ? SAFE : Number(next),
        countNum: count >= SAFE_N ? SAFE : Number(count),
        startNum: family === 4 ? Number(iv.start) : 0,
        rankBase,
        groups: family === 6 ? ipv6Groups(iv.start) : null,
        lowHi: family === 6 ? Number((iv.start >> 32n) & 0xffffffffn) : 0,
        lowLo: family === 6 ? Number(iv.start & 0xffffffffn) : 0,
        blockKey: -1,
        blockText: null,
      });
      next += count;
    }
    this.segments = segments;
    this.total = next;
    this.lowLimit = next >= SAFE_N ? SAFE : Number(next);
    this.high = next > SAFE_N ? new RunSet<bigint>(1n) : null;
  }

  get assigned(): number {
    return this.used;
  }

  /** Segment holding a number index (binary search on capped starts: exact below 2^53). */
  private segmentOfNum(i: number): Segment {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.firstNum <= i) lo = mid;
      else hi = mid - 1;
    }
    return segs[lo]!;
  }

  private segmentOfBig(i: bigint): Segment {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.first <= i) lo = mid;
      else hi = mid - 1;
    }
    return segs[lo]!;
  }

  /** The address at an index, as canonical text. The hot path: no BigInt for number indexes. */
  textAt(i: Index): string {
    if (typeof i === 'bigint') return formatIPv6(this.valueAt(i));
    const seg = this.segmentOfNum(i);
    const off = i - seg.firstNum;
    if (this.family === 4) {
      return formatIPv4(this.avoidBuggy ? allowedAt(seg.rankBase + off) : seg.startNum + off);
    }
    const fast = textFromBlock(seg, off);
    if (fast !== null) return fast;
    // start + off over 16-bit groups with carry; off < 2^53 spans at most the low four groups.
    const g = (seg.groups as number[]).slice();
    let rest = off;
    let carry = 0;
    for (let k = 7; k >= 0 && (rest > 0 || carry > 0); k--) {
      const sum = g[k]! + (rest % 65536) + carry;
      rest = Math.floor(rest / 65536);
      g[k] = sum & 0xffff;
      carry = sum > 0xffff ? 1 : 0;
    }
    return formatIPv6Groups(g);
  }

  /** The address at an index as a BigInt value. */
  valueAt(i: Index): bigint {
    if (typeof i === 'number') {
      const seg = this.segmentOfNum(i);
      const off = i - seg.firstNum;
      if (this.avoidBuggy) return BigInt(allowedAt(seg.rankBase + off));
      return seg.start + BigInt(off);
    }
    const seg = this.segmentOfBig(i);
    return seg.start + (i - seg.first); // IPv4 never gets bigint indexes, so no buggy case here
  }

  /** Index of an address, or null when the address is not allocatable in this space. */
  indexOf(value: bigint): Index | null {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    if (hi < 0) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.start <= value) lo = mid;
      else hi = mid - 1;
    }
    const seg = segs[lo]!;
    if (value < seg.start || value > seg.end) return null;
    let idx: bigint;
    if (this.avoidBuggy) {
      const n = Number(value);
      if (isBuggyIPv4(n)) return null;
      idx = seg.first + BigInt(allowedUpTo(n) - seg.rankBase - 1);
    } else {
      idx = seg.first + (value - seg.start);
    }
    return idx < SAFE_N ? Number(idx) : idx;
  }

  /** True when the address lies inside one of the segments, allocatable or not (for messages). */
  covers(value: bigint): boolean {
    return this.segments.some((s) => s.start <= value && value <= s.end);
  }

  has(i: Index): boolean {
    return typeof i === 'number' ? this.low.has(i) : (this.high?.has(i) ?? false);
  }

  mark(i: Index): boolean {
    const added = typeof i === 'number' ? this.low.add(i) : (this.high?.add(i) ?? false);
    if (added) this.used++;
    return added;
  }

  unmark(i: Index): boolean {
    const removed = typeof i === 'number' ? this.low.delete(i) : (this.high?.delete(i) ?? false);
    if (removed) this.used--;
    return removed;
  }

  /** The lowest free index, or null when the space is full. O(log runs). */
  firstFree(): Index | null {
    const lowGap = this.low.firstGap(0);
    if (lowGap < this.lowLimit) return lowGap;
    if (this.high === null) return null;
    const highGap = this.high.firstGap(SAFE_N);
    return highGap < this.total ? highGap : null;
  }

  /** Runs in use (for tests). */
  usedRuns(): Array<{ s: Index; e: Index }> {
    return [...this.low.toArray(), ...(this.high?.toArray() ?? [])];
  }
}

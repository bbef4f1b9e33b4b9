// Response rate limiting per client network (/24 for IPv4, /56 for IPv6), in the spirit of BIND's
// RRL: a token bucket of `responsesPerSecond` per network; past it, every `slip`-th response is sent
// truncated (TC=1, no records: a real client retries over TCP, a spoofed victim gets a tiny packet)
// and the rest are dropped. Pure: the caller passes the clock.

import { isIPv4 } from 'node:net';
import { ipv6Bytes } from '../wire/ip.ts';

export interface RateLimitOptions {
  responsesPerSecond: number;
  /** Send one truncated response per `slip` limited ones; 0 = drop all. Default 2. */
  slip?: number;
  /** Networks tracked at most; the least recently seen are forgotten first. Default 100 000. */
  maxNetworks?: number;
}

export type RateDecision = 'send' | 'slip' | 'drop';

interface Bucket {
  tokens: number;
  last: number;
  limited: number;
}

export function networkKey(address: string): string {
  if (isIPv4(address)) return address.slice(0, address.lastIndexOf('.'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+)\.\d+$/i.exec(address);
  if (mapped) return mapped[1]!;
  try {
    return Buffer.from(ipv6Bytes(address.split('%')[0]!).subarray(0, 7)).toString('hex');
  } catch {
    return address;
  }
}

export class RateLimiter {
  private readonly rate: number;
  private readonly slip: number;
  private readonly max: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: RateLimitOptions) {
    if (!(opts.responsesPerSecond > 0)) throw new Error('responsesPerSecond must be > 0');
    this.rate = opts.responsesPerSecond;
    this.slip = opts.slip ?? 2;
    this.max = opts.maxNetworks ?? 100_000;
  }

  check(address: string, nowMs: number): RateDecision {
    const key = networkKey(address);
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.max) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.rate, last: nowMs, limited: 0 };
    } else this.buckets.delete(key); // re-insert below: Map order = recency
    this.buckets.set(key, b);
    b.tokens = Math.min(this.rate, b.tokens + ((nowMs - b.last) / 1000) * this.rate);
    b.last = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 'send';
    }
    b.limited++;
    return this.slip > 0 && b.limited % this.slip === 0 ? 'slip' : 'drop';
  }
}

/**
 * Pure timing math shared by the informer (reconnect), the work queue (per-key retry) and the
 * overall rate limiter. No timers here: callers pass `now` and a random source, so tests are exact.
 */

export interface BackoffOptions {
  /** Delay of the first retry (attempt 0), ms. */
  baseMs: number;
  /** Upper bound of the un-jittered delay, ms. */
  maxMs: number;
  /**
   * Fraction of the delay that is randomized, 0..1. With 0.5 the delay lies in
   * [0.5·d, d]: retries from many replicas spread out, yet never exceed the cap.
   */
  jitter: number;
}

/** Exponential delay for retry number `attempt` (0-based): min(max, base·2^attempt), then jitter. */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (!(opts.baseMs >= 0) || !(opts.maxMs >= 0)) throw new RangeError('backoff base/max must be >= 0');
  const a = Math.max(0, Math.floor(attempt));
  // 2^a overflows to Infinity for huge a; min() with the cap keeps the result finite.
  const raw = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(a, 1024));
  const j = Math.min(1, Math.max(0, opts.jitter));
  const r = Math.min(1, Math.max(0, random()));
  return raw * (1 - j * r);
}

/** Per-key exponential backoff: remembers failures per key until forgotten. */
export class KeyedBackoff<K> {
  private readonly failures = new Map<K, number>();
  private readonly opts: BackoffOptions;
  private readonly random: () => number;
  constructor(opts: BackoffOptions, random: () => number = Math.random) {
    this.opts = opts;
    this.random = random;
  }
  /** Delay for the next retry of `key`; counts one more failure. */
  next(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return backoffDelay(n, this.opts, this.random);
  }
  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }
  forget(key: K): void {
    this.failures.delete(key);
  }
}

/**
 * Token bucket: `qps` tokens per second, up to `burst` banked. `reserve(now)` takes a token
 * and returns how long the caller must wait for it (0 if one was available). Reservations queue
 * up: the n-th caller past the burst waits n/qps seconds, like client-go's BucketRateLimiter.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;
  private readonly qps: number;
  private readonly burst: number;
  constructor(qps: number, burst: number) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError('token bucket needs qps > 0 and burst >= 1');
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
  }
  reserve(now: number): number {
    if (this.last !== undefined) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    }
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }
  /** Give back a reservation the caller decided not to use (so it does not delay later callers). */
  cancel(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }
}

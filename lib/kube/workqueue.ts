import { type BackoffOptions, KeyedBackoff, TokenBucket } from './backoff.ts';

/**
 * A keyed, de-duplicating, rate-limited work queue with client-go semantics:
 *  - a key waiting in the queue is held once however often it is added;
 *  - a key being processed is never handed to a second worker; if it is added meanwhile it is
 *    processed again after `done()` (so no change is lost and no key runs twice at once);
 *  - `addRateLimited` waits max(per-key exponential backoff, overall token bucket);
 *  - `addAfter` keeps only the earliest pending deadline per key.
 */

export interface WorkQueueMetrics {
  /** Current number of keys waiting (not counting ones being processed). */
  depth?(depth: number): void;
  /** A key was added (after de-duplication: only real enqueues). */
  added?(): void;
  /** Seconds a key waited between enqueue and a worker picking it up. */
  queueLatency?(seconds: number): void;
  /** Seconds a worker held a key (get → done). */
  workDuration?(seconds: number): void;
  /** A key was re-added with backoff. */
  retried?(): void;
}

export interface WorkQueueOptions {
  /** Per-key retry backoff. Default: 100 ms doubling, capped at 5 min, 20 % jitter. */
  backoff?: BackoffOptions;
  /** Overall retry rate limit (tokens/s and burst). Default 10 qps, burst 100. */
  qps?: number;
  burst?: number;
  metrics?: WorkQueueMetrics;
  /** Injectable clock and randomness (tests). */
  now?: () => number;
  random?: () => number;
}

export const DEFAULT_QUEUE_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 300_000, jitter: 0.2 };

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly enqueuedAt = new Map<K, number>();
  private readonly startedAt = new Map<K, number>();
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(k: K | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private readonly backoff: KeyedBackoff<K>;
  private readonly bucket: TokenBucket;
  private readonly metrics: WorkQueueMetrics;
  private readonly now: () => number;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.backoff = new KeyedBackoff<K>(opts.backoff ?? DEFAULT_QUEUE_BACKOFF, opts.random);
    this.bucket = new TokenBucket(opts.qps ?? 10, opts.burst ?? 100);
    this.metrics = opts.metrics ?? {};
  }

  /** Keys waiting to be processed. */
  get length(): number {
    return this.queue.length - this.head;
  }
  get processingCount(): number {
    return this.processing.size;
  }
  get pendingDelayed(): number {
    return this.delayed.size;
  }
  isShutDown(): boolean {
    return this.shuttingDown;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.enqueuedAt.set(key, this.now());
    this.metrics.added?.();
    if (this.processing.has(key)) return; // re-queued by done()
    this.push(key);
  }

  /** Add after `ms`; a later call with an earlier deadline wins, a later deadline is ignored. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = this.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Re-add after the key's backoff (and the overall rate limit). Returns the delay used. */
  addRateLimited(key: K): number {
    const delay = Math.max(this.backoff.next(key), this.bucket.reserve(this.now()));
    this.metrics.retried?.();
    this.addAfter(key, delay);
    return delay;
  }

  /** Reset the key's failure count (call after a success). Does not cancel a pending addAfter. */
  forget(key: K): void {
    this.backoff.forget(key);
  }

  numRequeues(key: K): number {
    return this.backoff.retries(key);
  }

  /** Next key to process, or undefined once the queue is shut down (and drained of waiting keys). */
  get(): Promise<K | undefined> {
    const k = this.take();
    if (k !== undefined) return Promise.resolve(k);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Mark a key returned by get() as finished; re-queues it if it was added meanwhile. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.metrics.workDuration?.((this.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /**
   * Stop: no new keys; pending addAfter timers are cancelled; waiting get()s resolve undefined.
   * Keys already queued are dropped (level-based reconcilers re-derive them after a restart).
   * Resolves once keys in flight are done().
   */
  async shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.enqueuedAt.clear();
    this.metrics.depth?.(0);
    for (const w of this.waiters.splice(0)) w(undefined);
    if (this.processing.size > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
  }

  private push(key: K): void {
    const w = this.waiters.shift();
    if (w) {
      this.queue.push(key);
      w(this.take());
      return;
    }
    this.queue.push(key);
    this.metrics.depth?.(this.length);
  }

  private take(): K | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head] as K;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    const at = this.enqueuedAt.get(key);
    this.enqueuedAt.delete(key);
    const now = this.now();
    if (at !== undefined) this.metrics.queueLatency?.((now - at) / 1000);
    this.startedAt.set(key, now);
    this.metrics.depth?.(this.length);
    return key;
  }
}

import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { BackoffOptions } from './backoff.ts';
import { type KubeObject, objectKey } from './cache.ts';
import type { Informer } from './informer.ts';
import { errInfo, type KubeLogger, noopLogger } from './log.ts';
import { WorkQueue, type WorkQueueMetrics } from './workqueue.ts';

/**
 * Runner for level-based reconcilers (the controller-runtime shape): the queue holds keys only,
 * the reconciler reads current state from informer caches and converges. Errors requeue with
 * per-key backoff; `{ requeueAfter }` re-checks later; TerminalError gives up on the key until it
 * is enqueued again by a change.
 */

export type ReconcileResult = { requeueAfter?: number } | undefined;
// biome-ignore lint/suspicious/noConfusingVoidType: reconcilers may simply return nothing.
export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

/** Throw to report a failure that retrying cannot fix (bad input): logged, not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface ControllerMetrics extends WorkQueueMetrics {
  /** One reconcile finished: result 'success' | 'requeue' | 'error' | 'terminal'. */
  reconciled?(result: 'success' | 'requeue' | 'error' | 'terminal', seconds: number): void;
}

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Parallel workers; a key is never reconciled by two workers at once. Default 1. */
  concurrency?: number;
  backoff?: BackoffOptions;
  qps?: number;
  burst?: number;
  logger?: KubeLogger;
  /** Either callbacks, or a prom-client Registry to register standard metrics in. */
  metrics?: ControllerMetrics;
  registry?: Registry;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  private readonly reconcile: Reconciler;
  private readonly concurrency: number;
  private readonly log: KubeLogger;
  private readonly metrics: ControllerMetrics;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  private started = false;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.reconcile = opts.reconcile;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
    this.log = opts.logger ?? noopLogger;
    const fromRegistry = opts.registry ? promControllerMetrics(opts.registry, opts.name) : {};
    this.metrics = mergeMetrics(fromRegistry, opts.metrics ?? {});
    this.queue = new WorkQueue<string>({
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.qps !== undefined ? { qps: opts.qps } : {}),
      ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
      metrics: this.metrics,
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }
  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /**
   * Start the workers. Keys enqueued before start() wait until then, so callers can wire
   * informer handlers first, wait for caches to sync, then start.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.worker());
  }

  /** Stop taking keys, abort the signal given to running reconciles, wait for them to return. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.processOne(key);
    }
  }

  private async processOne(key: string): Promise<void> {
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    try {
      const result = await this.reconcile(key, this.abort.signal);
      this.queue.forget(key);
      const after = result?.requeueAfter;
      if (after !== undefined && after >= 0) {
        this.queue.addAfter(key, after);
        this.metrics.reconciled?.('requeue', seconds());
      } else {
        this.metrics.reconciled?.('success', seconds());
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        this.metrics.reconciled?.('terminal', seconds());
        this.log.error({ controller: this.name, key, ...errInfo(err) }, 'reconcile failed permanently');
      } else if (!this.abort.signal.aborted) {
        const delay = this.queue.addRateLimited(key);
        this.metrics.reconciled?.('error', seconds());
        this.log.warn(
          {
            controller: this.name,
            key,
            retryInMs: Math.round(delay),
            retries: this.queue.numRequeues(key),
            ...errInfo(err),
          },
          'reconcile failed; will retry',
        );
      }
    } finally {
      this.queue.done(key);
    }
  }
}

/**
 * Feed an informer's changes into a controller's queue. `keys` maps an object to the keys to
 * reconcile (default: its own key); e.g. a pool change can enqueue every Service that may use it.
 * Resync updates (old === new) are enqueued too: that is what resync is for. Returns unsubscribe.
 */
export function enqueueOnChange<T extends KubeObject>(
  informer: Informer<T>,
  target: { enqueue(key: string): void },
  keys: (obj: T) => readonly string[] = (o) => [objectKey(o)],
): () => void {
  const push = (o: T) => {
    for (const k of keys(o)) target.enqueue(k);
  };
  return informer.addHandlers({
    add: push,
    update: (old, o) => {
      push(o);
      // A change can move an object out of a key's scope (e.g. pool selector): reconcile both.
      if (old !== o) for (const k of keys(old)) target.enqueue(k);
    },
    delete: push,
  });
}

function mergeMetrics(a: ControllerMetrics, b: ControllerMetrics): ControllerMetrics {
  const keys = ['depth', 'added', 'queueLatency', 'workDuration', 'retried', 'reconciled'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const fa = a[k] as ((...args: unknown[]) => void) | undefined;
    const fb = b[k] as ((...args: unknown[]) => void) | undefined;
    if (fa && fb)
      out[k] = (...args: unknown[]) => {
        fa(...args);
        fb(...args);
      };
    else if (fa ?? fb) out[k] = fa ?? fb;
  }
  return out as ControllerMetrics;
}

/**
 * Standard queue/reconcile metrics (names follow controller-runtime's) labelled by controller,
 * registered once per registry and shared by every controller that uses it.
 */
export function promControllerMetrics(registry: Registry, controller: string): ControllerMetrics {
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const depth = get(
    'workqueue_depth',
    () =>
      new Gauge({
        name: 'workqueue_depth',
        help: 'Keys waiting in the work queue',
        labelNames: ['name'],
        registers: [registry],
      }),
  );
  const adds = get(
    'workqueue_adds_total',
    () =>
      new Counter({
        name: 'workqueue_adds_total',
        help: 'Keys added to the work queue',
        labelNames: ['name'],
        registers: [registry],
      }),
  );
  const retries = get(
    'workqueue_retries_total',
    () =>
      new Counter({
        name: 'workqueue_retries_total',
        help: 'Keys re-added with backoff',
        labelNames: ['name'],
        registers: [registry],
      }),
  );
  const latency = get(
    'workqueue_queue_duration_seconds',
    () =>
      new Histogram({
        name: 'workqueue_queue_duration_seconds',
        help: 'Seconds a key waited in the queue',
        labelNames: ['name'],
        buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60],
        registers: [registry],
      }),
  );
  const work = get(
    'workqueue_work_duration_seconds',
    () =>
      new Histogram({
        name: 'workqueue_work_duration_seconds',
        help: 'Seconds a worker spent on a key',
        labelNames: ['name'],
        buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60],
        registers: [registry],
      }),
  );
  const reconciles = get(
    'controller_reconcile_total',
    () =>
      new Counter({
        name: 'controller_reconcile_total',
        help: 'Reconciles by result',
        labelNames: ['controller', 'result'],
        registers: [registry],
      }),
  );
  return {
    depth: (d) => depth.set({ name: controller }, d),
    added: () => adds.inc({ name: controller }),
    retried: () => retries.inc({ name: controller }),
    queueLatency: (s) => latency.observe({ name: controller }, s),
    workDuration: (s) => work.observe({ name: controller }, s),
    reconciled: (result) => reconciles.inc({ controller, result }),
  };
}

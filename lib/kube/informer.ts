import { type BackoffOptions, backoffDelay } from './backoff.ts';
import { diffRelist, IndexedCache, type IndexFunc, type KubeObject, objectKey } from './cache.ts';
import {
  apiVersionOf,
  collectionPath,
  isGone,
  KubeApiError,
  type KubeClient,
  type KubeStatus,
  type Query,
  type ResourceRef,
} from './client.ts';
import { errInfo, type KubeLogger, noopLogger } from './log.ts';

/**
 * A typed informer: list, then watch from the list's resourceVersion, keeping an indexed cache
 * and calling handlers on add/update/delete. Resilience, in the order things go wrong:
 *  - the watch ends (server timeout, LB idle cut): reconnect at once from the last resourceVersion;
 *  - transport errors / 5xx / 429: reconnect with exponential backoff + jitter;
 *  - 410 Gone (resourceVersion compacted): relist, diff against the cache so updates and
 *    deletes that happened during the gap are delivered, then watch again;
 *  - the watch is silent longer than `silenceTimeoutMs` (half-open TCP, stuck proxy): the
 *    watchdog aborts it and relists;
 *  - optional periodic resync re-delivers every cached object as an update (old === new), so
 *    level-based reconcilers re-check state that drifted outside Kubernetes.
 * Bookmarks (allowWatchBookmarks) keep the resourceVersion fresh on quiet resources, so a
 * reconnect rarely needs a relist. See docs/decisions/010-own-watch-loop.md.
 */

export type { KubeObject } from './cache.ts';
export { objectKey, splitKey } from './cache.ts';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  /** On resync, `old === obj`. */
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  resource: ResourceRef;
  /** Limit to one namespace (namespaced resources); default all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size for lists (0 = unpaged). Default 500. */
  pageSize?: number;
  /** Reconnect/relist backoff. Default 250 ms doubling to 30 s, 50 % jitter. */
  backoff?: BackoffOptions;
  /** Server-side watch timeout range, seconds. Default [240, 300). */
  watchTimeoutSeconds?: [number, number];
  /** Relist if no byte arrives for this long. Default 360 s (above the watch timeout). */
  silenceTimeoutMs?: number;
  /** Re-deliver all objects as updates this often; 0 = never (default). */
  resyncPeriodMs?: number;
  /** Deadline for list requests and for watch response headers. Default 60 s. */
  requestTimeoutMs?: number;
  logger?: KubeLogger;
  /** For logs and metrics. Default: the plural. */
  name?: string;
  random?: () => number;
  /**
   * Applied to every object before it enters the cache or reaches a handler (list items and watch
   * events, deletes included), like client-go's TransformFunc: return a smaller object with only
   * the fields the handlers and cache readers use, and the whole object the apiserver sent becomes
   * garbage at once. It must keep metadata.name, namespace, uid and resourceVersion (cache keys and
   * relist diffs). If it throws, the object is cached whole and the error logged: nothing is lost.
   */
  transform?(obj: T): T;
}

export const DEFAULT_INFORMER_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 30_000, jitter: 0.5 };

export interface InformerStats {
  lists: number;
  relistsAfterGone: number;
  watchdogRelists: number;
  watchesStarted: number;
  watchErrors: number;
  resyncs: number;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

interface ListResponse<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

const WATCHDOG = 'watchdog: watch silent too long';
const HEALTHY_WATCH_MS = 1_000;

export class Informer<T extends KubeObject> {
  readonly name: string;
  readonly stats: InformerStats = {
    lists: 0,
    relistsAfterGone: 0,
    watchdogRelists: 0,
    watchesStarted: 0,
    watchErrors: 0,
    resyncs: 0,
  };
  private readonly client: KubeClient;
  private readonly opts: InformerOptions<T>;
  private readonly cache = new IndexedCache<T>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly log: KubeLogger;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly abort = new AbortController();
  private readonly syncWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private rv: string | undefined;
  private synced = false;
  private running: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(client: KubeClient, opts: InformerOptions<T>) {
    this.client = client;
    this.opts = opts;
    this.name = opts.name ?? opts.resource.plural;
    this.log = opts.logger ?? noopLogger;
    this.backoff = opts.backoff ?? DEFAULT_INFORMER_BACKOFF;
    this.random = opts.random ?? Math.random;
  }

  /** Register handlers; returns an unsubscribe function. Adding after sync replays current objects as adds. */
  addHandlers(h: InformerHandlers<T>): () => void {
    this.handlers.add(h);
    if (this.synced) for (const obj of this.cache.list()) this.call(h, 'add', obj);
    return () => this.handlers.delete(h);
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.cache.addIndex(name, fn);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }
  list(): T[] {
    return this.cache.list();
  }
  keys(): string[] {
    return this.cache.keys();
  }
  byIndex(name: string, value: string): T[] {
    return this.cache.byIndex(name, value);
  }
  /** The last resourceVersion seen (list, event or bookmark). */
  get resourceVersion(): string | undefined {
    return this.rv;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has been delivered; rejects on timeout or stop(). */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.abort.signal.aborted) return Promise.reject(new Error(`informer ${this.name} stopped`));
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.syncWaiters.push(w);
      if (timeoutMs !== undefined) {
        const t = setTimeout(() => {
          const i = this.syncWaiters.indexOf(w);
          if (i >= 0) this.syncWaiters.splice(i, 1);
          reject(new Error(`informer ${this.name} not synced after ${timeoutMs} ms`));
        }, timeoutMs);
        const done = w.resolve;
        w.resolve = () => {
          clearTimeout(t);
          done();
        };
        const fail = w.reject;
        w.reject = (e) => {
          clearTimeout(t);
          fail(e);
        };
      }
    });
  }

  start(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = this.run().catch((err) => {
      this.log.error({ informer: this.name, ...errInfo(err) }, 'informer loop crashed');
    });
    if (this.opts.resyncPeriodMs && this.opts.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncPeriodMs);
    }
  }

  /** Stop watching: aborts the in-flight request, clears timers, resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('informer stopped'));
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    for (const w of this.syncWaiters.splice(0)) w.reject(new Error(`informer ${this.name} stopped`));
    await this.running;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    let needList = true;
    let justListed = false;
    let attempt = 0;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.listAndDiff();
          needList = false;
          justListed = true;
        } catch (err) {
          if (this.stopped) return;
          const delay = backoffDelay(attempt++, this.backoff, this.random);
          this.log.warn(
            { informer: this.name, retryInMs: Math.round(delay), ...errInfo(err) },
            'list failed',
          );
          await sleep(delay, this.abort.signal);
          continue;
        }
      }
      const afterList = justListed;
      justListed = false;
      const outcome = await this.watchOnce(afterList);
      if (this.stopped) return;
      switch (outcome.kind) {
        case 'closed':
          // A clean server-side close after a healthy watch (events seen, or it lasted a while on a
          // quiet resource): resume at once from the last rv. Only a watch that closes instantly
          // and empty (a misbehaving proxy) backs off, so we never hot-loop.
          if (outcome.lines > 0 || outcome.durationMs >= HEALTHY_WATCH_MS) attempt = 0;
          else await sleep(backoffDelay(attempt++, this.backoff, this.random), this.abort.signal);
          break;
        case 'gone':
          this.stats.relistsAfterGone++;
          this.log.info({ informer: this.name, rv: this.rv }, 'resourceVersion too old (410): relisting');
          needList = true;
          // 410 straight after a fresh list (e.g. a restarting apiserver whose watch cache lags):
          // relist with backoff instead of spinning.
          if (outcome.lines > 0) attempt = 0;
          else if (outcome.afterList)
            await sleep(backoffDelay(attempt++, this.backoff, this.random), this.abort.signal);
          break;
        case 'watchdog':
          this.stats.watchdogRelists++;
          this.log.warn({ informer: this.name }, 'watch silent too long: relisting');
          needList = true;
          break;
        case 'error': {
          this.stats.watchErrors++;
          if (outcome.lines > 0) attempt = 0;
          const delay = backoffDelay(attempt++, this.backoff, this.random);
          this.log.warn(
            { informer: this.name, retryInMs: Math.round(delay), ...errInfo(outcome.error) },
            'watch failed; reconnecting',
          );
          await sleep(delay, this.abort.signal);
          break;
        }
      }
    }
  }

  private baseQuery(): Query {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  private async listAndDiff(): Promise<void> {
    const path = collectionPath(this.opts.resource, this.opts.namespace);
    const pageSize = this.opts.pageSize ?? 500;
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    this.stats.lists++;
    for (;;) {
      let page: ListResponse<T>;
      try {
        page = await this.client.request<ListResponse<T>>({
          path,
          query: { ...this.baseQuery(), limit: pageSize > 0 ? pageSize : undefined, continue: cont },
          signal: this.abort.signal,
          timeoutMs: this.opts.requestTimeoutMs ?? 60_000,
        });
      } catch (err) {
        // An expired continue token: start the list over.
        if (cont !== undefined && isGone(err)) {
          items.length = 0;
          cont = undefined;
          continue;
        }
        throw err;
      }
      for (const it of page.items ?? []) items.push(this.transformed(this.withTypeMeta(it)));
      rv = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
      if (!cont) break;
    }
    if (this.stopped) return;
    const diff = diffRelist(this.cache, items);
    for (const old of diff.deleted) {
      this.cache.delete(objectKey(old));
      this.emit('delete', old);
    }
    for (const obj of diff.added) {
      this.cache.upsert(obj);
      this.emit('add', obj);
    }
    for (const [old, obj] of diff.updated) {
      this.cache.upsert(obj);
      this.emit('update', obj, old);
    }
    this.rv = rv;
    this.log.debug(
      {
        informer: this.name,
        rv,
        added: diff.added.length,
        updated: diff.updated.length,
        deleted: diff.deleted.length,
        unchanged: diff.unchanged,
      },
      'listed',
    );
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w.resolve();
    }
  }

  private async watchOnce(
    afterList: boolean,
  ): Promise<
    | { kind: 'closed'; lines: number; durationMs: number }
    | { kind: 'gone'; lines: number; afterList: boolean }
    | { kind: 'watchdog' }
    | { kind: 'error'; error: unknown; lines: number }
  > {
    const ctl = new AbortController();
    const onStop = () => ctl.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const silence = this.opts.silenceTimeoutMs ?? 360_000;
    let watchdog: NodeJS.Timeout | undefined;
    const pet = () => {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(() => ctl.abort(new Error(WATCHDOG)), silence);
    };
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [240, 300];
    const timeoutSeconds = Math.floor(lo + (hi - lo) * this.random());
    let lines = 0;
    const started = Date.now();
    this.stats.watchesStarted++;
    try {
      pet();
      const stream = await this.client.watchLines({
        path: collectionPath(this.opts.resource, this.opts.namespace),
        query: {
          ...this.baseQuery(),
          resourceVersion: this.rv,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        signal: ctl.signal,
        connectTimeoutMs: this.opts.requestTimeoutMs ?? 60_000,
      });
      pet();
      for await (const line of stream) {
        lines++;
        pet();
        let ev: WatchEvent;
        try {
          ev = JSON.parse(line) as WatchEvent;
        } catch {
          this.log.warn({ informer: this.name, line: line.slice(0, 200) }, 'unparsable watch line ignored');
          continue;
        }
        const r = this.apply(ev);
        if (r === 'gone') return { kind: 'gone', lines: lines - 1, afterList };
        if (r instanceof Error) return { kind: 'error', error: r, lines };
      }
      if (
        ctl.signal.aborted &&
        ctl.signal.reason instanceof Error &&
        ctl.signal.reason.message === WATCHDOG
      ) {
        return { kind: 'watchdog' };
      }
      return { kind: 'closed', lines, durationMs: Date.now() - started };
    } catch (err) {
      if (
        ctl.signal.aborted &&
        ctl.signal.reason instanceof Error &&
        ctl.signal.reason.message === WATCHDOG
      ) {
        return { kind: 'watchdog' };
      }
      if (isGone(err)) return { kind: 'gone', lines, afterList };
      return { kind: 'error', error: err, lines };
    } finally {
      if (watchdog) clearTimeout(watchdog);
      this.abort.signal.removeEventListener('abort', onStop);
      ctl.abort();
    }
  }

  /** Apply one watch event to the cache; 'gone' / an Error end the watch. */
  private apply(ev: WatchEvent): 'ok' | 'gone' | Error {
    if (ev.type === 'ERROR') {
      const st = ev.object as KubeStatus | undefined;
      if (st?.code === 410) return 'gone';
      return new KubeApiError('WATCH', collectionPath(this.opts.resource), st?.code ?? 500, st);
    }
    const raw = ev.object as T;
    const rv = raw?.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return 'ok';
    }
    if (!raw?.metadata?.name) return 'ok';
    const obj = this.transformed(raw);
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
      const old = this.cache.upsert(obj);
      if (old) this.emit('update', obj, old);
      else this.emit('add', obj);
    } else if (ev.type === 'DELETED') {
      const old = this.cache.delete(objectKey(obj));
      // Deliver the final state from the event; fall back to the cached one.
      this.emit('delete', obj ?? old);
    }
    if (rv) this.rv = rv;
    return 'ok';
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    this.stats.resyncs++;
    for (const obj of this.cache.list()) this.emit('update', obj, obj);
  }

  private transformed(obj: T): T {
    const t = this.opts.transform;
    if (!t) return obj;
    try {
      return t(obj);
    } catch (err) {
      this.log.warn(
        { informer: this.name, object: obj.metadata?.name, ...errInfo(err) },
        'transform failed: caching the whole object',
      );
      return obj;
    }
  }

  private withTypeMeta(obj: T): T {
    const kind = this.opts.resource.kind;
    if (!kind || (obj.kind && obj.apiVersion)) return obj;
    return { ...obj, kind, apiVersion: apiVersionOf(this.opts.resource) };
  }

  private emit(type: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const h of this.handlers) this.call(h, type, obj, old);
  }

  private call(h: InformerHandlers<T>, type: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    try {
      if (type === 'add') h.add?.(obj);
      else if (type === 'update') h.update?.(old ?? obj, obj);
      else h.delete?.(obj);
    } catch (err) {
      // A buggy handler must not kill the informer or skip other handlers.
      this.log.error({ informer: this.name, event: type, ...errInfo(err) }, 'informer handler threw');
    }
  }
}

/** Sleep that resolves early (never rejects) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

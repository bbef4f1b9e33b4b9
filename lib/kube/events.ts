import { TokenBucket } from './backoff.ts';
import type { KubeObject } from './cache.ts';
import { collectionPath, isNotFound, type KubeClient, objectPath, Resources } from './client.ts';
import { microTime } from './leader.ts';
import { errInfo, type KubeLogger, noopLogger } from './log.ts';

/**
 * Event recorder on events.k8s.io/v1 (what `kubectl describe` and `kubectl events` show).
 * Repeats of the same (object, type, reason, action, note) within `windowMs` do not create new
 * Events: the first Event gets a `series` whose count is bumped instead, and bursts of repeats
 * are coalesced into one write. Recording never throws and never blocks the caller: Events are
 * diagnostics, a failure to write one is logged and otherwise ignored.
 */

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** e.g. 'portico.dev/controller'. */
  reportingController: string;
  /** e.g. the pod name. */
  reportingInstance: string;
  /** Dedupe window. Default 10 min. */
  windowMs?: number;
  /**
   * Creation rate limit against event storms: default 50/s, burst 500 (2,000 Services allocated
   * at once still all get their Event). An Event that would wait longer than `maxWaitMs`
   * (default 60 s) is dropped with a warning: Events are diagnostics, not state.
   */
  qps?: number;
  burst?: number;
  maxWaitMs?: number;
  logger?: KubeLogger;
  now?: () => number;
  /** Max remembered series (oldest forgotten first). Default 4096. */
  maxSeries?: number;
}

interface EventRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

interface Series {
  name?: string;
  namespace: string;
  count: number;
  written: number;
  firstSeen: number;
  lastSeen: number;
  busy: boolean;
  body: Record<string, unknown>;
}

const MAX_NOTE = 1024;
const MAX_REASON = 128;

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** The dedupe key of an Event. Exported for tests. */
export function eventKey(
  ref: EventRef,
  type: EventType,
  reason: string,
  action: string,
  note: string,
): string {
  return JSON.stringify([
    ref.apiVersion,
    ref.kind,
    ref.namespace ?? '',
    ref.name,
    ref.uid ?? '',
    type,
    reason,
    action,
    note,
  ]);
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly o: EventRecorderOptions;
  private readonly log: KubeLogger;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly bucket: TokenBucket;
  private readonly series = new Map<string, Series>();
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;

  constructor(client: KubeClient, opts: EventRecorderOptions) {
    this.client = client;
    this.o = opts;
    this.log = opts.logger ?? noopLogger;
    this.now = opts.now ?? Date.now;
    this.windowMs = opts.windowMs ?? 600_000;
    this.bucket = new TokenBucket(opts.qps ?? 50, opts.burst ?? 500);
  }

  normal(regarding: KubeObject, reason: string, note: string, action = reason): void {
    this.event(regarding, 'Normal', reason, action, note);
  }
  warning(regarding: KubeObject, reason: string, note: string, action = reason): void {
    this.event(regarding, 'Warning', reason, action, note);
  }

  /** Record an Event about `regarding` (needs apiVersion, kind, metadata.name). Never throws. */
  event(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void {
    try {
      if (this.closed) return;
      const ref = toRef(regarding);
      const now = this.now();
      const r = truncate(reason, MAX_REASON);
      const a = truncate(action || reason, MAX_REASON);
      const n = truncate(note, MAX_NOTE);
      const key = eventKey(ref, type, r, a, n);
      const existing = this.series.get(key);
      if (existing && now - existing.lastSeen <= this.windowMs) {
        existing.count++;
        existing.lastSeen = now;
        this.kick(key, existing);
        return;
      }
      // Cluster-scoped objects get their Events in 'default', as client-go does.
      const namespace = ref.namespace || 'default';
      const s: Series = {
        namespace,
        count: 1,
        written: 0,
        firstSeen: now,
        lastSeen: now,
        busy: false,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          // client-go's naming: <object>.<hex time>; generateName would end in '.', which is invalid.
          metadata: { name: eventName(ref.name, now), namespace },
          eventTime: microTime(now),
          reportingController: this.o.reportingController,
          reportingInstance: this.o.reportingInstance,
          action: a,
          reason: r,
          note: n,
          type,
          regarding: ref,
        },
      };
      this.series.delete(key);
      this.series.set(key, s);
      this.evict();
      this.kick(key, s);
    } catch (err) {
      this.log.warn({ reason, ...errInfo(err) }, 'event not recorded');
    }
  }

  /** Resolves when every write started so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Stop recording; waits for pending writes. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private evict(): void {
    const max = this.o.maxSeries ?? 4096;
    for (const k of this.series.keys()) {
      if (this.series.size <= max) break;
      this.series.delete(k);
    }
  }

  /** Make sure one writer brings the server up to date with `s.count`. */
  private kick(key: string, s: Series): void {
    if (s.busy) return; // the running writer loops until written === count
    s.busy = true;
    const p = this.writeLoop(key, s).finally(() => {
      s.busy = false;
      this.inflight.delete(p);
    });
    this.inflight.add(p);
  }

  private async writeLoop(key: string, s: Series): Promise<void> {
    while (s.written < s.count && !this.closed) {
      const target = s.count;
      try {
        if (s.name === undefined) {
          const wait = this.bucket.reserve(this.now());
          if (wait > (this.o.maxWaitMs ?? 60_000)) {
            this.bucket.cancel();
            this.log.warn({ reason: s.body.reason }, 'event dropped: rate limit');
            this.series.delete(key);
            return;
          }
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const body =
            target > 1
              ? { ...s.body, series: { count: target, lastObservedTime: microTime(s.lastSeen) } }
              : s.body;
          const created = await this.client.request<{ metadata?: { name?: string } }>({
            method: 'POST',
            path: collectionPath(Resources.events, s.namespace),
            body,
          });
          s.name = created?.metadata?.name;
          if (s.name === undefined) throw new Error('created Event has no name');
        } else {
          await this.client.request({
            method: 'PATCH',
            path: objectPath(Resources.events, s.namespace, s.name),
            contentType: 'application/merge-patch+json',
            body: { series: { count: target, lastObservedTime: microTime(s.lastSeen) } },
          });
        }
        s.written = target;
      } catch (err) {
        if (s.name !== undefined && isNotFound(err)) {
          // The Event expired (events have a TTL) while the series was still alive: start anew.
          s.name = undefined;
          continue;
        }
        this.log.warn({ reason: s.body.reason, ...errInfo(err) }, 'writing event failed');
        // Forget the series so the next occurrence tries again from scratch.
        if (this.series.get(key) === s) this.series.delete(key);
        return;
      }
    }
  }
}

let seq = 0;
/** `<object name>.<hex nanos-ish>`, unique per process, within the 253-char name limit. */
export function eventName(objectName: string, now: number): string {
  seq = (seq + 1) % 1_000_000;
  const suffix = (BigInt(now) * 1_000_000n + BigInt(seq)).toString(16);
  return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

function toRef(obj: KubeObject): EventRef {
  const m = obj.metadata;
  if (!obj.apiVersion || !obj.kind || !m?.name) {
    throw new Error('event target needs apiVersion, kind and metadata.name');
  }
  const ref: EventRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: m.name };
  if (m.namespace) ref.namespace = m.namespace;
  if (m.uid) ref.uid = m.uid;
  if (m.resourceVersion) ref.resourceVersion = m.resourceVersion;
  return ref;
}

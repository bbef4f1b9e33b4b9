// The leader's work: one "term" per period of leadership. A term owns a fresh allocator, restores
// the whole state from what the apiserver holds BEFORE it allocates anything, then runs two
// level-based reconcilers: Services (by namespace/name) and IPAddressPool status (by name).
// A standby never builds a term: it keeps the informer caches warm and writes nothing.
// See docs/decisions/060-restore-before-allocate.md.

import { ANNOTATIONS, aliasWarning } from '../lib/api/annotations.ts';
import { EVENT_REASONS } from '../lib/api/conditions.ts';
import { controllerFieldManager, FIELD_MANAGERS } from '../lib/api/group.ts';
import { type ClassConfig, servedByPortico } from '../lib/api/service-class.ts';
import {
  applyAnnotations,
  applyStatus,
  type Condition,
  Controller,
  conditionForApply,
  type EventRecorder,
  errInfo,
  type Informer,
  isNotFound,
  type KubeClient,
  type KubeLogger,
  type KubeObject,
  objectPath,
  Resources,
  splitKey,
} from '../lib/kube/index.ts';
import { type AllocationResult, Allocator, type PoolInput } from './ipam/index.ts';
import type { ControllerMetrics } from './metrics.ts';
import { poolStatusIntent, poolStatusUpToDate } from './pool-state.ts';
import { POOL_RESOURCE, type PoolObject } from './pools.ts';
import {
  annotationUpToDate,
  carriesOurState,
  type DesiredServiceState,
  desiredState,
  ingressOf,
  managedBy,
  restoreEntryOf,
  type ServiceObject,
  statusUpToDate,
  toRequest,
} from './service-state.ts';
import { trimService } from './trim.ts';

export interface NamespaceObject extends KubeObject {}

export interface TermContext extends ClassConfig {
  client: KubeClient;
  services: Informer<ServiceObject & KubeObject>;
  pools: Informer<PoolObject>;
  namespaces: Informer<NamespaceObject>;
  recorder: EventRecorder;
  metrics: ControllerMetrics;
  log: KubeLogger;
  reclaimOutOfPool: boolean;
  concurrency: number;
  /** Pool status writes are coalesced: at most one per pool per this many ms. Default 1000. */
  poolStatusDelayMs?: number;
}

/** Pool status: every controller of the cluster writes the same fields (one manager). */
const FIELD_MANAGER = FIELD_MANAGERS.controller;

export function poolInputs(pools: readonly PoolObject[]): PoolInput[] {
  return pools
    .filter((p) => p.metadata?.name)
    .map((p) => ({
      name: p.metadata?.name as string,
      spec: (p.spec ?? { addresses: [] }) as PoolInput['spec'],
    }));
}

interface ListPage {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: ServiceObject[];
}

/** A consistent (quorum) read of every Service: the truth restore starts from. */
async function listServices(
  client: KubeClient,
  signal: AbortSignal,
): Promise<{ items: ServiceObject[]; rv: string }> {
  const items: ServiceObject[] = [];
  let cont: string | undefined;
  let rv = '';
  do {
    const page = await client.request<ListPage>({
      path: '/api/v1/services',
      query: { limit: 500, continue: cont },
      signal,
      timeoutMs: 60_000,
    });
    // Trimmed like the informer's cache: the restore list is 2,000 whole Services otherwise.
    for (const s of page.items ?? []) items.push(trimService({ apiVersion: 'v1', kind: 'Service', ...s }));
    rv = page.metadata?.resourceVersion ?? rv;
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return { items, rv };
}

function rvAtLeast(have: string | undefined, want: string): boolean {
  try {
    return have !== undefined && BigInt(have) >= BigInt(want);
  } catch {
    return true; // resourceVersions are opaque; if they are not numbers we cannot compare: do not wait
  }
}

export class LeaderTerm {
  readonly allocator: Allocator;
  private readonly ctx: TermContext;
  private readonly signal: AbortSignal;
  private readonly serviceController: Controller;
  private readonly poolController: Controller;
  /** Services whose last allocation failed: retried whenever an address frees up or pools change. */
  private readonly pending = new Set<string>();
  /** Field manager of our Service writes: per class (controllerFieldManager). */
  private get serviceManager(): string {
    return controllerFieldManager(this.ctx.lbClass);
  }
  /** Alias annotations already reported per Service in this term (one Event, not one per reconcile). */
  private readonly warned = new Map<string, string>();
  /**
   * The object our last write returned, per Service, until the informer cache has caught up with
   * it: comparing against a cache that trails our own write would write the same thing twice.
   */
  private readonly written = new Map<string, ServiceObject>();
  /** Last known state of Services deleted since their last reconcile (for the IPReleased Event). */
  private readonly tombstones = new Map<string, ServiceObject>();
  private restored = false;
  private stopping: Promise<void> | undefined;

  constructor(ctx: TermContext, signal: AbortSignal) {
    this.ctx = ctx;
    this.signal = signal;
    this.allocator = new Allocator({ reclaimOutOfPool: ctx.reclaimOutOfPool });
    const timed =
      (name: string, fn: (key: string, signal: AbortSignal) => Promise<void>) =>
      async (key: string, s: AbortSignal) => {
        const end = ctx.metrics.reconcileDuration.startTimer({ controller: name });
        try {
          await fn(key, AbortSignal.any([s, this.signal]));
        } finally {
          end();
        }
      };
    this.serviceController = new Controller({
      name: 'service',
      reconcile: timed('service', (k, s) => this.reconcileService(k, s)),
      concurrency: ctx.concurrency,
      logger: ctx.log,
      registry: ctx.metrics.registry,
    });
    this.poolController = new Controller({
      name: 'ipaddresspool',
      reconcile: timed('ipaddresspool', (k, s) => this.reconcilePool(k, s)),
      concurrency: 1,
      logger: ctx.log,
      registry: ctx.metrics.registry,
    });
  }

  /** True once the state is restored and the reconcilers run. */
  isRunning(): boolean {
    return this.restored && !this.signal.aborted;
  }

  /**
   * Restore, then start reconciling. Nothing is allocated before restore() has seen every existing
   * assignment, so no Service can be handed an address another Service already holds.
   */
  async start(): Promise<void> {
    const { ctx } = this;
    await Promise.all([ctx.services.waitForSync(), ctx.pools.waitForSync(), ctx.namespaces.waitForSync()]);
    if (this.signal.aborted) return;
    // The informer cache may trail the previous leader's last writes by a moment: restore from a
    // fresh list, and let the cache catch up to it before reconciling from the cache.
    const { items, rv } = await listServices(ctx.client, this.signal);
    const deadline = Date.now() + 5_000;
    while (!this.cacheHolds(items) && Date.now() < deadline && !this.signal.aborted) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ctx.log.debug({ rv }, 'listed Services for restore');
    if (this.signal.aborted) return;
    const poolReport = this.allocator.setPools(poolInputs(ctx.pools.list()));
    const entries = [];
    for (const svc of items) {
      if (!servedByPortico(svc, ctx)) continue;
      const e = restoreEntryOf(svc, this.namespaceLabels(svc.metadata?.namespace));
      if (e) entries.push(e);
    }
    const report = this.allocator.restore(entries);
    ctx.log.info(
      {
        services: items.length,
        restored: report.restored.length,
        conflicts: report.conflicts.length,
        outOfPool: report.outOfPool.length,
        invalid: report.invalid.length,
        pools: poolReport.pools.length,
      },
      'restored assignments',
    );
    const byKey = new Map(items.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
    for (const c of report.conflicts) {
      const svc = byKey.get(c.key);
      if (svc) {
        ctx.recorder.warning(
          svc,
          EVENT_REASONS.ConflictingAssignment,
          `${c.ip} is also held by ${c.heldBy.join(', ')} (${c.message}); the older Service keeps it, this one gets a new address`,
        );
      }
    }
    for (const i of report.invalid)
      ctx.log.warn({ service: i.key, ip: i.ip, error: i.error }, 'unusable ingress IP ignored');
    ctx.metrics.setPools(this.allocator.poolReports());
    this.restored = true;
    for (const key of new Set([...byKey.keys(), ...ctx.services.keys()])) this.serviceController.enqueue(key);
    for (const name of ctx.pools.keys()) this.poolController.enqueue(name);
    this.serviceController.start();
    this.poolController.start();
  }

  /** Has the informer cache seen (at least) this version of every listed Service? */
  private cacheHolds(items: readonly ServiceObject[]): boolean {
    for (const it of items) {
      const c = this.ctx.services.get(`${it.metadata?.namespace}/${it.metadata?.name}`);
      const want = it.metadata?.resourceVersion;
      if (!c || (want !== undefined && !rvAtLeast(c.metadata?.resourceVersion, want))) return false;
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopping ??= Promise.all([this.serviceController.stop(), this.poolController.stop()]).then(() => {
      this.ctx.metrics.clearPools();
    });
    return this.stopping;
  }

  // ------------------------------------------------------------------ event routing

  /** A Service changed (any event): reconcile it if it is, was, or may have been ours. */
  serviceChanged(key: string, obj?: ServiceObject, old?: ServiceObject): void {
    if (!this.restored) return; // start() enqueues everything once restored
    if (obj === undefined && old !== undefined && this.allocator.assignment(key) !== null) {
      this.tombstones.set(key, old);
    }
    if (
      servedByPortico(obj, this.ctx) ||
      servedByPortico(old, this.ctx) ||
      carriesOurState(obj) ||
      this.allocator.assignment(key) !== null
    ) {
      this.serviceController.enqueue(key);
    }
  }

  /** Any pool changed: hand the allocator the whole set again (level-based), requeue who it affects. */
  poolsChanged(): void {
    if (!this.restored) return;
    const rep = this.allocator.setPools(poolInputs(this.ctx.pools.list()));
    for (const key of rep.changed) this.serviceController.enqueue(key);
    this.retryPending();
    for (const p of rep.pools) this.poolController.enqueue(p.name);
    this.ctx.metrics.setPools(rep.pools);
  }

  /** Namespace labels feed pools' namespaceSelector: re-check that namespace's Services. */
  namespaceChanged(name: string): void {
    if (!this.restored) return;
    for (const svc of this.ctx.services.byIndex('namespace', name)) {
      this.serviceChanged(`${name}/${svc.metadata?.name}`, svc);
    }
  }

  private retryPending(): void {
    for (const key of this.pending) this.serviceController.enqueue(key);
  }

  private poolsTouched(...names: Array<string | null | undefined>): void {
    const delay = this.ctx.poolStatusDelayMs ?? 1000;
    for (const n of names) if (n) this.poolController.enqueueAfter(n, delay);
    this.ctx.metrics.setPools(this.allocator.poolReports());
  }

  private namespaceLabels(ns: string | undefined): Record<string, string> | undefined {
    if (!ns) return undefined;
    return this.ctx.namespaces.get(ns)?.metadata?.labels;
  }

  // ------------------------------------------------------------------ Service reconciler

  /** A quorum read of the Service (trimmed), and whether our field manager owns any of its fields. */
  private async getService(
    key: string,
    signal: AbortSignal,
  ): Promise<(ServiceObject & { ownedByUs: boolean }) | undefined> {
    const { namespace, name } = splitKey(key);
    try {
      const s = await this.ctx.client.request<ServiceObject & { metadata?: { managedFields?: unknown } }>({
        path: objectPath(Resources.services, namespace, name),
        signal,
      });
      const ownedByUs = managedBy(s, this.serviceManager);
      return Object.assign(trimService({ apiVersion: 'v1', kind: 'Service', ...s }), { ownedByUs });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async reconcileService(key: string, signal: AbortSignal): Promise<void> {
    const { ctx } = this;
    let svc: ServiceObject | undefined = ctx.services.get(key);
    const tombstone = this.tombstones.get(key);
    this.tombstones.delete(key);
    if (!servedByPortico(svc, ctx)) {
      const held = this.allocator.assignment(key) !== null;
      if (!held && !carriesOurState(svc)) {
        this.pending.delete(key);
        return;
      }
      // About to release or clean up: confirm with the apiserver, the cache may trail it.
      const fresh = await this.getService(key, signal);
      if (fresh && servedByPortico(fresh, ctx)) {
        const { ownedByUs: _owned, ...object } = fresh;
        svc = object;
      } else {
        this.pending.delete(key);
        this.warned.delete(key);
        this.written.delete(key);
        const before = this.allocator.assignment(key);
        const released = this.allocator.release(key);
        if (released.length > 0) {
          ctx.metrics.allocations.inc({ result: 'Released' });
          const subject = fresh ?? svc ?? tombstone;
          if (subject) {
            const why = fresh
              ? 'the Service is no longer a LoadBalancer of this class'
              : 'the Service was deleted';
            ctx.recorder.normal(subject, EVENT_REASONS.IPReleased, `released ${released.join(', ')}: ${why}`);
          }
          ctx.log.info({ service: key, released }, 'released');
          this.retryPending();
          this.poolsTouched(before?.pool);
        }
        // Only what our field manager wrote: another class's controller owns its own condition
        // (an apply of ours could not remove it anyway, and would be a write per Service).
        if (fresh?.ownedByUs && carriesOurState(fresh)) await this.clearService(fresh, signal);
        return;
      }
    }
    if (!svc) return;
    const mapped = toRequest(svc, this.namespaceLabels(svc.metadata?.namespace));
    const before = this.allocator.assignment(key);
    let res: AllocationResult;
    if (mapped.invalid !== null) {
      // Bad annotations never cost a Service the address it holds: keep it, say why nothing moves.
      res = {
        ok: false,
        reason: 'InvalidAnnotation',
        message: mapped.invalid,
        ips: before?.ips ?? [],
        pool: before?.pool ?? null,
        released: [],
        changed: false,
      };
    } else {
      res = this.allocator.allocate(mapped.request);
    }
    const waiting = !res.ok && (res.reason !== 'OutOfPool' || ctx.reclaimOutOfPool);
    if (waiting) this.pending.add(key);
    else this.pending.delete(key);

    const want = desiredState(res, svc.metadata?.generation);
    const seen = this.freshest(key, svc);
    const statusOk = statusUpToDate(seen, want);
    const annotationOk = annotationUpToDate(seen, want);
    if (!statusOk) {
      ctx.log.debug({ service: key, ips: want.ips, reason: want.condition.reason }, 'writing Service status');
      this.remember(key, await this.writeStatus(seen, want, signal));
    }
    if (!annotationOk) this.remember(key, await this.writeAnnotation(svc, want, signal));

    if (res.released.length > 0) {
      ctx.recorder.normal(svc, EVENT_REASONS.IPReleased, `released ${res.released.join(', ')}`);
      ctx.metrics.allocations.inc({ result: 'Released' });
      this.retryPending();
    }
    if (res.changed || !statusOk) {
      ctx.metrics.allocations.inc({ result: res.ok ? 'Allocated' : res.reason });
      if (res.ok) {
        if (res.changed) ctx.recorder.normal(svc, EVENT_REASONS.IPAllocated, want.condition.message);
      } else if (res.reason === 'OutOfPool') {
        ctx.recorder.warning(svc, EVENT_REASONS.OutOfPool, `OutOfPool: ${res.message}`);
      } else {
        ctx.recorder.warning(svc, EVENT_REASONS.AllocationFailed, `${res.reason}: ${res.message}`);
      }
    }
    if (res.changed) this.poolsTouched(before?.pool, res.pool);
    const sig = mapped.deprecated.map((d) => d.key).join(',');
    if (sig !== '' && this.warned.get(key) !== sig) {
      for (const d of mapped.deprecated)
        ctx.recorder.warning(svc, EVENT_REASONS.DeprecatedAnnotation, aliasWarning(d));
    }
    if (sig === '') this.warned.delete(key);
    else this.warned.set(key, sig);
    if (mapped.disagreements.length > 0)
      ctx.log.warn({ service: key, disagreements: mapped.disagreements }, 'annotations disagree');
  }

  /** The cached Service, or what our last write returned when the cache has not caught up yet. */
  private freshest(key: string, cached: ServiceObject): ServiceObject {
    const mine = this.written.get(key);
    if (!mine) return cached;
    const rv = mine.metadata?.resourceVersion;
    if (
      rv === undefined ||
      rvAtLeast(cached.metadata?.resourceVersion, rv) ||
      mine.metadata?.uid !== cached.metadata?.uid
    ) {
      this.written.delete(key);
      return cached;
    }
    return mine;
  }

  private remember(key: string, obj: ServiceObject | undefined): void {
    if (obj?.metadata?.resourceVersion) this.written.set(key, trimService(obj));
  }

  private target(svc: ServiceObject): {
    resource: typeof Resources.services;
    namespace: string;
    name: string;
  } {
    return {
      resource: Resources.services,
      namespace: svc.metadata?.namespace ?? '',
      name: svc.metadata?.name ?? '',
    };
  }

  private async writeStatus(
    svc: ServiceObject,
    want: DesiredServiceState,
    signal: AbortSignal,
  ): Promise<ServiceObject | undefined> {
    const cond = conditionForApply(
      svc.status?.conditions as Condition[] | undefined,
      want.condition,
      Date.now(),
    );
    const status: Record<string, unknown> = { conditions: [cond] };
    // Leaving ingress out of the apply removes the list this field manager owned (releases).
    if (want.ips.length > 0) status.loadBalancer = { ingress: ingressOf(want.ips) };
    try {
      const out = await applyStatus<ServiceObject & KubeObject>(this.ctx.client, this.target(svc), status, {
        fieldManager: this.serviceManager,
        signal,
      });
      this.ctx.metrics.writes.inc({ kind: 'service-status' });
      return out;
    } catch (err) {
      if (isNotFound(err)) return undefined; // deleted meanwhile: the delete event brings us back
      throw err;
    }
  }

  private async writeAnnotation(
    svc: ServiceObject,
    want: DesiredServiceState,
    signal: AbortSignal,
  ): Promise<ServiceObject | undefined> {
    const annotations: Record<string, string> = {};
    if (want.pool !== null) annotations[ANNOTATIONS.allocatedFromPool] = want.pool;
    try {
      const out = await applyAnnotations<ServiceObject & KubeObject>(
        this.ctx.client,
        this.target(svc),
        annotations,
        {
          fieldManager: this.serviceManager,
          signal,
        },
      );
      this.ctx.metrics.writes.inc({ kind: 'service-annotation' });
      return out;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Remove what this field manager owns on a Service we no longer serve. */
  private async clearService(svc: ServiceObject, signal: AbortSignal): Promise<void> {
    try {
      const fieldManager = this.serviceManager;
      await applyStatus(this.ctx.client, this.target(svc), {}, { fieldManager, signal });
      await applyAnnotations(this.ctx.client, this.target(svc), {}, { fieldManager, signal });
      this.ctx.metrics.writes.inc({ kind: 'clear' });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  // ------------------------------------------------------------------ pool status reconciler

  async reconcilePool(name: string, signal: AbortSignal): Promise<void> {
    const pool = this.ctx.pools.get(name);
    if (!pool) return;
    let report = this.allocator.poolReport(name);
    if (!report) {
      // The informer saw it before poolsChanged ran (or its handler threw): catch up.
      this.poolsChanged();
      report = this.allocator.poolReport(name);
      if (!report) return;
    }
    const want = poolStatusIntent(report, pool.metadata?.generation);
    if (poolStatusUpToDate(pool.status, want)) return;
    const now = Date.now();
    const conditions = want.conditions.map((c) =>
      conditionForApply(pool.status?.conditions as Condition[] | undefined, c, now),
    );
    try {
      await applyStatus(
        this.ctx.client,
        { resource: POOL_RESOURCE, name },
        { ...want, conditions },
        { fieldManager: FIELD_MANAGER, signal },
      );
      this.ctx.metrics.writes.inc({ kind: 'pool-status' });
    } catch (err) {
      if (isNotFound(err)) return;
      this.ctx.log.warn({ pool: name, ...errInfo(err) }, 'pool status write failed');
      throw err;
    }
  }
}

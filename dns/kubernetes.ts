// Kubernetes mode: Gateway API routes, annotated Services and DNSZones → zone snapshots → server.
//
//   startKubernetesSources({ kubeConfig, server })   the sources alone, feeding an existing server
//   runKubernetes({ kubeconfig, port, ... })          the whole process (server + observe), as
//                                                     dns/main.ts runs it for --kubeconfig
//
// Flow: informers (dns/sources/cluster.ts) → debounced rebuild → project() (pure) → ZoneTable
// (serials) → server.update → DNSZone status by server-side apply + Warning Events. Nothing reaches
// the server before every informer has listed once: until then it answers SERVFAIL and /readyz
// says 503 (an empty zone served as NXDOMAIN would be cached by resolvers as truth).

import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { EVENT_REASONS } from '../lib/api/conditions.ts';
import { FIELD_MANAGERS } from '../lib/api/group.ts';
import {
  applyStatus,
  conditionForApply,
  EventRecorder,
  errInfo,
  isNotFound,
  KubeClient,
  type KubeConfigLike,
  type KubeObject,
  loadKubeConfig,
} from '../lib/kube/index.ts';
import { createRegistry } from '../lib/observe/metrics.ts';
import { createLogger, DNS_EVENT_LOOP_SAMPLE_MS, startObserveServer } from './observe.ts';
import { udpFallbackWarning } from './server/native-udp.ts';
import { type DnsServer, type DnsServerOptions, startDnsServer } from './server/server.ts';
import { ClusterSources, DNSZONE_RESOURCE } from './sources/cluster.ts';
import { type Projection, project } from './sources/project.ts';
import { builderErrorsFor, desiredStatus, statusUpToDate } from './sources/status.ts';
import { describe } from './zone/snapshot.ts';
import { type TableUpdate, ZoneTable } from './zone/table.ts';

export interface KubernetesSourcesOptions {
  kubeConfig: KubeConfigLike;
  /** Where snapshots go: a DnsServer, or anything with its update(). */
  server: Pick<DnsServer, 'update'>;
  logger?: Logger;
  /** Coalesce bursts of changes into one rebuild. Default 100 ms. */
  debounceMs?: number;
  /** Gateway API rediscovery period. Default 30 s. */
  rediscoverMs?: number;
  /** Write DNSZone status and Events. Default true. */
  writeStatus?: boolean;
  /** Events' reportingInstance. Default: the host name (the pod name in a cluster). */
  instance?: string;
  /** Injected clock for serials (tests). */
  clock?: () => number;
  /**
   * Rebuild and re-check DNSZone status this often even without events (status edited or wiped
   * by someone else does not reach us as a relevant change). Default 5 min; 0 = never.
   */
  resyncMs?: number;
}

export interface KubernetesSources {
  /** Every informer has listed once and the first snapshots went to the server. */
  synced(): boolean;
  /** Resolves at the first synced rebuild. */
  whenSynced(timeoutMs?: number): Promise<void>;
  /** The last projection and table update (diagnostics, tests). */
  last(): { projection: Projection; update: TableUpdate } | undefined;
  /** Gateway API kinds currently watched. */
  watchedKinds(): string[];
  /** Rebuild now (skips the debounce); resolves once the snapshots are served (status follows). */
  rebuild(): Promise<void>;
  close(): Promise<void>;
}

export function startKubernetesSources(o: KubernetesSourcesOptions): KubernetesSources {
  const log = o.logger ?? createLogger({ name: 'portico-dns' });
  const client = new KubeClient(o.kubeConfig, { logger: log });
  const table = new ZoneTable(o.clock);
  const writeStatus = o.writeStatus !== false;
  const recorder = new EventRecorder(client, {
    reportingController: 'portico.dev/dns',
    reportingInstance: o.instance ?? hostname(),
    logger: log,
  });
  const debounceMs = o.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let first = true;
  let last: { projection: Projection; update: TableUpdate } | undefined;
  const syncWaiters: Array<(err?: Error) => void> = [];
  // Events already sent for a (object uid, reason, message) that is still true; forgotten when it
  // stops being true, so a problem that comes back is reported again.
  let announced = new Set<string>();
  let lastProblems = new Set<string>();

  const sources = new ClusterSources({
    client,
    logger: log,
    onChange: () => schedule(),
    ...(o.rediscoverMs !== undefined ? { rediscoverMs: o.rediscoverMs } : {}),
  });

  function schedule(delay = debounceMs): void {
    if (closed) return;
    if (timer) return; // already pending: this change rides along
    timer = setTimeout(() => {
      timer = undefined;
      void rebuild();
    }, delay);
  }

  function rebuild(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await rebuildOnce();
        } while (again && !closed);
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  async function rebuildOnce(): Promise<void> {
    if (closed || !sources.synced()) return;
    let projection: Projection;
    let update: TableUpdate;
    try {
      projection = project(sources.state());
      update = table.update(projection.specs);
      o.server.update(update);
    } catch (err) {
      // A bug in the projection must not take the server down: keep serving the last snapshots.
      log.error({ ...errInfo(err) }, 'zone rebuild failed; still serving the previous zones');
      return;
    }
    last = { projection, update };
    if (first || update.changed.length > 0) {
      log.info(
        { zones: describe(update.set), changed: update.changed, kinds: sources.watchedKinds() },
        first ? 'zones built from synced caches' : 'zones changed',
      );
    }
    if (first) {
      first = false;
      for (const w of syncWaiters.splice(0)) w();
    }
    for (const e of update.errors) if (!lastProblems.has(e)) log.warn({ problem: e }, 'record not served');
    const problems = new Set(update.errors);
    for (const p of projection.problems) {
      const k = `${p.object}: ${p.message}`;
      problems.add(k);
      if (!lastProblems.has(k)) log.warn({ object: p.object, problem: p.message }, 'source ignored');
    }
    lastProblems = problems;
    if (writeStatus) queueStatus(projection, update);
  }

  // Status and Events are written off the rebuild path: a slow apiserver must never delay the next
  // snapshot. One writer; when it falls behind, only the newest projection is written.
  let statusPending: { projection: Projection; update: TableUpdate } | undefined;
  let statusRunning: Promise<void> | undefined;
  function queueStatus(projection: Projection, update: TableUpdate): void {
    statusPending = { projection, update };
    if (statusRunning) return;
    statusRunning = (async () => {
      while (statusPending && !closed) {
        const next = statusPending;
        statusPending = undefined;
        await writeStatusAndEvents(next.projection, next.update).catch((err: unknown) =>
          log.error({ ...errInfo(err) }, 'writing DNSZone status failed'),
        );
      }
    })().finally(() => {
      statusRunning = undefined;
    });
  }

  async function writeStatusAndEvents(projection: Projection, update: TableUpdate): Promise<void> {
    const now = new Set<string>();
    const once = (obj: KubeObject, reason: string, message: string) => {
      const k = `${obj.metadata?.uid ?? obj.metadata?.name}|${reason}|${message}`;
      now.add(k);
      if (!announced.has(k)) recorder.warning(obj, reason, message);
    };
    for (const n of projection.serviceNotices) {
      // The DeprecatedAnnotation reason is shared with the controller; the others are DNS-only.
      once(
        n.service as KubeObject,
        n.reason === 'DeprecatedAnnotation' ? EVENT_REASONS.DeprecatedAnnotation : n.reason,
        n.message,
      );
    }
    let failed = false;
    for (const zp of projection.zones) {
      const dz = zp.dnsZone;
      for (const c of zp.conflicts)
        once(dz as unknown as KubeObject, EVENT_REASONS.ConflictingSources, c.message);
      const snap = zp.spec ? update.set.list.find((z) => z.name === zp.zone) : undefined;
      const want = desiredStatus(
        zp,
        snap ? { serial: snap.serial, recordCount: snap.recordCount } : undefined,
        builderErrorsFor(zp.zone, update.errors),
      );
      // Compare with the freshest copy the informer has (our own writes come back through it).
      const current = sources.zones.informer.get(dz.metadata?.name ?? '') ?? dz;
      if (statusUpToDate(current.status, want)) continue;
      const t = Date.now();
      const conditions = want.conditions.map((c) => {
        const full = conditionForApply(current.status?.conditions, { ...c }, t);
        if (want.observedGeneration !== undefined) full.observedGeneration = want.observedGeneration;
        return full;
      });
      try {
        await applyStatus(
          client,
          { resource: DNSZONE_RESOURCE, name: dz.metadata?.name ?? '' },
          { ...want, conditions },
          { fieldManager: FIELD_MANAGERS.dns },
        );
      } catch (err) {
        // Deleted since the projection: the next rebuild no longer has it.
        if (isNotFound(err)) continue;
        failed = true;
        log.warn({ zone: dz.metadata?.name, ...errInfo(err) }, 'DNSZone status not written; will retry');
      }
    }
    announced = now;
    if (failed && !closed && !retryTimer) {
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        void rebuild();
      }, 5_000);
    }
  }

  // A synced() that turns true is not an informer event: poll it until the first build.
  const syncPoll = setInterval(() => {
    if (!first) clearInterval(syncPoll);
    else if (sources.synced()) schedule(0);
  }, 50);
  const resyncMs = o.resyncMs ?? 300_000;
  const resync = resyncMs > 0 ? setInterval(() => schedule(), resyncMs) : undefined;
  resync?.unref();
  sources.start();

  return {
    synced: () => !first,
    whenSynced(timeoutMs) {
      if (!first) return Promise.resolve();
      if (closed) return Promise.reject(new Error('Kubernetes sources closed'));
      return new Promise((resolve, reject) => {
        const t =
          timeoutMs === undefined
            ? undefined
            : setTimeout(
                () => reject(new Error(`Kubernetes sources not synced after ${timeoutMs} ms`)),
                timeoutMs,
              );
        syncWaiters.push((err) => {
          if (t) clearTimeout(t);
          if (err) reject(err);
          else resolve();
        });
      });
    },
    last: () => last,
    watchedKinds: () => sources.watchedKinds(),
    rebuild,
    async close() {
      closed = true;
      clearInterval(syncPoll);
      if (resync) clearInterval(resync);
      if (timer) clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      for (const w of syncWaiters.splice(0)) w(new Error('Kubernetes sources closed before they synced'));
      await running?.catch(() => {});
      await statusRunning;
      await sources.stop();
      await recorder.close();
      await client.close();
    },
  };
}

/**
 * Server options pass straight through to startDnsServer (address, port, workers, maxUdpPayload,
 * rateLimit, …), so a new server flag needs no change here.
 */
export interface KubernetesOptions extends Omit<DnsServerOptions, 'registry'> {
  /** Kubeconfig path; absent = $KUBECONFIG, in-cluster, then ~/.kube/config. */
  kubeconfig?: string;
  /** Or a loaded KubeConfig (tests). Wins over `kubeconfig`. */
  kubeConfig?: KubeConfigLike;
  /** host:port for /metrics /healthz /readyz; off when absent. */
  observe?: string;
  logLevel?: string;
  debounceMs?: number;
  rediscoverMs?: number;
  writeStatus?: boolean;
}

export interface KubernetesProcess {
  server: DnsServer;
  sources: KubernetesSources;
  observePort: number | undefined;
  /** Listening, synced and serving. */
  ready(): boolean;
  close(): Promise<void>;
}

/** The DNS process in Kubernetes mode; mirrors runStandalone in dns/main.ts. */
export async function runKubernetes(o: KubernetesOptions): Promise<KubernetesProcess> {
  const log = createLogger({ name: 'portico-dns', level: o.logLevel ?? 'info' });
  const {
    kubeconfig,
    kubeConfig: givenConfig,
    observe,
    logLevel: _logLevel,
    debounceMs,
    rediscoverMs,
    writeStatus,
    ...serverOpts
  } = o;
  // A bad kubeconfig is a configuration error: fail before opening any socket.
  const kubeConfig = givenConfig ?? loadKubeConfig(kubeconfig ? { kubeconfig } : {});
  const server = await startDnsServer({
    ...serverOpts,
    address: o.address ?? '127.0.0.1',
    port: o.port ?? 5353,
    workers: o.workers ?? 1,
    registry: createRegistry({
      labels: { component: 'dns' },
      eventLoopMonitoringPrecisionMs: DNS_EVENT_LOOP_SAMPLE_MS,
    }),
  });
  const sources = startKubernetesSources({
    kubeConfig,
    server,
    logger: log,
    ...(debounceMs !== undefined ? { debounceMs } : {}),
    ...(rediscoverMs !== undefined ? { rediscoverMs } : {}),
    ...(writeStatus !== undefined ? { writeStatus } : {}),
  });
  const ready = () => sources.synced() && server.ready();
  const obs = observe
    ? await startObserveServer({
        address: observe,
        logger: log,
        registry: server.metrics.registry,
        ready: () =>
          ready()
            ? { ready: true }
            : { ready: false, reason: 'Kubernetes caches not synced yet (answering SERVFAIL)' },
        beforeScrape: () => server.collect(),
      })
    : undefined;
  const fallback = udpFallbackWarning(o.udpIo, server.udpIo);
  if (fallback) log.warn(fallback);
  log.info(
    { address: server.address, port: server.port, udpIo: server.udpIo, observe: obs?.port },
    `serving DNS on ${server.address}:${server.port} (udp+tcp) from Kubernetes; SERVFAIL until caches have synced`,
  );
  return {
    server,
    sources,
    observePort: obs?.port,
    ready,
    async close() {
      await sources.close();
      await obs?.close();
      await server.close();
    },
  };
}

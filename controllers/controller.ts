// Wiring of the IPAM controller process: informers (Services, IPAddressPools, Namespaces) that
// every replica keeps warm, the Lease election that picks the one replica that writes, and the
// leader's term (controllers/reconcilers.ts). Used by controllers/main.ts and, in-process, by the
// integration tests.
import { hostname } from 'node:os';
import { LOAD_BALANCER_CLASS } from '../lib/api/group.ts';
import {
  EventRecorder,
  errInfo,
  Informer,
  KubeClient,
  type KubeLogger,
  type KubeObject,
  LeaseElector,
  loadKubeConfig,
  objectKey,
  Resources,
} from '../lib/kube/index.ts';
import { createLogger, type Logger } from '../lib/observe/log.ts';
import { type ObserveServer, startObserveServer } from '../lib/observe/server.ts';
import { MetalLBMirror } from './metallb-mirror.ts';
import { ControllerMetrics } from './metrics.ts';
import { POOL_RESOURCE, type PoolObject } from './pools.ts';
import { LeaderTerm, type NamespaceObject } from './reconcilers.ts';
import type { ServiceObject } from './service-state.ts';
import { trimNamespace, trimPool, trimService } from './trim.ts';

export interface StartControllerOptions {
  /** A loaded kubeconfig (tests); else `kubeconfig`, $KUBECONFIG, in-cluster, ~/.kube/config. */
  kubeConfig?: KubeConfigInput;
  kubeconfig?: string;
  /** Lease holder identity. Default $POD_NAME, else the host name. Must differ between replicas. */
  identity?: string;
  leaseNamespace?: string;
  leaseName?: string;
  /** spec.loadBalancerClass served. Default portico.dev/lb. */
  lbClass?: string;
  /** Also serve LoadBalancer Services without a class. Default true. */
  handleUnclassed?: boolean;
  /** Default true. false: this replica writes as soon as its caches are synced (single replica only). */
  leaderElect?: boolean;
  reclaimOutOfPool?: boolean;
  /** host:port for /metrics /healthz /readyz; '' or undefined = no server. Port 0 = any free port. */
  metricsAddress?: string;
  logLevel?: string;
  logger?: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Parallel Service reconciles. Default 16. */
  concurrency?: number;
  /** Re-check every object this often (level-based safety net). Default 10 min; 0 = never. */
  resyncPeriodMs?: number;
  /** Called when this replica stops leading after having led (main.ts exits on it). */
  onLostLeadership?: () => void;
  /** Mirror metallb.io pools, L2/BGP advertisements and BGPPeers into Portico objects (ADR 090). Default false. */
  metallbCompat?: boolean;
  /** Namespace of MetalLB's objects; null = all namespaces. Default metallb-system. */
  metallbNamespace?: string | null;
  /** How often to look for the metallb.io CRDs while they are absent. Default 60 s. */
  metallbProbeIntervalMs?: number;
}

export interface RunningController {
  identity: string;
  metrics: ControllerMetrics;
  /** Bound address of the observe server (host:port), or null without one. */
  metricsAddress: string | null;
  client: KubeClient;
  /** Leads, has restored the state and is reconciling. */
  isLeader(): boolean;
  /** Informer caches synced (what /readyz reports). */
  ready(): boolean;
  /** Resolves once this replica leads and its reconcilers run. */
  whenLeading(timeoutMs?: number): Promise<void>;
  /** The MetalLB mirror, when metallbCompat is on. */
  metallbMirror: MetalLBMirror | undefined;
  /** Stop; by default a leader releases the Lease (graceful). `{ release: false }` mimics a crash. */
  stop(opts?: { release?: boolean }): Promise<void>;
}

/** Whatever lib/kube's KubeClient accepts as its configuration. */
export type KubeConfigInput = ConstructorParameters<typeof KubeClient>[0];

export const DEFAULT_LEASE_NAME = 'portico-controller';

export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return env.POD_NAME?.trim() || hostname();
}

export async function startController(opts: StartControllerOptions = {}): Promise<RunningController> {
  const log: Logger =
    opts.logger ?? createLogger({ name: 'portico-controller', level: opts.logLevel ?? 'info' });
  const klog = log as KubeLogger;
  const kc = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {});
  const client = new KubeClient(kc, { logger: klog });
  const identity = opts.identity ?? defaultIdentity();
  const metrics = new ControllerMetrics();
  const cfg = {
    lbClass: opts.lbClass ?? LOAD_BALANCER_CLASS,
    handleUnclassed: opts.handleUnclassed ?? true,
  };
  const resyncPeriodMs = opts.resyncPeriodMs ?? 600_000;
  // Each cache keeps only the fields the controller reads (controllers/trim.ts): with 2,000 Services
  // the whole objects (managedFields, last-applied-configuration, ...) were most of the old space.
  const services = new Informer<ServiceObject & KubeObject>(client, {
    resource: Resources.services,
    logger: klog,
    resyncPeriodMs,
    transform: trimService,
  });
  services.addIndex('namespace', (s) => (s.metadata?.namespace ? [s.metadata.namespace] : []));
  const pools = new Informer<PoolObject>(client, {
    resource: POOL_RESOURCE,
    logger: klog,
    resyncPeriodMs,
    transform: trimPool,
  });
  const namespaces = new Informer<NamespaceObject>(client, {
    resource: Resources.namespaces,
    logger: klog,
    transform: trimNamespace,
  });
  const recorder = new EventRecorder(client, {
    reportingController: 'portico.dev/controller',
    reportingInstance: identity,
    logger: klog,
  });

  // Opt-in: mirror MetalLB's objects into Portico's (the allocator and speaker then need no change).
  const mirror = opts.metallbCompat
    ? new MetalLBMirror({
        client,
        log: klog,
        recorder,
        pools,
        namespace: opts.metallbNamespace === undefined ? 'metallb-system' : opts.metallbNamespace,
        // Portico's own namespace (where the chart puts the Lease and the speaker reads Secrets).
        porticoNamespace: opts.leaseNamespace ?? 'portico-system',
        resyncPeriodMs,
        registry: metrics.registry,
        ...(opts.metallbProbeIntervalMs !== undefined
          ? { probeIntervalMs: opts.metallbProbeIntervalMs }
          : {}),
      })
    : undefined;

  let term: LeaderTerm | undefined;
  let termDone: Promise<void> = Promise.resolve();
  let stopped = false;
  let everLed = false;
  const leadWaiters = new Set<() => void>();

  const beginTerm = (signal: AbortSignal) => {
    if (stopped) return;
    everLed = true;
    const t = new LeaderTerm(
      {
        ...cfg,
        client,
        services,
        pools,
        namespaces,
        recorder,
        metrics,
        log: klog,
        reclaimOutOfPool: opts.reclaimOutOfPool ?? false,
        concurrency: opts.concurrency ?? 16,
      },
      signal,
    );
    term = t;
    const previous = termDone;
    termDone = (async () => {
      await previous; // a new term never overlaps the teardown of the last one
      try {
        await t.start();
        if (t.isRunning()) {
          // 1 only once the state is restored: from here on this replica writes.
          metrics.leader.set(1);
          log.info({ identity }, 'leading: state restored, reconciling');
          mirror?.lead(signal);
          for (const w of leadWaiters) w();
        }
      } catch (err) {
        if (!signal.aborted) log.error({ ...errInfo(err) }, 'starting the leader term failed');
      }
      if (!signal.aborted)
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      await t.stop();
      metrics.leader.set(0);
      if (term === t) term = undefined;
    })();
  };

  // Informer handlers route to the current term; a standby has none and does nothing.
  services.addHandlers({
    add: (o) => term?.serviceChanged(objectKey(o), o),
    update: (old, o) => term?.serviceChanged(objectKey(o), o, old),
    delete: (o) => term?.serviceChanged(objectKey(o), undefined, o),
  });
  const poolsChanged = () => term?.poolsChanged();
  pools.addHandlers({ add: poolsChanged, update: poolsChanged, delete: poolsChanged });
  namespaces.addHandlers({
    add: (o) => term?.namespaceChanged(objectKey(o)),
    update: (old, o) => {
      if (JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(o.metadata?.labels ?? {}))
        term?.namespaceChanged(objectKey(o));
    },
  });

  services.start();
  pools.start();
  namespaces.start();
  mirror?.start();
  const ready = () => services.hasSynced() && pools.hasSynced() && namespaces.hasSynced();

  let server: ObserveServer | undefined;
  if (opts.metricsAddress) {
    server = await startObserveServer({
      address: opts.metricsAddress,
      registry: metrics.registry,
      ready: () => (ready() ? { ready: true } : { ready: false, reason: 'informer caches not synced' }),
      logger: log,
    });
    log.info({ address: server.address }, 'serving /metrics /healthz /readyz');
  }

  const stopCtl = new AbortController();
  let elector: LeaseElector | undefined;
  metrics.leader.set(0);
  if (opts.leaderElect ?? true) {
    elector = new LeaseElector(client, {
      namespace: opts.leaseNamespace ?? 'portico-system',
      name: opts.leaseName ?? DEFAULT_LEASE_NAME,
      identity,
      ...(opts.leaseDurationMs !== undefined ? { leaseDurationMs: opts.leaseDurationMs } : {}),
      ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      logger: klog,
      onStartedLeading: beginTerm,
      onStoppedLeading: () => {
        metrics.leader.set(0);
        if (everLed && !stopped) opts.onLostLeadership?.();
      },
      onNewLeader: (who) => log.info({ leader: who || null, identity }, 'lease holder observed'),
    });
    elector.start();
  } else {
    beginTerm(stopCtl.signal);
  }

  return {
    identity,
    metrics,
    metricsAddress: server?.address ?? null,
    client,
    metallbMirror: mirror,
    isLeader: () => term?.isRunning() ?? false,
    ready,
    whenLeading(timeoutMs = 60_000) {
      if (term?.isRunning()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          leadWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(() => {
          leadWaiters.delete(done);
          reject(new Error(`${identity} did not become leader within ${timeoutMs} ms`));
        }, timeoutMs);
        leadWaiters.add(done);
      });
    },
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      // Stop writing first, then hand the Lease over: the next leader never races our last writes.
      const t = term;
      if (t) await t.stop();
      if (elector) await elector.stop({ release: o.release ?? true });
      stopCtl.abort();
      await termDone;
      await mirror?.stop();
      await Promise.all([services.stop(), pools.stop(), namespaces.stop()]);
      await recorder.close().catch(() => {});
      await server?.close();
      // Let undici finish the bookkeeping of requests that just completed before the pool closes
      // (closing in the same turn has been seen to surface ClientDestroyedError as uncaught).
      await new Promise((r) => setTimeout(r, 50));
      await client.close();
      metrics.leader.set(0);
    },
  };
}

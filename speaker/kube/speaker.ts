// The speaker's Kubernetes shell: informers → projectFacts() → SpeakerEngine; speaker Leases →
// peers; engine decisions → the Announced condition (server-side apply), Events and metrics.
// Everything with a decision in it lives in pure files next to this one (project.ts, peers.ts,
// status.ts) or in speaker/election; this file only moves data between them and the API.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SecretLike } from '../../lib/api/bgp.ts';
import { EVENT_REASONS } from '../../lib/api/conditions.ts';
import { FIELD_MANAGERS, GROUP, KINDS, PLURALS, VERSION } from '../../lib/api/group.ts';
import type { BGPAdvertisement, BGPPeer, IPAddressPool, L2Advertisement } from '../../lib/api/types.ts';
import {
  APPLY_PATCH,
  applyServiceCondition,
  applyStatus,
  Controller,
  EventRecorder,
  Informer,
  isNotFound,
  KubeClient,
  type KubeConfigLike,
  type KubeLogger,
  type KubeObject,
  loadKubeConfig,
  objectPath,
  type ResourceRef,
  Resources,
  splitKey,
} from '../../lib/kube/index.ts';
import { createRegistry } from '../../lib/observe/metrics.ts';
import { type ObserveServer, startObserveServer } from '../../lib/observe/server.ts';
import { elect, type VipDecision } from '../election/elect.ts';
import type { PartitionPolicy } from '../election/partition.ts';
import { type EngineChange, SpeakerEngine, type SpeakerFacts } from '../engine.ts';
import { type Link, linksFromSummary } from '../layer2/interfaces.ts';
import type { PeerAddress } from '../membership/peers.ts';
import { BGP_RESOURCES, BgpShell } from './bgp.ts';
import { bgpPools, l2StatusVips } from './bgp-project.ts';
import { SpeakerMetrics } from './metrics.ts';
import { leaseBody, leaseName, nextExpiry, peersFromLeases, SPEAKER_LEASE_LABEL } from './peers.ts';
import {
  type EndpointSliceLike,
  type NodeLike,
  nodeHeartbeatAddress,
  projectFacts,
  type ServiceLike,
} from './project.ts';
import { announcedCondition, conditionMatches, hasAnnounced, staleAnnounced, writerOf } from './status.ts';

export interface StartSpeakerOptions {
  nodeName: string;
  namespace: string;
  key: Buffer;
  kubeConfig?: KubeConfigLike;
  kubeconfig?: string | undefined;
  lbClass: string;
  handleUnclassed: boolean;
  ignoreExcludeLabel: boolean;
  heartbeatPort: number;
  heartbeatIntervalMs: number;
  missedBeats: number;
  heartbeatAddress?: string | undefined;
  garpRefreshMs: number;
  garpBurstMs: number[];
  partitionPolicy: PartitionPolicy;
  peerLeaseDurationMs: number;
  /** '' = no observe server. */
  metricsAddress: string;
  logger: Logger;
  registry?: Registry;
  /** How long to keep answering after "leave" on a graceful stop (make-before-break). Default 200 ms. */
  lingerMs?: number;
  syncTimeoutMs?: number;
  /** BGP mode (--bgp): BGPPeer/BGPAdvertisement/Secret informers and sessions. Default off. */
  bgp?: boolean;
}

export interface RunningSpeaker {
  engine: SpeakerEngine;
  /** undefined when BGP mode is off. */
  bgp: BgpShell | undefined;
  client: KubeClient;
  heartbeatAddress: string;
  metricsAddress: string | null;
  ready(): boolean;
  /** graceful: leave + linger + withdraw + delete our Lease; else just close. */
  stop(opts: { graceful: boolean }): Promise<void>;
}

const CRD = (kind: 'IPAddressPool' | 'L2Advertisement'): ResourceRef => ({
  group: GROUP,
  version: VERSION,
  plural: PLURALS[kind],
  namespaced: false,
  kind: KINDS[kind],
});

/**
 * Decisions as the engine last computed them. The engine reports onChange only when this node's
 * own announced set (or the live set) changes, so the status writer re-runs the same pure election
 * with the same inputs to learn about owners elsewhere. See the final report: SpeakerEngine
 * should expose its decisions; until then this reads its link list.
 */
function currentDecisions(
  engine: SpeakerEngine,
  facts: SpeakerFacts,
  self: string,
): Map<string, VipDecision> {
  const selfLinks = Reflect.get(engine, 'links') as Link[] | undefined;
  const metas = engine.membership.peerMeta();
  const nodes = facts.nodes.map((n) => {
    if (n.name === self) return { ...n, links: selfLinks ?? [] };
    const meta = metas.get(n.name);
    let links: Link[] | undefined;
    if (meta && meta.length > 0) {
      try {
        links = linksFromSummary(JSON.parse(meta.toString('utf8')));
      } catch {
        links = undefined;
      }
    }
    return { ...n, links };
  });
  return elect({ ...facts, nodes, liveNodes: engine.membership.view().alive, self });
}

export async function startSpeaker(o: StartSpeakerOptions): Promise<RunningSpeaker> {
  const log = o.logger;
  const klog = log as unknown as KubeLogger;
  const kc = o.kubeConfig ?? loadKubeConfig(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {});
  const client = new KubeClient(kc, { logger: klog });
  const self = o.nodeName;

  const services = new Informer<ServiceLike & KubeObject>(client, {
    resource: Resources.services,
    logger: klog,
  });
  const pools = new Informer<IPAddressPool & KubeObject>(client, {
    resource: CRD('IPAddressPool'),
    logger: klog,
  });
  const ads = new Informer<L2Advertisement & KubeObject>(client, {
    resource: CRD('L2Advertisement'),
    logger: klog,
  });
  const nodes = new Informer<NodeLike & KubeObject>(client, {
    resource: Resources.nodes,
    logger: klog,
  });
  const slices = new Informer<EndpointSliceLike & KubeObject>(client, {
    resource: Resources.endpointslices,
    logger: klog,
  });
  const leases = new Informer<KubeObject>(client, {
    resource: Resources.leases,
    namespace: o.namespace,
    labelSelector: `${SPEAKER_LEASE_LABEL}=true`,
    logger: klog,
  });
  // BGP mode: peers, advertisements, and the Secrets of our own namespace (TCP MD5 passwords).
  const bgpOn = o.bgp ?? false;
  const bgpPeers = bgpOn
    ? new Informer<BGPPeer & KubeObject>(client, { resource: BGP_RESOURCES.peers, logger: klog })
    : undefined;
  const bgpAds = bgpOn
    ? new Informer<BGPAdvertisement & KubeObject>(client, {
        resource: BGP_RESOURCES.advertisements,
        logger: klog,
      })
    : undefined;
  const secrets = bgpOn
    ? new Informer<SecretLike & KubeObject>(client, {
        resource: Resources.secrets,
        namespace: o.namespace,
        // Only the type a passwordSecret must have: Helm release Secrets and tokens stay out of memory.
        fieldSelector: 'type=kubernetes.io/basic-auth',
        logger: klog,
      })
    : undefined;
  const bgpInformers = [bgpPeers, bgpAds, secrets].filter((i) => i !== undefined);
  const informers = [services, pools, ads, nodes, slices, leases, ...bgpInformers];
  // managedFields are never read here and are most of a cached object's size: drop them from the
  // cached object itself (handlers receive the very object the cache holds), before anything else.
  const strip = (o: KubeObject) => {
    if (o.metadata && 'managedFields' in o.metadata) delete o.metadata.managedFields;
  };
  for (const i of informers as Informer<KubeObject>[])
    i.addHandlers({ add: strip, update: (_old, o) => strip(o) });
  for (const i of informers) i.start();

  let synced = false;
  let engine: SpeakerEngine | undefined;
  let observe: ObserveServer | null = null;
  const registry = o.registry ?? createRegistry({ labels: { component: 'speaker' } });
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;

  const fail = async (err: unknown): Promise<never> => {
    for (const t of timers) clearInterval(t);
    engine?.membership.close();
    await Promise.all(informers.map((i) => i.stop()));
    await observe?.close();
    client.close?.();
    throw err;
  };

  try {
    if (o.metricsAddress !== '') {
      observe = await startObserveServer({
        address: o.metricsAddress,
        registry,
        ready: () => (synced && engine ? { ready: true } : { ready: false, reason: 'caches not synced' }),
        logger: log,
      });
    }
    const timeout = o.syncTimeoutMs ?? 120_000;
    await Promise.all(informers.map((i) => i.waitForSync(timeout)));
  } catch (err) {
    return fail(new Error(`speaker: caches did not sync: ${(err as Error).message}`));
  }

  const selfNode = () => nodes.get(self);
  const address = o.heartbeatAddress ?? nodeHeartbeatAddress(selfNode());
  if (!address) {
    return fail(
      new Error(
        `speaker: no heartbeat address: Node ${self} ${selfNode() ? 'has no InternalIP/ExternalIP' : 'does not exist'}; pass --heartbeat-address`,
      ),
    );
  }
  if (!selfNode())
    log.warn({ node: self }, 'this node has no Node object: it cannot be elected until one exists');

  // --- our Lease (peer discovery) ---------------------------------------------------------------
  const leasePath = objectPath(Resources.leases, o.namespace, leaseName(self));
  const renewLease = async (): Promise<void> => {
    const body = leaseBody({
      node: self,
      namespace: o.namespace,
      address,
      durationMs: o.peerLeaseDurationMs,
      now: Date.now(),
      ...(selfNode()?.metadata?.uid ? { nodeUid: selfNode()!.metadata!.uid! } : {}),
    });
    await client.request({
      method: 'PATCH',
      path: leasePath,
      query: { fieldManager: FIELD_MANAGERS.speaker, force: true },
      contentType: APPLY_PATCH,
      body,
      timeoutMs: 10_000,
    });
  };
  try {
    await renewLease();
  } catch (err) {
    return fail(
      new Error(
        `speaker: cannot write its Lease ${o.namespace}/${leaseName(self)}: ${(err as Error).message}`,
      ),
    );
  }
  let leaseRetry: NodeJS.Timeout | undefined;
  const renewLoop = () =>
    void renewLease().catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'Lease renewal failed; retrying');
      if (!stopping && !leaseRetry) {
        leaseRetry = setTimeout(() => {
          leaseRetry = undefined;
          renewLoop();
        }, 2000);
      }
    });
  timers.push(setInterval(renewLoop, Math.max(1000, Math.floor(o.peerLeaseDurationMs / 3))));

  const currentPeers = (): PeerAddress[] =>
    peersFromLeases(leases.list(), self, Date.now(), o.peerLeaseDurationMs);

  // --- engine ---------------------------------------------------------------------------------
  const events = new EventRecorder(client, {
    reportingController: 'portico.dev/speaker',
    reportingInstance: `portico-speaker-${self}`.slice(0, 128),
    logger: klog,
  });
  let facts: SpeakerFacts = { nodes: [], pools: [], l2Advertisements: [], vips: [] };
  let serviceVips = new Map<string, string[]>();
  /** serviceVips less the VIPs BGP alone carries: what the L2 Announced condition covers. */
  let statusVips: ReadonlyMap<string, readonly string[]> = serviceVips;
  let decisions = new Map<string, VipDecision>();
  let announcedNow = new Map<string, string[]>();
  let metrics: SpeakerMetrics | undefined;

  const l2log = {
    debug: (obj: object, msg?: string) => log.debug(obj, msg),
    info: (obj: object, msg?: string) => log.info(obj, msg),
    warn: (obj: object, msg?: string) => log.warn(obj, msg),
    error: (obj: object, msg?: string) => log.error(obj, msg),
  };
  const onChange = (c: EngineChange): void => {
    const before = announcedNow;
    announcedNow = new Map(c.announced);
    for (const [ip, ifs] of announcedNow) {
      if (before.has(ip)) continue;
      metrics?.ownershipChanges.inc({ direction: 'gained' });
      const d = c.decisions.get(ip);
      for (const key of d?.services ?? []) {
        const svc = services.get(key);
        if (svc)
          events.normal(
            svc as never,
            EVENT_REASONS.OwnerChanged,
            `${ip} announced by node ${self} on ${ifs.join(',')}`,
            'Announce',
          );
      }
    }
    for (const ip of before.keys())
      if (!announcedNow.has(ip)) metrics?.ownershipChanges.inc({ direction: 'lost' });
    for (const f of c.failures) log.warn({ vip: f.vip, ifname: f.ifname, err: f.error }, 'cannot announce');
    log.info(
      { announced: Object.fromEntries(announcedNow), alive: c.view.alive, minority: c.view.minority },
      'announcements changed',
    );
    scheduleStatus();
  };

  const eng = new SpeakerEngine({
    node: self,
    membership: {
      key: o.key,
      peers: currentPeers(),
      port: o.heartbeatPort,
      intervalMs: o.heartbeatIntervalMs,
      missedBeats: o.missedBeats,
    },
    announcer: { garp: { burstMs: o.garpBurstMs, refreshMs: o.garpRefreshMs } },
    partitionPolicy: o.partitionPolicy,
    log: l2log,
    onChange,
  });
  engine = eng;
  metrics = new SpeakerMetrics(registry, {
    l2: () => eng.announcer.stats,
    heartbeat: () => eng.membership.stats,
    vipsOwned: () => announcedNow.size,
    vipsAnnounced: () => announcedNow.keys(),
    peersAlive: () => eng.membership.view().heard,
    peersConfigured: () => eng.membership.view().configured,
  });

  // --- status writer: one work queue keyed by Service ---------------------------------------------
  const statusCtl = new Controller({
    name: 'speaker-status',
    concurrency: 2,
    logger: klog,
    reconcile: async (key, signal) => {
      const svc = services.get(key);
      const vips = statusVips.get(key);
      if (!svc || stopping) return;
      if (!vips || vips.length === 0) {
        // No longer ours, or its VIPs were released: drop the condition (an apply that owns
        // nothing removes what this field manager owned), written by the lowest live speaker.
        const alive = eng.membership.view().alive;
        if (!hasAnnounced(svc.status?.conditions) || [...alive].sort()[0] !== self) return;
        const { namespace, name } = splitKey(key);
        await applyStatus(
          client,
          { resource: Resources.services, namespace: namespace!, name },
          {},
          { fieldManager: FIELD_MANAGERS.speaker, signal },
        ).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        return;
      }
      const want = announcedCondition(vips, decisions);
      if (!want || writerOf(vips, decisions, eng.membership.view().alive) !== self) return;
      if (conditionMatches(svc.status?.conditions, want)) return;
      const { namespace, name } = splitKey(key);
      try {
        await applyServiceCondition(client, { namespace: namespace!, name }, want, {
          fieldManager: FIELD_MANAGERS.speaker,
          current: svc as never,
          signal,
        });
        metrics?.statusWrites.inc({ result: 'ok' });
      } catch (err) {
        if (isNotFound(err)) return;
        metrics?.statusWrites.inc({ result: 'error' });
        throw err;
      }
      if (want.status === 'False') {
        events.warning(svc as never, EVENT_REASONS.NotAnnounced, want.message, 'Announce');
      }
    },
  });

  let statusPending = false;
  function scheduleStatus(): void {
    if (statusPending || stopping) return;
    statusPending = true;
    setTimeout(() => {
      statusPending = false;
      if (stopping) return;
      decisions = currentDecisions(eng, facts, self);
      statusVips = bgp
        ? l2StatusVips(
            serviceVips,
            decisions,
            new Map(facts.vips.map((v) => [v.ip, v.pool])),
            bgpPools(bgpAds!.list(), pools.list()),
          )
        : serviceVips;
      const alive = eng.membership.view().alive;
      for (const [key, vips] of statusVips) {
        const want = announcedCondition(vips, decisions);
        if (!want || writerOf(vips, decisions, alive) !== self) continue;
        if (!conditionMatches(services.get(key)?.status?.conditions, want)) statusCtl.enqueue(key);
      }
      if ([...alive].sort()[0] === self) {
        for (const key of staleAnnounced(services.list(), statusVips)) statusCtl.enqueue(key);
      }
    }, 20).unref();
  }

  // --- facts and peers from the caches (debounced) ------------------------------------------------
  let factsPending = false;
  const refreshFacts = (): void => {
    if (factsPending || stopping) return;
    factsPending = true;
    setTimeout(() => {
      factsPending = false;
      if (stopping) return;
      const p = projectFacts({
        services: services.list(),
        pools: pools.list(),
        l2Advertisements: ads.list(),
        nodes: nodes.list(),
        endpointSlices: slices.list(),
        cfg: {
          lbClass: o.lbClass,
          handleUnclassed: o.handleUnclassed,
          ignoreExcludeLabel: o.ignoreExcludeLabel,
        },
      });
      facts = p.facts;
      serviceVips = p.serviceVips;
      eng.setFacts(facts);
      refreshBgp();
      scheduleStatus();
    }, 10).unref();
  };
  // --- BGP: the whole desired state on every change (level-based) ---------------------------------
  const bgp = bgpOn
    ? new BgpShell({ node: self, namespace: o.namespace, client, events, log, registry })
    : undefined;
  const lookup = (object: string): KubeObject | undefined => {
    const [kind, ...rest] = object.split('/');
    const key = rest.join('/');
    if (kind === 'BGPPeer') return bgpPeers?.get(key);
    if (kind === 'BGPAdvertisement') return bgpAds?.get(key);
    if (kind === 'Service') return services.get(key) as KubeObject | undefined;
    return undefined;
  };
  function refreshBgp(): void {
    if (!bgp || stopping) return;
    bgp.update({
      facts,
      node: selfNode(),
      peers: bgpPeers!.list(),
      advertisements: bgpAds!.list(),
      pools: pools.list(),
      secrets: secrets!.list(),
      lookup,
    });
  }
  let peerKey = '';
  let expiryTimer: NodeJS.Timeout | undefined;
  const refreshPeers = (): void => {
    if (stopping) return;
    const peers = currentPeers();
    const k = JSON.stringify(peers);
    if (k !== peerKey) {
      peerKey = k;
      log.info({ peers }, 'speaker peers');
      eng.setPeers(peers);
      scheduleStatus();
    }
    if (expiryTimer) clearTimeout(expiryTimer);
    const next = nextExpiry(leases.list(), Date.now(), o.peerLeaseDurationMs);
    if (next !== undefined) expiryTimer = setTimeout(refreshPeers, Math.max(100, next - Date.now() + 10));
  };
  // BGPPeers, BGPAdvertisements and Secrets feed BGP only: re-plan BGP on their changes without
  // recomputing the facts and the L2 election, which cost O(VIPs) (hundreds of ms with 10,000
  // VIPs, blocking the very session a new BGPPeer opens; test/bench/bgp.ts).
  let bgpPending = false;
  const refreshBgpSoon = (): void => {
    if (bgpPending || stopping) return;
    bgpPending = true;
    setTimeout(() => {
      bgpPending = false;
      refreshBgp();
    }, 10).unref();
  };
  const onAny = { add: refreshFacts, update: refreshFacts, delete: refreshFacts };
  for (const i of [services, pools, ads, nodes, slices]) i.addHandlers(onAny as never);
  const onBgp = { add: refreshBgpSoon, update: refreshBgpSoon, delete: refreshBgpSoon };
  for (const i of bgpInformers) i.addHandlers(onBgp as never);
  leases.addHandlers({ add: refreshPeers, update: refreshPeers, delete: refreshPeers });

  try {
    await eng.start();
  } catch (err) {
    return fail(new Error(`speaker: cannot start the engine: ${(err as Error).message}`));
  }
  peerKey = JSON.stringify(currentPeers());
  refreshPeers();
  refreshFacts();
  statusCtl.start();
  // Safety net: membership changes elsewhere do not always reach onChange (see currentDecisions).
  timers.push(setInterval(scheduleStatus, 2000));
  synced = true;
  log.info({ node: self, heartbeatAddress: address, peers: currentPeers() }, 'speaker started');

  return {
    engine: eng,
    bgp,
    client,
    heartbeatAddress: address,
    metricsAddress: observe?.address ?? null,
    ready: () => synced && !stopping,
    async stop({ graceful }) {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearInterval(t);
      if (expiryTimer) clearTimeout(expiryTimer);
      if (leaseRetry) clearTimeout(leaseRetry);
      // L2 hands over (leave + linger) while BGP withdraws: both make-before-break, in parallel.
      await Promise.all([eng.stop({ graceful, lingerMs: o.lingerMs ?? 200 }), bgp?.stop({ graceful })]);
      if (graceful) {
        // Gone from the peer list at once instead of after the Lease expires.
        await client.request({ method: 'DELETE', path: leasePath, timeoutMs: 3000 }).catch((err: unknown) => {
          if (!isNotFound(err))
            log.warn({ err: (err as Error).message }, 'could not delete the speaker Lease');
        });
      }
      await Promise.race([
        Promise.all([statusCtl.stop(), events.close(), ...informers.map((i) => i.stop())]),
        new Promise((r) => setTimeout(r, 3000).unref()),
      ]);
      await observe?.close();
      client.close?.();
    },
  };
}

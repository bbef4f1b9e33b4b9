// Opt-in live mirror of MetalLB's metallb.io IPAddressPools, L2Advertisements, BGPPeers and
// BGPAdvertisements (with the aliases of its Community objects resolved) into Portico's own kinds (controller flag --metallb-compat, chart value metallbCompat.enabled), so a cluster can
// switch controllers with its existing MetalLB objects and the allocator and speaker need no
// change. Design and trade-offs: docs/decisions/090-metallb-migration.md.
//
// - Pure core `planMirror()`: desired objects (lib/api/metallb.ts in mirror mode) + the Portico
//   objects that exist → creates, updates, deletes, conflicts, held objects. Level-based: the whole
//   set is recomputed from the caches on every change, under ONE work-queue key.
// - Ownership: the mirror only updates or deletes objects labelled portico.dev/mirrored-from=metallb,
//   with optimistic concurrency (update: resourceVersion; delete: uid + resourceVersion
//   preconditions), and creates with POST (409 if someone was first). A user-made object of the same
//   name is never touched: a MirrorConflict Warning Event on the MetalLB object says so.
// - A MetalLB object that becomes unusable (bad addresses…) keeps its last good mirror: an Event
//   explains, nothing is deleted, so no VIP loses its pool or its announcement. Only a MetalLB
//   object that is gone (or no longer produces that name) takes its mirror with it.
// - Runs only while the metallb.io CRDs exist: discovery is probed at start and every
//   probeIntervalMs while absent (a clear log line says so); informers start once they appear.
// - Writes only on the leader (mirror.lead(signal) from the leader term), like everything else.

import type { Registry } from 'prom-client';
import { KINDS, PLURALS } from '../lib/api/group.ts';
import {
  type ConversionResult,
  convertMetalLB,
  formatFinding,
  METALLB_GROUP,
  METALLB_LABEL_VALUE,
  MIRRORED_LABEL,
  SOURCE_ANNOTATION,
  type SourceRef,
  sourceRefText,
} from '../lib/api/metallb.ts';
import type { BGPAdvertisement, BGPPeer, IPAddressPool, L2Advertisement } from '../lib/api/types.ts';
import { DEFAULTS } from '../lib/api/types.ts';
import {
  Controller,
  collectionPath,
  type EventRecorder,
  errInfo,
  Informer,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeLogger,
  type KubeObject,
  objectPath,
  type ResourceRef,
  statusCodeOf,
} from '../lib/kube/index.ts';
import { POOL_RESOURCE, type PoolObject } from './pools.ts';

export const MIRROR_FIELD_MANAGER = 'portico-metallb-mirror';

export const L2_RESOURCE = {
  group: POOL_RESOURCE.group,
  version: POOL_RESOURCE.version,
  plural: PLURALS.L2Advertisement,
  namespaced: false,
  kind: KINDS.L2Advertisement,
} as const satisfies ResourceRef;

export const BGP_PEER_RESOURCE = {
  group: POOL_RESOURCE.group,
  version: POOL_RESOURCE.version,
  plural: PLURALS.BGPPeer,
  namespaced: false,
  kind: KINDS.BGPPeer,
} as const satisfies ResourceRef;

export const BGP_ADVERTISEMENT_RESOURCE = {
  group: POOL_RESOURCE.group,
  version: POOL_RESOURCE.version,
  plural: PLURALS.BGPAdvertisement,
  namespaced: false,
  kind: KINDS.BGPAdvertisement,
} as const satisfies ResourceRef;

/** A MetalLB kind the mirror watches, with the versions it reads, preferred first. */
export interface MetalLBKind extends ResourceRef {
  kind: string;
  versions: readonly string[];
}
const metallbResource = (plural: string, kind: string, versions = ['v1beta1']): MetalLBKind => ({
  group: METALLB_GROUP,
  version: versions[0]!,
  versions,
  plural,
  namespaced: true,
  kind,
});
export const METALLB_POOLS = metallbResource('ipaddresspools', 'IPAddressPool');
export const METALLB_L2ADVERTISEMENTS = metallbResource('l2advertisements', 'L2Advertisement');
/**
 * BGP kinds, watched when served (MetalLB installs them all; the pools and L2Advertisements alone
 * decide whether the mirror runs). BGPPeer is read as v1beta2 (MetalLB's storage version) when
 * served. BFDProfiles are not read: each peer naming one gets its own warning.
 */
export const METALLB_BGP_PEERS = metallbResource('bgppeers', 'BGPPeer', ['v1beta2', 'v1beta1']);
export const METALLB_BGP_ADVERTISEMENTS = metallbResource('bgpadvertisements', 'BGPAdvertisement');
export const METALLB_COMMUNITIES = metallbResource('communities', 'Community');
/** Every MetalLB kind the mirror reads. */
export const METALLB_KINDS: readonly MetalLBKind[] = [
  METALLB_POOLS,
  METALLB_L2ADVERTISEMENTS,
  METALLB_BGP_PEERS,
  METALLB_BGP_ADVERTISEMENTS,
  METALLB_COMMUNITIES,
];

/** Event reasons on MetalLB objects (kubectl describe ipaddresspools.metallb.io …). */
export const MIRROR_EVENT_REASONS = {
  /** A Portico object of that name exists and was not made by the mirror: left alone. */
  Conflict: 'MirrorConflict',
  /** The object cannot be carried (invalid, or rejected by the apiserver); its last mirror is kept. */
  NotCarried: 'MetalLBNotCarried',
  /** Part of the object cannot be carried (a warning finding). */
  FieldNotCarried: 'MetalLBFieldNotCarried',
  Mirrored: 'Mirrored',
} as const;

type PorticoObject = (IPAddressPool | L2Advertisement | BGPPeer | BGPAdvertisement) & KubeObject;
type PorticoKind = 'IPAddressPool' | 'L2Advertisement' | 'BGPPeer' | 'BGPAdvertisement';

export interface ExistingObject {
  kind: PorticoKind;
  name: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  spec?: unknown;
}

export type MirrorAction =
  | { op: 'create'; object: PorticoObject }
  | { op: 'update'; object: PorticoObject; resourceVersion: string }
  | { op: 'delete'; kind: PorticoKind; name: string; uid?: string; resourceVersion?: string; why: string }
  | { op: 'conflict'; kind: PorticoKind; name: string; source: SourceRef }
  | { op: 'hold'; kind: PorticoKind; name: string; source: string; why: string };

/** The spec as the apiserver stores it (CRD defaults applied), so comparisons do not flap. */
export function withDefaults(o: PorticoObject): PorticoObject {
  if (o.kind === KINDS.BGPPeer) {
    const p = o as BGPPeer;
    return {
      ...(p as PorticoObject & BGPPeer),
      spec: {
        ...p.spec,
        peerPort: p.spec.peerPort ?? DEFAULTS.bgp.peerPort,
        ebgpMultiHop: p.spec.ebgpMultiHop ?? false,
        enableGracefulRestart: p.spec.enableGracefulRestart ?? false,
      },
    };
  }
  if (o.kind === KINDS.BGPAdvertisement) {
    const a = o as BGPAdvertisement;
    // Structural defaults apply inside an existing spec only: no spec stays no spec.
    if (a.spec === undefined) return o;
    return {
      ...(a as PorticoObject & BGPAdvertisement),
      spec: {
        ...a.spec,
        aggregationLength: a.spec.aggregationLength ?? DEFAULTS.bgp.aggregationLength,
        aggregationLengthV6: a.spec.aggregationLengthV6 ?? DEFAULTS.bgp.aggregationLengthV6,
      },
    };
  }
  if (o.kind !== KINDS.IPAddressPool) return o;
  const p = o as IPAddressPool;
  return {
    ...(p as PorticoObject & IPAddressPool),
    spec: {
      ...p.spec,
      autoAssign: p.spec.autoAssign ?? DEFAULTS.autoAssign,
      avoidBuggyIPs: p.spec.avoidBuggyIPs ?? DEFAULTS.avoidBuggyIPs,
    },
  };
}

/** JSON with sorted keys: equality that ignores key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

function isMirrored(e: ExistingObject): boolean {
  return e.labels?.[MIRRORED_LABEL] === METALLB_LABEL_VALUE;
}

/**
 * Pure: what to do so Portico's objects match the MetalLB objects. `existing` is every Portico
 * IPAddressPool, L2Advertisement, BGPPeer and BGPAdvertisement (mirrored or not). `unwatched`:
 * Portico kinds whose MetalLB kind is not being read (its CRD not served): their mirrors look
 * "gone" but are never deleted on that evidence (BGP routes would be withdrawn for nothing).
 */
export function planMirror(
  conv: ConversionResult,
  existing: readonly ExistingObject[],
  unwatched: readonly PorticoKind[] = [],
): MirrorAction[] {
  const actions: MirrorAction[] = [];
  const byKey = new Map(existing.map((e) => [`${e.kind}/${e.name}`, e]));
  const desired = [...conv.pools, ...conv.l2Advertisements, ...conv.bgpPeers, ...conv.bgpAdvertisements].map(
    (o) => withDefaults(o as PorticoObject),
  );
  const wanted = new Set<string>();
  const sourceOf = (o: PorticoObject): SourceRef | undefined => {
    const text = o.metadata?.annotations?.[SOURCE_ANNOTATION];
    return conv.sources.find((s) => sourceRefText(s) === text);
  };
  for (const o of desired) {
    const kind = o.kind as PorticoKind;
    const name = o.metadata?.name ?? '';
    const key = `${kind}/${name}`;
    wanted.add(key);
    const e = byKey.get(key);
    if (!e) {
      actions.push({ op: 'create', object: o });
      continue;
    }
    if (!isMirrored(e)) {
      const source = sourceOf(o);
      if (source) actions.push({ op: 'conflict', kind, name, source });
      continue;
    }
    const same =
      canonical(e.spec ?? {}) === canonical(o.spec ?? {}) &&
      canonical(e.labels ?? {}) === canonical(o.metadata?.labels ?? {}) &&
      canonical(e.annotations ?? {}) === canonical(o.metadata?.annotations ?? {});
    if (!same) actions.push({ op: 'update', object: o, resourceVersion: e.resourceVersion ?? '' });
  }
  // Sources that exist but cannot be carried keep every mirror they made (last good state).
  const held = new Map<string, string>();
  for (const s of conv.sources) if (s.notCarried !== null) held.set(sourceRefText(s), s.notCarried);
  for (const e of existing) {
    const key = `${e.kind}/${e.name}`;
    if (!isMirrored(e) || wanted.has(key) || unwatched.includes(e.kind)) continue;
    const src = e.annotations?.[SOURCE_ANNOTATION] ?? '';
    const why = held.get(src);
    if (why !== undefined) {
      actions.push({ op: 'hold', kind: e.kind, name: e.name, source: src, why });
      continue;
    }
    const del: MirrorAction = {
      op: 'delete',
      kind: e.kind,
      name: e.name,
      why: conv.sources.some((s) => sourceRefText(s) === src)
        ? `${src} no longer produces it`
        : `${src || 'its MetalLB source'} is gone`,
    };
    if (e.uid) del.uid = e.uid;
    if (e.resourceVersion) del.resourceVersion = e.resourceVersion;
    actions.push(del);
  }
  return actions;
}

// ------------------------------------------------------------------------------------- I/O shell

export interface MirrorOptions {
  client: KubeClient;
  log: KubeLogger;
  recorder: EventRecorder;
  /** The controller's IPAddressPool informer (shared). */
  pools: Informer<PoolObject>;
  /** Namespace MetalLB's objects live in; null = all namespaces. */
  namespace: string | null;
  /**
   * The namespace Portico runs in: its speaker reads BGP password Secrets only there, so a
   * passwordSecret elsewhere gets a Warning Event saying what to copy. Default portico-system.
   */
  porticoNamespace?: string;
  /** Re-probe discovery this often while the metallb.io CRDs are absent. Default 60 s. */
  probeIntervalMs?: number;
  resyncPeriodMs?: number;
  registry?: Registry;
}

interface MetalLBObject extends KubeObject {
  spec?: unknown;
}

export class MetalLBMirror {
  private readonly o: MirrorOptions;
  /** One informer per MetalLB kind served (pools and L2Advertisements always), with its version. */
  private readonly metallb = new Map<MetalLBKind, { informer: Informer<MetalLBObject>; version: string }>();
  private porticoL2: Informer<L2Advertisement & KubeObject> | undefined;
  private porticoPeers: Informer<BGPPeer & KubeObject> | undefined;
  private porticoBgpAdvs: Informer<BGPAdvertisement & KubeObject> | undefined;
  private controller: Controller | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private found = false;
  private readonly foundWaiters = new Set<() => void>();
  private uninstallReported = false;
  /** Events already emitted this leadership period (an Event per change, not per reconcile). */
  private readonly reported = new Set<string>();

  constructor(o: MirrorOptions) {
    this.o = o;
  }

  /** Begin probing; informers start once the metallb.io CRDs are served. */
  start(): void {
    void this.probe();
  }

  /** True once the metallb.io CRDs were found and the informers run. */
  active(): boolean {
    return this.found;
  }

  whenActive(timeoutMs = 60_000): Promise<void> {
    if (this.found) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        this.foundWaiters.delete(done);
        reject(new Error(`metallb.io CRDs not found within ${timeoutMs} ms`));
      }, timeoutMs);
      this.foundWaiters.add(done);
    });
  }

  private async probe(): Promise<void> {
    if (this.stopped || this.found) return;
    const { log } = this.o;
    let served = false;
    let byVersion: Map<string, Set<string | undefined>> = new Map();
    try {
      byVersion = await this.discover();
      const v1 = byVersion.get('v1beta1');
      served = (v1?.has(METALLB_POOLS.plural) && v1.has(METALLB_L2ADVERTISEMENTS.plural)) ?? false;
    } catch (err) {
      log.warn({ ...errInfo(err) }, 'MetalLB mirror: discovery of metallb.io failed; retrying');
    }
    if (this.stopped) return;
    if (!served) {
      const every = this.o.probeIntervalMs ?? 60_000;
      log.info(
        { group: `${METALLB_GROUP}/v1beta1`, retryMs: every },
        'MetalLB mirror enabled but the metallb.io IPAddressPool/L2Advertisement CRDs are not installed: nothing to mirror; checking again later',
      );
      this.probeTimer = setTimeout(() => void this.probe(), every);
      return;
    }
    this.startInformers(byVersion);
  }

  /** metallb.io version → resources served in it (a version not served is absent). */
  private async discover(): Promise<Map<string, Set<string | undefined>>> {
    const byVersion = new Map<string, Set<string | undefined>>();
    for (const version of ['v1beta1', 'v1beta2']) {
      try {
        const list = await this.o.client.request<{ resources?: Array<{ name?: string }> }>({
          path: `/apis/${METALLB_GROUP}/${version}`,
        });
        byVersion.set(version, new Set((list.resources ?? []).map((r) => r.name)));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return byVersion;
  }

  /** Start an informer for each MetalLB kind now served that has none yet; the kinds still missing. */
  private addInformers(byVersion: ReadonlyMap<string, ReadonlySet<string | undefined>>): string[] {
    const ns = this.o.namespace ?? undefined;
    const missing: string[] = [];
    for (const r of METALLB_KINDS) {
      if (this.metallb.has(r)) continue;
      const version = r.versions.find((v) => byVersion.get(v)?.has(r.plural));
      if (!version) {
        missing.push(r.plural);
        continue;
      }
      const informer = new Informer<MetalLBObject>(this.o.client, {
        resource: { ...r, version },
        ...(ns ? { namespace: ns } : {}),
        logger: this.o.log,
        ...(this.o.resyncPeriodMs !== undefined ? { resyncPeriodMs: this.o.resyncPeriodMs } : {}),
      });
      informer.addHandlers({ add: this.kick, update: this.kick, delete: this.kick });
      this.metallb.set(r, { informer, version });
      if (this.found) informer.start();
    }
    return missing;
  }

  private readonly kick = (): void => this.controller?.enqueue('mirror');

  /**
   * Kinds not served when the mirror started (a CRD installed a moment after the others, a
   * MetalLB without one): look again on the probe interval and watch them once they appear.
   */
  private async probeMissing(): Promise<void> {
    if (this.stopped) return;
    let missing: string[] = [];
    try {
      missing = this.addInformers(await this.discover());
      if (missing.length === 0) this.kick();
    } catch (err) {
      this.o.log.warn({ ...errInfo(err) }, 'MetalLB mirror: discovery of metallb.io failed; retrying');
      missing = ['?'];
    }
    if (missing.length > 0 && !this.stopped)
      this.probeTimer = setTimeout(() => void this.probeMissing(), this.o.probeIntervalMs ?? 60_000);
  }

  private startInformers(byVersion: ReadonlyMap<string, ReadonlySet<string | undefined>>): void {
    const { client, log } = this.o;
    const common = {
      logger: log,
      ...(this.o.resyncPeriodMs !== undefined ? { resyncPeriodMs: this.o.resyncPeriodMs } : {}),
    };
    const kick = this.kick;
    const handle = (inf: Informer<KubeObject>) => inf.addHandlers({ add: kick, update: kick, delete: kick });
    const skipped = this.addInformers(byVersion);
    this.porticoL2 = new Informer<L2Advertisement & KubeObject>(client, { resource: L2_RESOURCE, ...common });
    this.porticoPeers = new Informer<BGPPeer & KubeObject>(client, {
      resource: BGP_PEER_RESOURCE,
      ...common,
    });
    this.porticoBgpAdvs = new Informer<BGPAdvertisement & KubeObject>(client, {
      resource: BGP_ADVERTISEMENT_RESOURCE,
      ...common,
    });
    for (const inf of [this.porticoL2, this.porticoPeers, this.porticoBgpAdvs])
      handle(inf as Informer<KubeObject>);
    this.o.pools.addHandlers({ add: kick, update: kick, delete: kick });
    for (const { informer } of this.metallb.values()) informer.start();
    this.porticoL2.start();
    this.porticoPeers.start();
    this.porticoBgpAdvs.start();
    this.found = true;
    if (skipped.length > 0) {
      log.warn(
        { resources: skipped },
        'MetalLB mirror: these metallb.io kinds are not served (yet); not mirrored until they are',
      );
      this.probeTimer = setTimeout(() => void this.probeMissing(), this.o.probeIntervalMs ?? 60_000);
    }
    log.info(
      {
        namespace: this.o.namespace ?? 'all',
        kinds: [...this.metallb].map(([r, { version }]) => `${r.plural}.${version}`),
      },
      'MetalLB mirror: metallb.io CRDs found, mirroring',
    );
    for (const w of this.foundWaiters) w();
    this.foundWaiters.clear();
    kick();
  }

  /** Reconcile (write) while `signal` is not aborted: called at the start of each leader term. */
  lead(signal: AbortSignal): void {
    if (this.stopped || signal.aborted) return;
    this.reported.clear();
    const ctl = new Controller({
      name: 'metallb-mirror',
      reconcile: (_k, s) => this.reconcile(AbortSignal.any([s, signal])),
      logger: this.o.log,
      ...(this.o.registry ? { registry: this.o.registry } : {}),
    });
    this.controller = ctl;
    ctl.enqueue('mirror');
    ctl.start();
    signal.addEventListener(
      'abort',
      () => {
        if (this.controller === ctl) this.controller = undefined;
        void ctl.stop();
      },
      { once: true },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.probeTimer);
    const ctl = this.controller;
    this.controller = undefined;
    await ctl?.stop();
    await Promise.all([
      ...[...this.metallb.values()].map(({ informer }) => informer.stop()),
      this.porticoL2?.stop(),
      this.porticoPeers?.stop(),
      this.porticoBgpAdvs?.stop(),
    ]);
  }

  private synced(): boolean {
    return (
      this.found &&
      [...this.metallb.values()].every(({ informer }) => informer.hasSynced()) &&
      (this.porticoL2?.hasSynced() ?? false) &&
      (this.porticoPeers?.hasSynced() ?? false) &&
      (this.porticoBgpAdvs?.hasSynced() ?? false) &&
      this.o.pools.hasSynced()
    );
  }

  /** One pass over everything (level-based). */
  async reconcile(signal: AbortSignal): Promise<{ requeueAfter?: number } | undefined> {
    if (!this.synced()) return this.found ? { requeueAfter: 200 } : undefined;
    const { log } = this.o;
    // Watch events carry no apiVersion/kind on every path: set them from the informer.
    const sources = [...this.metallb].flatMap(([r, { informer, version }]) =>
      informer.list().map((o) => ({ ...o, apiVersion: `${METALLB_GROUP}/${version}`, kind: r.kind })),
    );
    const conv = convertMetalLB(sources, {
      mode: 'mirror',
      porticoNamespace: this.o.porticoNamespace ?? 'portico-system',
    });
    const existing: ExistingObject[] = [
      ...this.o.pools.list().map((p) => existingOf('IPAddressPool', p)),
      ...(this.porticoL2?.list() ?? []).map((l) => existingOf('L2Advertisement', l)),
      ...(this.porticoPeers?.list() ?? []).map((l) => existingOf('BGPPeer', l)),
      ...(this.porticoBgpAdvs?.list() ?? []).map((l) => existingOf('BGPAdvertisement', l)),
    ];
    const sourceObj = (ref: { namespace: string; name: string; kind: string }): KubeObject | undefined =>
      sources.find(
        (s) =>
          s.kind === ref.kind &&
          s.metadata?.name === ref.name &&
          (s.metadata?.namespace ?? '') === ref.namespace,
      );
    // Findings: warnings become Events on their MetalLB object, notes go to the debug log.
    for (const f of conv.findings) {
      const obj = f.source ? sourceObj(f.source) : undefined;
      if (f.level === 'warning' && obj)
        this.report(obj, MIRROR_EVENT_REASONS.FieldNotCarried, formatFinding(f));
      else log.debug({ finding: formatFinding(f) }, 'MetalLB mirror');
    }
    for (const s of conv.sources) {
      const obj = sourceObj(s);
      if (s.notCarried !== null && obj)
        this.report(
          obj,
          MIRROR_EVENT_REASONS.NotCarried,
          `not mirrored: ${s.notCarried}; an earlier mirror of it, if any, is kept unchanged`,
        );
    }
    const unwatched: PorticoKind[] = [];
    if (!this.metallb.has(METALLB_BGP_PEERS)) unwatched.push('BGPPeer');
    if (!this.metallb.has(METALLB_BGP_ADVERTISEMENTS)) unwatched.push('BGPAdvertisement');
    let actions = planMirror(conv, existing, unwatched);
    if (actions.some((x) => x.op === 'delete') && (await this.metallbUninstalling(signal))) {
      // Uninstalling MetalLB deletes its CRDs and with them every MetalLB object: following those
      // deletions would remove every pool, advertisement and peer Portico serves from (the Services
      // keep their IPs, but nothing would be announced). Keep every mirror instead.
      actions = actions.filter((x) => x.op !== 'delete');
      if (!this.uninstallReported) {
        this.uninstallReported = true;
        log.warn(
          {},
          'MetalLB mirror: metallb.io CRDs are being deleted or gone (MetalLB uninstalled?): keeping every mirror; they are yours now (remove the label portico.dev/mirrored-from) and set metallbCompat.enabled=false',
        );
      }
    }
    for (const a of actions) {
      if (signal.aborted) return undefined;
      await this.execute(a, conv, sourceObj, signal);
    }
    return undefined;
  }

  /**
   * Is any metallb.io CRD the mirror watches gone or being deleted? (An uninstall deletes them in
   * any order: the BGPPeers may vanish before the pools.) Read only before deleting a mirror
   * (deletes are rare), with a get on exactly those CRDs (CONTROLLER_METALLB_RULES).
   */
  private async metallbUninstalling(signal: AbortSignal): Promise<boolean> {
    for (const r of this.metallb.keys()) {
      try {
        const crd = await this.o.client.request<{ metadata?: { deletionTimestamp?: string } }>({
          path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${r.plural}.${METALLB_GROUP}`,
          signal,
        });
        if (crd.metadata?.deletionTimestamp) return true;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err; // cannot tell: retry later rather than delete blindly
      }
    }
    return false;
  }

  private report(obj: KubeObject, reason: string, note: string): void {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}/${reason}/${note}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.o.recorder.warning(obj, reason, note);
    this.o.log.warn(
      { object: `${obj.kind} ${obj.metadata?.namespace}/${obj.metadata?.name}`, reason, note },
      'MetalLB mirror',
    );
  }

  private async execute(
    a: MirrorAction,
    conv: ConversionResult,
    sourceObj: (ref: { namespace: string; name: string; kind: string }) => KubeObject | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const { client, log } = this.o;
    const resOf = (kind: PorticoKind): ResourceRef =>
      ({
        IPAddressPool: POOL_RESOURCE,
        L2Advertisement: L2_RESOURCE,
        BGPPeer: BGP_PEER_RESOURCE,
        BGPAdvertisement: BGP_ADVERTISEMENT_RESOURCE,
      })[kind];
    const sourceFor = (o: PorticoObject) => {
      const text = o.metadata?.annotations?.[SOURCE_ANNOTATION];
      const s = conv.sources.find((x) => sourceRefText(x) === text);
      return s ? sourceObj(s) : undefined;
    };
    try {
      switch (a.op) {
        case 'create': {
          await client.request({
            method: 'POST',
            path: collectionPath(resOf(a.object.kind as PorticoKind)),
            query: { fieldManager: MIRROR_FIELD_MANAGER },
            body: a.object,
            signal,
          });
          log.info({ object: `${a.object.kind}/${a.object.metadata?.name}` }, 'MetalLB mirror: created');
          return;
        }
        case 'update': {
          const body = {
            ...a.object,
            metadata: { ...a.object.metadata, resourceVersion: a.resourceVersion },
          };
          await client.request({
            method: 'PUT',
            path: objectPath(resOf(a.object.kind as PorticoKind), undefined, a.object.metadata?.name ?? ''),
            query: { fieldManager: MIRROR_FIELD_MANAGER },
            body,
            signal,
          });
          log.info({ object: `${a.object.kind}/${a.object.metadata?.name}` }, 'MetalLB mirror: updated');
          return;
        }
        case 'delete': {
          const preconditions: Record<string, string> = {};
          if (a.uid) preconditions.uid = a.uid;
          if (a.resourceVersion) preconditions.resourceVersion = a.resourceVersion;
          await client.request({
            method: 'DELETE',
            path: objectPath(resOf(a.kind), undefined, a.name),
            body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions },
            signal,
          });
          log.info({ object: `${a.kind}/${a.name}`, why: a.why }, 'MetalLB mirror: deleted');
          return;
        }
        case 'conflict': {
          const obj = sourceObj(a.source);
          if (obj)
            this.report(
              obj,
              MIRROR_EVENT_REASONS.Conflict,
              `${a.kind}/${a.name} (portico.dev) exists and was not made by the MetalLB mirror: left unchanged and this object not mirrored; delete or rename one of them`,
            );
          return;
        }
        case 'hold':
          log.debug(
            { object: `${a.kind}/${a.name}`, source: a.source, why: a.why },
            'MetalLB mirror: kept last good',
          );
          return;
      }
    } catch (err) {
      if (isNotFound(err) && a.op === 'delete') return; // already gone
      if (isConflict(err)) throw err; // raced with someone: the next pass sees their write
      const code = statusCodeOf(err);
      if ((a.op === 'create' || a.op === 'update') && code !== undefined && code >= 400 && code < 500) {
        // The apiserver refuses it (validation): bad input, not a transient failure. Say so on the
        // MetalLB object; retrying cannot help until it changes (which enqueues a new pass).
        const src = sourceFor(a.object);
        const msg = err instanceof Error ? err.message : String(err);
        if (src)
          this.report(
            src,
            MIRROR_EVENT_REASONS.NotCarried,
            `${a.object.kind}/${a.object.metadata?.name} rejected by the apiserver: ${msg}`,
          );
        else
          log.warn(
            { object: `${a.object.kind}/${a.object.metadata?.name}`, err: msg },
            'MetalLB mirror: rejected',
          );
        return;
      }
      throw err;
    }
  }
}

function existingOf(kind: PorticoKind, o: KubeObject & { spec?: unknown }): ExistingObject {
  const e: ExistingObject = { kind, name: o.metadata?.name ?? '' };
  const m = o.metadata;
  if (m?.uid) e.uid = m.uid;
  if (m?.resourceVersion) e.resourceVersion = m.resourceVersion;
  if (m?.labels) e.labels = m.labels;
  if (m?.annotations) e.annotations = m.annotations;
  if (o.spec !== undefined) e.spec = o.spec;
  return e;
}

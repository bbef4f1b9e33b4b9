// Shell: the informers behind the projection. Services, Namespaces and DNSZones are always
// watched; Gateway API kinds are watched when discovery says they are installed, at the version
// it offers. Discovery repeats: a CRD installed later is picked up, one removed is dropped (its
// objects with it), and an absent kind is logged once per change — it never stops the server.
//
// synced(): discovery has answered once and every informer that existed then has listed. It
// latches: a kind installed later joins without making the server unready (until it has listed
// it simply contributes nothing, which is the truth the server saw a moment ago).

import { GROUP, PLURALS, VERSION } from '../../lib/api/group.ts';
import type { DNSZone } from '../../lib/api/types.ts';
import {
  collectionPath,
  errInfo,
  Informer,
  isNotFound,
  type KubeClient,
  type KubeLogger,
  type KubeObject,
  noopLogger,
  type ResourceRef,
  Resources,
  statusCodeOf,
} from '../../lib/kube/index.ts';
import {
  type APIGroupDoc,
  type APIResourceListDoc,
  chooseResources,
  type DiscoveredResource,
  GATEWAY_API_KINDS,
  sameResource,
  versionOrder,
} from './discovery.ts';
import {
  type ClusterState,
  GATEWAY_GROUP,
  type Gateway,
  type ListenerSet,
  type Namespace,
  type Route,
  type Service,
} from './types.ts';

export const DNSZONE_RESOURCE = {
  group: GROUP,
  version: VERSION,
  plural: PLURALS.DNSZone,
  namespaced: false,
  kind: 'DNSZone',
} as const satisfies ResourceRef;

export interface ClusterSourcesOptions {
  client: KubeClient;
  logger?: KubeLogger;
  /** Called on every cache change (add/update/delete, a kind appearing or going). Debounce it. */
  onChange: (why: string) => void;
  /** How often discovery is repeated. Default 30 s. */
  rediscoverMs?: number;
  /** Passed to every informer (tests shorten timeouts). */
  informerDefaults?: {
    requestTimeoutMs?: number;
    backoff?: { baseMs: number; maxMs: number; jitter: number };
  };
}

interface Watched<T extends KubeObject> {
  resource: ResourceRef;
  informer: Informer<T>;
}

/** Discovery documents of the Gateway API group; undefined = the group is not installed. */
export async function discoverGatewayApi(
  client: KubeClient,
  signal?: AbortSignal,
): Promise<Map<string, DiscoveredResource>> {
  const base = `/apis/${GATEWAY_GROUP}`;
  let group: APIGroupDoc;
  try {
    group = await client.request<APIGroupDoc>({
      path: base,
      timeoutMs: 15_000,
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (isNotFound(err)) return new Map();
    throw err;
  }
  const lists = new Map<string, APIResourceListDoc>();
  for (const v of versionOrder(group)) {
    try {
      lists.set(
        v,
        await client.request<APIResourceListDoc>({
          path: `${base}/${v}`,
          timeoutMs: 15_000,
          ...(signal ? { signal } : {}),
        }),
      );
    } catch (err) {
      // A version can vanish between the two requests (CRD being upgraded): skip it this round.
      if (!isNotFound(err)) throw err;
    }
  }
  return chooseResources(group, lists);
}

export class ClusterSources {
  private readonly client: KubeClient;
  private readonly log: KubeLogger;
  private readonly o: ClusterSourcesOptions;
  readonly services: Watched<Service & KubeObject>;
  readonly namespaces: Watched<Namespace & KubeObject>;
  readonly zones: Watched<DNSZone & KubeObject>;
  private readonly gatewayApi = new Map<string, Watched<KubeObject>>();
  private readonly abort = new AbortController();
  private discovered = false;
  private initialKinds: string[] = [];
  private latched = false;
  private timer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> | undefined;
  private absentLogged = new Set<string>();
  private forbiddenLogged = new Set<string>();
  private failures = 0;

  constructor(o: ClusterSourcesOptions) {
    this.o = o;
    this.client = o.client;
    this.log = o.logger ?? noopLogger;
    this.services = this.watch(Resources.services, 'Service');
    this.namespaces = this.watch(Resources.namespaces, 'Namespace');
    this.zones = this.watch(DNSZONE_RESOURCE, 'DNSZone', (old, obj) => {
      // Our own status writes come back as updates; only spec (generation) changes matter.
      return old.metadata?.generation !== obj.metadata?.generation;
    });
  }

  private watch<T extends KubeObject>(
    resource: ResourceRef,
    kind: string,
    relevantUpdate?: (old: T, obj: T) => boolean,
  ): Watched<T> {
    const informer = new Informer<T>(this.client, {
      resource,
      logger: this.log,
      name: kind,
      ...(this.o.informerDefaults?.requestTimeoutMs !== undefined
        ? { requestTimeoutMs: this.o.informerDefaults.requestTimeoutMs }
        : {}),
      ...(this.o.informerDefaults?.backoff ? { backoff: this.o.informerDefaults.backoff } : {}),
    });
    informer.addHandlers({
      add: () => this.o.onChange(`${kind} added`),
      update: (old, obj) => {
        if (old === obj) return; // resync
        if (relevantUpdate && !relevantUpdate(old, obj)) return;
        this.o.onChange(`${kind} updated`);
      },
      delete: () => this.o.onChange(`${kind} deleted`),
    });
    return { resource, informer };
  }

  start(): void {
    this.services.informer.start();
    this.namespaces.informer.start();
    this.zones.informer.start();
    this.discoverLoop();
  }

  private discoverLoop(): void {
    if (this.abort.signal.aborted) return;
    this.discovering = this.discover().then(
      () => {
        this.failures = 0;
        this.schedule(this.o.rediscoverMs ?? 30_000);
      },
      (err: unknown) => {
        if (this.abort.signal.aborted) return;
        this.failures++;
        this.log.warn({ ...errInfo(err), failures: this.failures }, 'Gateway API discovery failed; retrying');
        this.schedule(Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7)));
      },
    );
  }

  private schedule(ms: number): void {
    if (this.abort.signal.aborted) return;
    this.timer = setTimeout(() => this.discoverLoop(), ms);
  }

  /** Reconcile the set of Gateway API informers with what discovery says is installed. */
  async discover(): Promise<void> {
    const found = await discoverGatewayApi(this.client, this.abort.signal);
    if (this.abort.signal.aborted) return;
    let changed = false;
    for (const [kind, w] of this.gatewayApi) {
      const now = found.get(kind);
      if (sameResource(now, w.resource as DiscoveredResource)) continue;
      this.gatewayApi.delete(kind);
      await w.informer.stop();
      changed = true;
      this.log.info(
        { kind, was: `${w.resource.group}/${w.resource.version}` },
        'Gateway API kind removed or changed version; no longer watched',
      );
    }
    for (const [kind, res] of found) {
      if (this.gatewayApi.has(kind)) continue;
      // Probe before watching: an informer that may not list (a ClusterRole from an older chart
      // without this kind) would retry forever and the server would never become ready.
      if (!(await this.canList(kind, res))) continue;
      const w = this.watch<KubeObject>(res, kind);
      this.gatewayApi.set(kind, w);
      w.informer.start();
      this.absentLogged.delete(kind);
      changed = true;
      this.log.info({ kind, version: `${res.group}/${res.version}` }, 'watching Gateway API kind');
    }
    for (const kind of GATEWAY_API_KINDS) {
      if (found.has(kind) || this.absentLogged.has(kind)) continue;
      this.absentLogged.add(kind);
      this.log.warn(
        { kind },
        `${kind} is not installed (no served version of ${GATEWAY_GROUP}); skipped until it is`,
      );
    }
    if (!this.discovered) {
      this.discovered = true;
      this.initialKinds = [...this.gatewayApi.keys()];
    }
    if (changed) this.o.onChange('Gateway API kinds changed');
  }

  /** One-item list: false (logged once) when forbidden or gone; other errors propagate (retry). */
  private async canList(kind: string, res: DiscoveredResource): Promise<boolean> {
    try {
      await this.client.request({
        path: collectionPath(res),
        query: { limit: 1 },
        timeoutMs: 15_000,
        signal: this.abort.signal,
      });
      this.forbiddenLogged.delete(kind);
      return true;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code !== 403 && code !== 404) throw err;
      if (!this.forbiddenLogged.has(kind)) {
        this.forbiddenLogged.add(kind);
        this.log.warn(
          { kind, status: code, ...errInfo(err) },
          `${kind} is installed but cannot be listed (HTTP ${code}); skipped until it can — check the DNS server's ClusterRole`,
        );
      }
      return false;
    }
  }

  /** Installed Gateway API kinds currently watched. */
  watchedKinds(): string[] {
    return [...this.gatewayApi.keys()].sort();
  }

  /** See the file comment. */
  synced(): boolean {
    if (this.latched) return true;
    if (!this.discovered) return false;
    if (!this.services.informer.hasSynced() || !this.namespaces.informer.hasSynced()) return false;
    if (!this.zones.informer.hasSynced()) return false;
    for (const kind of this.initialKinds) {
      const w = this.gatewayApi.get(kind);
      if (w && !w.informer.hasSynced()) return false;
    }
    this.latched = true;
    return true;
  }

  /** The caches, listed, with `kind` filled in (list responses may omit it). */
  state(): ClusterState {
    const withKind = <T extends KubeObject>(
      w: Watched<T> | undefined,
      kind: string,
      apiVersion: string,
    ): T[] =>
      (w?.informer.list() ?? []).map((o) =>
        o.kind === kind && o.apiVersion ? o : { ...o, kind, apiVersion },
      );
    const gv = (kind: string) => {
      const r = this.gatewayApi.get(kind)?.resource;
      return r ? `${r.group}/${r.version}` : GATEWAY_GROUP;
    };
    const routes: Route[] = [];
    for (const kind of ['HTTPRoute', 'GRPCRoute', 'TLSRoute']) {
      routes.push(...(withKind(this.gatewayApi.get(kind), kind, gv(kind)) as Route[]));
    }
    return {
      gateways: withKind(this.gatewayApi.get('Gateway'), 'Gateway', gv('Gateway')) as Gateway[],
      listenerSets: withKind(
        this.gatewayApi.get('ListenerSet'),
        'ListenerSet',
        gv('ListenerSet'),
      ) as ListenerSet[],
      routes,
      services: withKind(this.services, 'Service', 'v1'),
      namespaces: withKind(this.namespaces, 'Namespace', 'v1'),
      zones: withKind(this.zones, 'DNSZone', `${GROUP}/${VERSION}`),
    };
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('stopped'));
    if (this.timer) clearTimeout(this.timer);
    await this.discovering?.catch(() => {});
    await Promise.all([
      this.services.informer.stop(),
      this.namespaces.informer.stop(),
      this.zones.informer.stop(),
      ...[...this.gatewayApi.values()].map((w) => w.informer.stop()),
    ]);
  }
}

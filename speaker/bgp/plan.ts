// What one node's speaker should do in BGP mode, from the API objects (pure: no I/O, no clock).
// The whole "which peers, which prefixes, with which attributes" policy lives here; the shell
// (speaker/bgp/peer.ts and its wiring) resolves Secrets and endpoint readiness into plain data,
// calls plan() on every change, and reconciles sessions and routes with the result.
//
// Rules (ADR 101):
// - A BGPPeer applies to this node when one of its nodeSelectors matches (none = every node) and
//   it has no problems (checkPeer); a peer with a passwordSecret applies only once the shell has
//   resolved the password (never fall back to an unauthenticated session). Two peers for the same
//   router (address and port) on one node: the first by name is used, the other reported.
// - A BGPAdvertisement applies to this node by its nodeSelectors (none = every node), to pools by
//   ipAddressPools / ipAddressPoolSelectors (both none = every pool; a pool matching either is in),
//   to peers by name (none = every peer applying to this node).
// - A Service's VIP is advertised by this node iff the Service is eligible here:
//   externalTrafficPolicy Cluster → always; Local → only with a ready endpoint on this node.
// - Aggregation: aggregationLength(V6) shorter than the address advertises the covering block
//   (VIP masked), only for ETP Cluster Services: an aggregate from a node without a local endpoint
//   would attract traffic it must drop, so MetalLB refuses it and so do we (a problem, and the
//   VIP is not advertised by that advertisement). An aggregate reaching outside the pool's blocks
//   (checkAggregation) disables the advertisement for that pool.
// - One route per (peer, prefix): several advertisements or Services giving the same prefix merge:
//   communities and large communities are unioned; differing localPrefs are a problem (MetalLB
//   refuses such a configuration) and the highest wins, so the outcome is deterministic.
// - Output is sorted (peers by name; routes IPv4 first, then by address and length) so equal
//   inputs give deep-equal plans and the shell can diff cheaply.
import {
  checkAdvertisement,
  checkAggregation,
  checkPeer,
  parseCommunity,
  peerTimers,
} from '../../lib/api/bgp.ts';
import { matchesSelector } from '../../lib/api/selector.ts';
import type { BGPAdvertisement, BGPPeer, IPAddressPool, LabelSelector } from '../../lib/api/types.ts';
import { DEFAULTS } from '../../lib/api/types.ts';
import { bitsOf, formatIP, parseIP } from '../../lib/net/ip.ts';
import { Afi, Safi } from './constants.ts';
import type { PeerConfig } from './negotiate.ts';
import type { Route } from './routes.ts';

export interface PlanService {
  /** "namespace/name" */
  key: string;
  /** Assigned VIPs (status.loadBalancer.ingress[].ip). */
  vips: string[];
  /** The pool the VIPs came from (portico.dev/allocated-from-pool). */
  pool: string;
  externalTrafficPolicy: 'Cluster' | 'Local';
  /** A ready (or serving) endpoint of the Service on this node. Only read for ETP Local. */
  localReadyEndpoint: boolean;
}

export interface PlanInput {
  node: { name: string; labels: Readonly<Record<string, string>> };
  peers: readonly BGPPeer[];
  advertisements: readonly BGPAdvertisement[];
  pools: readonly IPAddressPool[];
  services: readonly PlanService[];
  /** Peer name → TCP MD5 key, resolved by the shell from passwordSecret (see secretPassword). */
  passwords: ReadonlyMap<string, string>;
  /** Peer name → why its passwordSecret could not be resolved (reported, peer left out). */
  passwordErrors?: ReadonlyMap<string, string>;
  defaults: {
    /** BGP identifier when a peer has no routerID: the node's IPv4 address. */
    routerId?: string;
    /** The speaker's namespace: passwordSecrets must live there. */
    namespace?: string;
    /** Seconds a restarting speaker asks peers to keep its routes (RFC 4724). Default 120. */
    gracefulRestartTime?: number;
  };
}

export interface PeerPlan {
  /** BGPPeer name. */
  name: string;
  config: PeerConfig;
  peerAddress: string;
  peerPort: number;
  sourceAddress?: string;
  password?: string;
  ebgpMultiHop: boolean;
  /** Seconds; PeerConfig has no keepalive field (the FSM uses negotiated hold / 3). */
  keepaliveTime: number;
  /** Sorted (IPv4 first, by address, then length), one per prefix. */
  routes: Route[];
}

export interface Problem {
  /** "BGPPeer/name", "BGPAdvertisement/name" or "Service/ns/name": where the Event goes. */
  object: string;
  message: string;
}

export interface Plan {
  peers: PeerPlan[];
  problems: Problem[];
}

/** Connection retry backoff: 1 s doubling to 60 s; 60 s Established resets it. */
export const IDLE_HOLD = { initial: 1, max: 60 } as const;
export const STABLE_TIME = 60;
export const GRACEFUL_RESTART_TIME = 120;

const anySelector = (
  selectors: readonly LabelSelector[] | undefined,
  labels: Readonly<Record<string, string>>,
) => !selectors?.length || selectors.some((s) => matchesSelector(s, labels));

/** BGPPeer → PeerConfig (+ transport fields), or the problems that keep it from this node. */
export function peerPlanBase(
  peer: BGPPeer,
  input: Pick<PlanInput, 'passwords' | 'passwordErrors' | 'defaults'>,
): Omit<PeerPlan, 'routes'> | { problems: string[] } {
  const problems = checkPeer(peer, input.defaults.namespace);
  const s = peer.spec;
  const routerId = s.routerID ?? input.defaults.routerId;
  if (s.routerID === undefined) {
    const r = routerId === undefined ? undefined : parseIP(routerId);
    if (!r?.ok || r.value.family !== 4 || r.value.value === 0n) {
      problems.push('no BGP identifier: the node has no IPv4 address; set spec.routerID');
    }
  }
  let password: string | undefined;
  if (s.passwordSecret) {
    password = input.passwords.get(peer.metadata.name ?? '');
    if (password === undefined) {
      problems.push(
        input.passwordErrors?.get(peer.metadata.name ?? '') ??
          `password Secret ${s.passwordSecret.name} not resolved; no session without it`,
      );
    }
  }
  const timers = peerTimers(s);
  if (problems.length || 'problems' in timers) return { problems };
  const config: PeerConfig = {
    localAs: s.myASN,
    localId: routerId!,
    peerAs: s.peerASN ?? s.dynamicASN!,
    holdTime: timers.holdTime,
    connectRetryTime: timers.connectTime,
    passive: false,
    families: [
      { afi: Afi.IPV4, safi: Safi.UNICAST },
      { afi: Afi.IPV6, safi: Safi.UNICAST },
    ],
    routeRefresh: true,
    // Nothing is required: a router without IPv6 or route refresh is still a useful peer, and
    // 2-octet peers get AS_TRANS + AS4_PATH (routes.ts).
    required: [],
    idleHold: { ...IDLE_HOLD },
    stableTime: STABLE_TIME,
  };
  if (s.enableGracefulRestart) {
    // forwarding: the node keeps forwarding VIP traffic while the speaker restarts (the data path
    // is the kernel's). `restarting` is set by the shell on its first OPEN after a restart.
    config.gracefulRestart = {
      restartTime: input.defaults.gracefulRestartTime ?? GRACEFUL_RESTART_TIME,
      restarting: false,
      forwarding: true,
    };
  }
  const base: Omit<PeerPlan, 'routes'> = {
    name: peer.metadata.name ?? '',
    config,
    peerAddress: s.peerAddress,
    peerPort: s.peerPort ?? DEFAULTS.bgp.peerPort,
    ebgpMultiHop: s.ebgpMultiHop ?? false,
    keepaliveTime: timers.keepaliveTime,
  };
  if (s.sourceAddress !== undefined) base.sourceAddress = s.sourceAddress;
  if (password !== undefined) base.password = password;
  return base;
}

function routerKey(address: string, port: number): string {
  const r = parseIP(address);
  return `${r.ok ? `${r.value.family}:${r.value.value}` : address}|${port}`;
}

/** The VIP masked to `length` bits as "net/length", or undefined when the VIP is not an address. */
export function aggregate(vip: string, v4Length: number, v6Length: number): string | undefined {
  const r = parseIP(vip);
  if (!r.ok) return undefined;
  const bits = bitsOf(r.value.family);
  const len = r.value.family === 4 ? v4Length : v6Length;
  const hostMask = (1n << BigInt(bits - len)) - 1n;
  const net = r.value.value & ~hostMask;
  return `${formatIP({ family: r.value.family, value: net })}/${len}`;
}

interface Attrs {
  communities: Set<number>;
  large: Map<string, [number, number, number]>;
  localPref?: number;
  /** Advertisements that set localPref, for the conflict message. */
  prefs: Map<number, string>;
}

function routeKey(prefix: string): [number, bigint, number] {
  const [addr, len] = prefix.split('/');
  const r = parseIP(addr ?? '');
  return r.ok ? [r.value.family, r.value.value, Number(len)] : [9, 0n, 0];
}

function compareRoutes(a: Route, b: Route): number {
  const ka = routeKey(a.prefix);
  const kb = routeKey(b.prefix);
  if (ka[0] !== kb[0]) return ka[0] - kb[0];
  if (ka[1] !== kb[1]) return ka[1] < kb[1] ? -1 : 1;
  if (ka[2] !== kb[2]) return ka[2] - kb[2];
  return a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0;
}

const byName = <T extends { metadata: { name?: string } }>(a: T, b: T) =>
  (a.metadata.name ?? '') < (b.metadata.name ?? '')
    ? -1
    : (a.metadata.name ?? '') > (b.metadata.name ?? '')
      ? 1
      : 0;

/** The BGP plan of one node. Pure and deterministic; never throws on any object content. */
export function plan(input: PlanInput): Plan {
  const problems: Problem[] = [];
  const conflictProblems: Problem[] = [];
  const labels = input.node.labels;

  // Peers on this node.
  const peerPlans = new Map<string, Omit<PeerPlan, 'routes'>>();
  for (const peer of [...input.peers].sort(byName)) {
    if (!anySelector(peer.spec?.nodeSelectors, labels)) continue;
    const base = peerPlanBase(peer, input);
    if ('problems' in base) {
      for (const message of base.problems)
        problems.push({ object: `BGPPeer/${peer.metadata.name}`, message });
      continue;
    }
    // One session per router: a second BGPPeer for the same address and port on this node would
    // open a second connection the router treats as a collision (MetalLB rejects duplicates too).
    const endpoint = routerKey(base.peerAddress, base.peerPort);
    const first = [...peerPlans.values()].find((p) => routerKey(p.peerAddress, p.peerPort) === endpoint);
    if (first) {
      problems.push({
        object: `BGPPeer/${peer.metadata.name}`,
        message:
          `same router as BGPPeer ${first.name} (${base.peerAddress} port ${base.peerPort}) on node ` +
          `${input.node.name}: one session per router, this peer is not used here`,
      });
      continue;
    }
    peerPlans.set(base.name, base);
  }
  const allPeerNames = new Set(input.peers.map((p) => p.metadata.name ?? ''));
  const pools = new Map(input.pools.map((p) => [p.metadata.name ?? '', p]));

  // Per peer, per prefix: merged attributes.
  const routes = new Map<string, Map<string, Attrs>>();
  for (const name of peerPlans.keys()) routes.set(name, new Map());

  const servicesByPool = new Map<string, PlanService[]>();
  for (const svc of input.services) {
    const list = servicesByPool.get(svc.pool) ?? [];
    list.push(svc);
    servicesByPool.set(svc.pool, list);
  }

  for (const adv of [...input.advertisements].sort(byName)) {
    const object = `BGPAdvertisement/${adv.metadata.name}`;
    const s = adv.spec ?? {};
    if (!anySelector(s.nodeSelectors, labels)) continue;
    const own = checkAdvertisement(adv);
    if (own.length) {
      for (const message of own) problems.push({ object, message });
      continue;
    }
    for (const p of s.peers ?? []) {
      if (!allPeerNames.has(p)) problems.push({ object, message: `spec.peers: no BGPPeer named ${p}` });
    }
    for (const p of s.ipAddressPools ?? []) {
      if (!pools.has(p))
        problems.push({ object, message: `spec.ipAddressPools: no IPAddressPool named ${p}` });
    }
    const targets = [...peerPlans.keys()].filter((n) => !s.peers?.length || s.peers.includes(n));
    if (!targets.length) continue;
    const communities: number[] = [];
    const large: [number, number, number][] = [];
    for (const c of s.communities ?? []) {
      const parsed = parseCommunity(c);
      if (parsed.kind === 'standard') communities.push(parsed.value);
      else if (parsed.kind === 'large') large.push(parsed.value);
    }
    const v4Len = s.aggregationLength ?? DEFAULTS.bgp.aggregationLength;
    const v6Len = s.aggregationLengthV6 ?? DEFAULTS.bgp.aggregationLengthV6;
    const selectAll = !s.ipAddressPools?.length && !s.ipAddressPoolSelectors?.length;
    for (const pool of [...input.pools].sort(byName)) {
      const poolName = pool.metadata.name ?? '';
      const covered =
        selectAll ||
        (s.ipAddressPools ?? []).includes(poolName) ||
        (s.ipAddressPoolSelectors ?? []).some((sel) => matchesSelector(sel, pool.metadata.labels ?? {}));
      if (!covered) continue;
      const agg = checkAggregation(adv, pool);
      if (agg.length) {
        for (const message of agg) problems.push({ object, message });
        continue;
      }
      const svcs = [...(servicesByPool.get(poolName) ?? [])].sort((a, b) => (a.key < b.key ? -1 : 1));
      for (const svc of svcs) {
        if (svc.externalTrafficPolicy === 'Local' && !svc.localReadyEndpoint) continue;
        for (const vip of svc.vips) {
          const fam = parseIP(vip);
          if (!fam.ok) {
            problems.push({
              object: `Service/${svc.key}`,
              message: `VIP ${JSON.stringify(vip)} is not an IP address`,
            });
            continue;
          }
          const full = bitsOf(fam.value.family);
          const len = fam.value.family === 4 ? v4Len : v6Len;
          if (len < full && svc.externalTrafficPolicy === 'Local') {
            problems.push({
              object,
              message:
                `Service ${svc.key} (VIP ${vip}) has externalTrafficPolicy Local, which cannot be advertised ` +
                `with aggregation length /${len}: the aggregate would draw traffic to nodes without its ` +
                `endpoints; not advertised by this advertisement`,
            });
            continue;
          }
          const prefix = aggregate(vip, v4Len, v6Len)!;
          for (const peerName of targets) {
            const table = routes.get(peerName)!;
            const a: Attrs = table.get(prefix) ?? {
              communities: new Set(),
              large: new Map(),
              prefs: new Map(),
            };
            for (const c of communities) a.communities.add(c);
            for (const l of large) a.large.set(l.join(':'), l);
            if (s.localPref !== undefined) {
              // The lowest name per value, whatever order the informers delivered them in.
              const name = adv.metadata.name ?? '';
              const had = a.prefs.get(s.localPref);
              if (had === undefined || name < had) a.prefs.set(s.localPref, name);
              a.localPref = Math.max(a.localPref ?? s.localPref, s.localPref);
            }
            table.set(prefix, a);
          }
        }
      }
    }
  }

  const conflicts = new Set<string>();
  const out: PeerPlan[] = [];
  for (const [name, base] of peerPlans) {
    const list: Route[] = [];
    for (const [prefix, a] of routes.get(name)!) {
      const r: Route = { prefix };
      if (a.communities.size) r.communities = [...a.communities].sort((x, y) => x - y);
      if (a.large.size) {
        r.largeCommunities = [...a.large.values()].sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
      }
      if (a.localPref !== undefined) r.localPref = a.localPref;
      if (a.prefs.size > 1) {
        const names = [...a.prefs.entries()]
          .sort((x, y) => x[0] - y[0])
          .map(([v, n]) => `${n} (${v})`)
          .join(', ');
        const message = `prefix ${prefix}: advertisements set different localPref values: ${names}; using ${a.localPref}`;
        if (!conflicts.has(message)) {
          conflicts.add(message);
          conflictProblems.push({ object: `BGPAdvertisement/${[...a.prefs.values()].sort()[0]}`, message });
        }
      }
      list.push(r);
    }
    list.sort(compareRoutes);
    out.push({ ...base, routes: list });
  }
  // By object (stable: each object's own checks keep their order; localPref conflicts, whose order
  // follows the Services', are sorted among themselves), so any informer order gives the same Events.
  conflictProblems.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
  problems.push(...conflictProblems);
  problems.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
  return { peers: out, problems };
}

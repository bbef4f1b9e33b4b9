// Kubernetes objects → SpeakerFacts, pure. The speaker's informers hand their caches to
// projectFacts(); the engine gets plain data and never sees an API object. Everything a reviewer
// could ask "why is / isn't this VIP announced from that node?" about is decided either here
// (which Services and IPs count, which pool an IP belongs to, which nodes hold a local endpoint)
// or in speaker/election (who among the candidates owns it).
import { ANNOTATIONS } from '../../lib/api/annotations.ts';
import { type ClassConfig, servedByPortico } from '../../lib/api/service-class.ts';
import type { IPAddressPool, L2Advertisement } from '../../lib/api/types.ts';
import {
  containsIP,
  formatIP,
  type IPInterval,
  parseAddressEntry,
  parseIP as parseIPUncached,
} from '../../lib/net/index.ts';
import type { ElectionL2Advertisement, ElectionService } from '../election/elect.ts';
import type { SpeakerFacts } from '../engine.ts';

/**
 * parseIP, memoised (bounded): projectFacts parses every VIP of every Service on every cache
 * change, which with thousands of VIPs was most of a recompute (test/bench/bgp.ts, 10,000 VIPs).
 * The results are only read.
 */
const PARSE_CACHE_MAX = 1 << 16;
const parseCache = new Map<string, ReturnType<typeof parseIPUncached>>();
function parseIP(text: string): ReturnType<typeof parseIPUncached> {
  let r = parseCache.get(text);
  if (r === undefined) {
    if (parseCache.size >= PARSE_CACHE_MAX) parseCache.clear();
    r = parseIPUncached(text);
    parseCache.set(text, r);
  }
  return r;
}

/** The fields of a core/v1 Service the speaker reads (raw JSON). */
export interface ServiceLike {
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    deletionTimestamp?: unknown;
  };
  spec?: { type?: string; loadBalancerClass?: string | null; externalTrafficPolicy?: string };
  status?: {
    loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> };
    conditions?: Array<{
      type: string;
      status: string;
      reason: string;
      message: string;
      lastTransitionTime?: string;
    }>;
  };
}

export interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string>; uid?: string };
  status?: {
    conditions?: Array<{ type?: string; status?: string }>;
    addresses?: Array<{ type?: string; address?: string }>;
  };
}

export interface EndpointSliceLike {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: Array<{
    nodeName?: string;
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  }>;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function serviceKey(svc: ServiceLike): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

/** The Service's assigned VIPs: status ingress IPs, canonical, deduplicated, sorted. Hostnames ignored. */
export function ingressIPs(svc: ServiceLike): string[] {
  const out = new Set<string>();
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (typeof ing?.ip !== 'string') continue;
    const p = parseIP(ing.ip);
    if (p.ok) out.add(formatIP(p.value));
  }
  return [...out].sort(compareText);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A pool's address entries as intervals; entries that do not parse are skipped (the CRD rejects them anyway). */
export function poolIntervals(pool: Pick<IPAddressPool, 'spec'>): IPInterval[] {
  const out: IPInterval[] = [];
  for (const e of pool.spec?.addresses ?? []) {
    const p = parseAddressEntry(e);
    if (p.ok) out.push(p.value.interval);
  }
  return out;
}

export interface IndexedPool {
  name: string;
  labels: Record<string, string>;
  intervals: IPInterval[];
}

export function indexPools(pools: readonly IPAddressPool[]): IndexedPool[] {
  return pools
    .filter((p) => p.metadata?.name && !p.metadata.deletionTimestamp)
    .map((p) => ({ name: p.metadata.name!, labels: p.metadata.labels ?? {}, intervals: poolIntervals(p) }))
    .sort((a, b) => compareText(a.name, b.name));
}

/**
 * The pool an assigned IP lies in, or undefined when it lies in none (then it is never announced:
 * the speaker answers only for addresses an administrator handed to Portico). When pools overlap,
 * the pool the controller recorded (annotation) wins if it really contains the IP, else the
 * lowest name: deterministic on every speaker.
 */
export function poolOf(ip: string, pools: readonly IndexedPool[], hint?: string): string | undefined {
  const p = parseIP(ip);
  if (!p.ok) return undefined;
  const holding = pools.filter((pool) => pool.intervals.some((iv) => containsIP(iv, p.value)));
  if (holding.length === 0) return undefined;
  return (holding.find((h) => h.name === hint) ?? holding[0])!.name;
}

/**
 * Endpoint counts for externalTrafficPolicy Local when it is ready, or serving (a terminating pod
 * that still serves keeps its node eligible until it is gone, so connections drain in place).
 * `ready` absent means ready (EndpointSlice API); `serving` absent means the same as ready.
 */
export function endpointUsable(c: { ready?: boolean | null; serving?: boolean | null } | undefined): boolean {
  const ready = c?.ready ?? true;
  const serving = c?.serving ?? ready;
  return ready || serving;
}

/** Service key → nodes with a usable endpoint, from every EndpointSlice labelled with the Service. */
export function endpointNodesByService(slices: readonly EndpointSliceLike[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    const ns = s.metadata?.namespace;
    if (!svc || !ns) continue;
    const key = `${ns}/${svc}`;
    const set = out.get(key) ?? new Set<string>();
    out.set(key, set);
    for (const ep of s.endpoints ?? []) {
      if (ep?.nodeName && endpointUsable(ep.conditions ?? undefined)) set.add(ep.nodeName);
    }
  }
  return out;
}

export function nodeNetworkUnavailable(node: NodeLike): boolean {
  return (node.status?.conditions ?? []).some((c) => c?.type === 'NetworkUnavailable' && c.status === 'True');
}

/** The address peers should beat to: InternalIP first (of `family` when given), then ExternalIP. */
export function nodeHeartbeatAddress(node: NodeLike | undefined, family?: 4 | 6): string | undefined {
  const addrs = node?.status?.addresses ?? [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    for (const a of addrs) {
      if (a?.type !== type || typeof a.address !== 'string') continue;
      const p = parseIP(a.address);
      if (p.ok && (family === undefined || p.value.family === family)) return formatIP(p.value);
    }
  }
  return undefined;
}

/** The Node's own IPs (InternalIP, ExternalIP): the speaker never answers for them. Canonical, sorted. */
export function nodeIPs(node: NodeLike): string[] {
  const out = new Set<string>();
  for (const a of node.status?.addresses ?? []) {
    if ((a?.type !== 'InternalIP' && a?.type !== 'ExternalIP') || typeof a.address !== 'string') continue;
    const p = parseIP(a.address);
    if (p.ok) out.add(formatIP(p.value));
  }
  return [...out].sort(compareText);
}

export function toElectionAdvertisement(ad: L2Advertisement): ElectionL2Advertisement {
  const out: ElectionL2Advertisement = { name: ad.metadata?.name ?? '' };
  const s = ad.spec ?? {};
  if (s.ipAddressPools?.length) out.ipAddressPools = [...s.ipAddressPools];
  if (s.ipAddressPoolSelector) out.ipAddressPoolSelector = s.ipAddressPoolSelector;
  if (s.nodeSelector) out.nodeSelector = s.nodeSelector;
  if (s.interfaces?.length) out.interfaces = [...s.interfaces];
  return out;
}

export interface ProjectionInput {
  services: readonly ServiceLike[];
  pools: readonly IPAddressPool[];
  l2Advertisements: readonly L2Advertisement[];
  nodes: readonly NodeLike[];
  endpointSlices: readonly EndpointSliceLike[];
  cfg: ClassConfig & { ignoreExcludeLabel?: boolean };
}

export interface Projection {
  facts: SpeakerFacts;
  /** Handled Service key → its VIPs (sorted); Services with no ingress IP are listed with []. */
  serviceVips: Map<string, string[]>;
}

/**
 * The whole projection. Deterministic: the same caches in any order give the same facts, so every
 * speaker feeds its election identical input.
 */
export function projectFacts(input: ProjectionInput): Projection {
  const pools = indexPools(input.pools);
  const endpoints = endpointNodesByService(input.endpointSlices);
  const services = input.services
    .filter((s) => servedByPortico(s, input.cfg) && s.metadata?.name && s.metadata.namespace)
    .filter((s) => !s.metadata?.deletionTimestamp)
    .sort((a, b) => compareText(serviceKey(a), serviceKey(b)));
  const serviceVips = new Map<string, string[]>();
  const byIp = new Map<string, { pool: string | undefined; services: ElectionService[] }>();
  for (const svc of services) {
    const key = serviceKey(svc);
    const ips = ingressIPs(svc);
    serviceVips.set(key, ips);
    const hint = svc.metadata?.annotations?.[ANNOTATIONS.allocatedFromPool];
    const etp = svc.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
    const es: ElectionService = { key, externalTrafficPolicy: etp };
    if (etp === 'Local') es.endpointNodes = [...(endpoints.get(key) ?? [])].sort(compareText);
    for (const ip of ips) {
      const entry = byIp.get(ip) ?? { pool: undefined, services: [] };
      // Services sharing an IP: the first (by key) whose hint names a containing pool decides.
      entry.pool ??= poolOf(ip, pools, hint);
      entry.services.push(es);
      byIp.set(ip, entry);
    }
  }
  const nodes = input.nodes
    .filter((n) => n.metadata?.name)
    .map((n) => {
      const out: {
        name: string;
        labels: Record<string, string>;
        networkUnavailable: boolean;
        addresses?: string[];
      } = {
        name: n.metadata!.name!,
        labels: { ...(n.metadata?.labels ?? {}) },
        networkUnavailable: nodeNetworkUnavailable(n),
      };
      const addrs = nodeIPs(n);
      if (addrs.length) out.addresses = addrs;
      return out;
    })
    .sort((a, b) => compareText(a.name, b.name));
  const l2Advertisements = input.l2Advertisements
    .filter((a) => a.metadata?.name && !a.metadata.deletionTimestamp)
    .map(toElectionAdvertisement)
    .sort((a, b) => compareText(a.name, b.name));
  const facts: SpeakerFacts = {
    nodes,
    pools: pools.map((p) => ({ name: p.name, labels: p.labels })),
    l2Advertisements,
    vips: [...byIp]
      .sort(([a], [b]) => compareText(a, b))
      .map(([ip, v]) => ({ ip, pool: v.pool, services: v.services })),
  };
  if (input.cfg.ignoreExcludeLabel) facts.ignoreExcludeLabel = true;
  return { facts, serviceVips };
}

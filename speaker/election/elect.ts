import { type Selector as LabelSelector, matchesSelector } from '../../lib/api/selector.ts';
import { canonicalIP } from '../layer2/addr.ts';
import { type Link, selectInterfaces } from '../layer2/interfaces.ts';
import { rendezvousOwner } from './hash.ts';

/**
 * The whole ownership policy, pure. Every speaker runs elect() on the same inputs and gets the
 * same owner for every VIP, with no API writes and no coordination beyond liveness.
 *
 * Candidates for a VIP are the nodes that are all of:
 *   1. live: running a speaker that this speaker hears (membership view);
 *   2. selected: some L2Advertisement covers the VIP's pool (ipAddressPools / pool selectors;
 *      none = all pools) and selects the node (nodeSelectors; none = all nodes);
 *   3. not excluded: no `node.kubernetes.io/exclude-from-external-load-balancers` label (unless
 *      ignoreExcludeLabel) and no NetworkUnavailable=True condition;
 *   4. wired: has a usable interface for the VIP under those advertisements (a link that is up,
 *      not a bridge/bond port, and either listed in `interfaces` or holding the VIP's subnet);
 *   5. for every Service on the IP with externalTrafficPolicy Local: a ready or serving endpoint
 *      on the node (Services sharing an IP must all be served, so their sets intersect).
 * Owner = the candidate with the highest rendezvous score for the IP. A VIP that fails a stage
 * is not announced and carries the reason, so the wiring can report it.
 *
 * Input types are structural and minimal so this file depends on nothing but plain data.
 */

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface ElectionNode {
  name: string;
  labels?: Readonly<Record<string, string>>;
  /** Node condition NetworkUnavailable=True. */
  networkUnavailable?: boolean;
  /**
   * The node's own IPs (status.addresses InternalIP/ExternalIP). Not used by the election; the
   * engine never answers ARP/NDP for these (the kernel does).
   */
  addresses?: readonly string[];
  /**
   * The node's usable links (self: from the link scan; peers: from their heartbeat summary).
   * undefined = unknown (e.g. a peer that sent none): assumed wired, the node checks itself.
   */
  links?: readonly Link[];
}

export interface ElectionPool {
  name: string;
  labels?: Readonly<Record<string, string>>;
}

export interface ElectionL2Advertisement {
  name: string;
  ipAddressPools?: readonly string[];
  ipAddressPoolSelectors?: readonly LabelSelector[];
  /** Singular form (DESIGN.md spelling); combined with the plural one. */
  ipAddressPoolSelector?: LabelSelector;
  nodeSelectors?: readonly LabelSelector[];
  nodeSelector?: LabelSelector;
  interfaces?: readonly string[];
}

export interface ElectionService {
  /** "namespace/name", for reasons and logs. */
  key: string;
  externalTrafficPolicy?: 'Cluster' | 'Local' | string;
  /** Nodes with at least one ready or serving endpoint (only used for Local). */
  endpointNodes?: Iterable<string>;
}

export interface ElectionVip {
  ip: string;
  /** Pool the IP was allocated from; undefined = not from any pool → never announced. */
  pool: string | undefined;
  services: readonly ElectionService[];
}

export interface ElectionInput {
  nodes: readonly ElectionNode[];
  /** Nodes with a live speaker (the membership view, self included). */
  liveNodes: Iterable<string>;
  pools: readonly ElectionPool[];
  l2Advertisements: readonly ElectionL2Advertisement[];
  vips: readonly ElectionVip[];
  ignoreExcludeLabel?: boolean;
  /** The node running this election: decisions then carry `selfInterfaces` when it is a candidate. */
  self?: string;
}

export type NotAnnouncedReason =
  | 'invalid-ip'
  | 'no-pool'
  | 'no-l2advertisement'
  | 'no-live-node'
  | 'no-node-selected'
  | 'nodes-excluded'
  | 'no-usable-interface'
  | 'no-local-endpoint';

export type VipDecision =
  | {
      ip: string;
      owner: string;
      /** All candidates, sorted by name. */
      candidates: string[];
      /** Interfaces the owner announces on (from its link list; [] when unknown). */
      interfaces: string[];
      /** Interfaces `input.self` would announce on, when it is a candidate. */
      selfInterfaces?: string[];
      services: string[];
    }
  | { ip: string; owner: undefined; reason: NotAnnouncedReason; message: string; services: string[] };

function selectorsOf(
  one: LabelSelector | undefined,
  many: readonly LabelSelector[] | undefined,
): LabelSelector[] {
  return [...(many ?? []), ...(one ? [one] : [])];
}

export function advertisementCoversPool(ad: ElectionL2Advertisement, pool: ElectionPool): boolean {
  const names = ad.ipAddressPools ?? [];
  const selectors = selectorsOf(ad.ipAddressPoolSelector, ad.ipAddressPoolSelectors);
  if (names.length === 0 && selectors.length === 0) return true;
  return names.includes(pool.name) || selectors.some((s) => matchesSelector(s, pool.labels));
}

export function advertisementSelectsNode(ad: ElectionL2Advertisement, node: ElectionNode): boolean {
  const selectors = selectorsOf(ad.nodeSelector, ad.nodeSelectors);
  return selectors.length === 0 || selectors.some((s) => matchesSelector(s, node.labels));
}

export function isExcluded(node: ElectionNode, ignoreExcludeLabel = false): boolean {
  if (node.networkUnavailable) return true;
  return !ignoreExcludeLabel && node.labels !== undefined && Object.hasOwn(node.labels, EXCLUDE_LABEL);
}

/**
 * Interfaces `node` would announce `ip` on under the advertisements that select it: the union
 * over advertisements (listed interfaces, or the subnet's interface when none are listed).
 * undefined when the node's links are unknown.
 */
export function interfacesFor(
  ip: string,
  node: ElectionNode,
  ads: readonly ElectionL2Advertisement[],
): string[] | undefined {
  if (!node.links) return undefined;
  const out = new Set<string>();
  for (const ad of ads) {
    for (const name of selectInterfaces(ip, node.links, ad.interfaces).interfaces) out.add(name);
  }
  return [...out].sort();
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function elect(input: ElectionInput): Map<string, VipDecision> {
  const live = new Set(input.liveNodes);
  const pools = new Map(input.pools.map((p) => [p.name, p]));
  const nodes = [...input.nodes].sort((a, b) => byName(a.name, b.name));
  const out = new Map<string, VipDecision>();
  // Services sharing an IP are one decision: group first (the caller may list them apart).
  const byIp = new Map<string, { pool: string | undefined; services: ElectionService[]; raw: string }>();
  for (const v of input.vips) {
    const ip = canonicalIP(v.ip) ?? v.ip;
    const entry = byIp.get(ip) ?? { pool: v.pool, services: [], raw: v.ip };
    entry.pool ??= v.pool;
    entry.services.push(...v.services);
    byIp.set(ip, entry);
  }
  for (const [ip, v] of byIp) {
    const services = [...new Set(v.services.map((s) => s.key))].sort();
    const no = (reason: NotAnnouncedReason, message: string): void => {
      out.set(ip, { ip, owner: undefined, reason, message, services });
    };
    if (canonicalIP(v.raw) === undefined) {
      no('invalid-ip', `${v.raw} is not an IP address`);
      continue;
    }
    const pool = v.pool === undefined ? undefined : pools.get(v.pool);
    if (!pool) {
      no(
        'no-pool',
        v.pool === undefined ? `${ip} was not allocated from a pool` : `pool ${v.pool} does not exist`,
      );
      continue;
    }
    const ads = input.l2Advertisements.filter((a) => advertisementCoversPool(a, pool));
    if (ads.length === 0) {
      no('no-l2advertisement', `no L2Advertisement covers pool ${pool.name}`);
      continue;
    }
    let cands = nodes.filter((n) => live.has(n.name));
    if (cands.length === 0) {
      no('no-live-node', 'no node with a live speaker');
      continue;
    }
    const adsFor = new Map<string, ElectionL2Advertisement[]>();
    cands = cands.filter((n) => {
      const selecting = ads.filter((a) => advertisementSelectsNode(a, n));
      adsFor.set(n.name, selecting);
      return selecting.length > 0;
    });
    if (cands.length === 0) {
      no('no-node-selected', `the L2Advertisements for pool ${pool.name} select no live node`);
      continue;
    }
    cands = cands.filter((n) => !isExcluded(n, input.ignoreExcludeLabel));
    if (cands.length === 0) {
      no('nodes-excluded', 'every selected node is excluded (exclude label or NetworkUnavailable)');
      continue;
    }
    const ifaces = new Map<string, string[] | undefined>();
    cands = cands.filter((n) => {
      const list = interfacesFor(ip, n, adsFor.get(n.name)!);
      ifaces.set(n.name, list);
      return list === undefined || list.length > 0;
    });
    if (cands.length === 0) {
      no('no-usable-interface', `no selected node has a usable interface for ${ip}`);
      continue;
    }
    const local = v.services.filter((s) => s.externalTrafficPolicy === 'Local');
    for (const s of local) {
      const ready = new Set(s.endpointNodes ?? []);
      cands = cands.filter((n) => ready.has(n.name));
    }
    if (cands.length === 0) {
      no(
        'no-local-endpoint',
        `externalTrafficPolicy Local: no eligible node has a ready endpoint of ${local.map((s) => s.key).join(' and ')}`,
      );
      continue;
    }
    const names = cands.map((n) => n.name);
    const owner = rendezvousOwner(names, ip)!;
    const decision: VipDecision = {
      ip,
      owner,
      candidates: names,
      interfaces: ifaces.get(owner) ?? [],
      services,
    };
    if (input.self !== undefined && names.includes(input.self))
      decision.selfInterfaces = ifaces.get(input.self) ?? [];
    out.set(ip, decision);
  }
  return out;
}

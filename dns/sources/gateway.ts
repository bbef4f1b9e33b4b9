// Gateway API → claims. A route hostname is published only through a Gateway (directly, or through
// one of its Accepted ListenerSets) that
//  1. the route names in spec.parentRefs,
//  2. has Accepted the route for exactly that parentRef (route status.parents[], matched by
//     group/kind/namespace/name/sectionName/port, whatever the controllerName), and
//  3. has a listener that the parentRef selects (sectionName, port), that admits the route
//     (allowedRoutes namespaces and kinds) and whose hostname intersects the route's.
// The names point at the Gateway's status.addresses. Why only Accepted routes, and the hostname
// rules: docs/decisions/047-route-listener-hostnames.md.

import { matchesSelector } from '../../lib/api/selector.ts';
import { addressRecords, type Claim } from './claims.ts';
import { normalizeHostname, publishedNames } from './hostname.ts';
import {
  type ConditionLike,
  GATEWAY_GROUP,
  type Gateway,
  keyOf,
  type Listener,
  type ListenerSet,
  type Namespace,
  type ParentRef,
  type Route,
} from './types.ts';

interface NormalRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName: string | undefined;
  port: number | undefined;
}

/** A parentRef with the API defaults filled in (group, kind, the route's namespace). */
export function normalizeParentRef(p: ParentRef, routeNamespace: string): NormalRef {
  return {
    group: p.group === undefined || p.group === '' ? GATEWAY_GROUP : p.group,
    kind: p.kind ?? 'Gateway',
    namespace: p.namespace ?? routeNamespace,
    name: p.name ?? '',
    sectionName: p.sectionName === '' ? undefined : p.sectionName,
    port: p.port,
  };
}

export function sameParentRef(a: NormalRef, b: NormalRef): boolean {
  return (
    a.group === b.group &&
    a.kind === b.kind &&
    a.namespace === b.namespace &&
    a.name === b.name &&
    a.sectionName === b.sectionName &&
    a.port === b.port
  );
}

function isTrue(conditions: readonly ConditionLike[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** The route's status says Accepted=True for this parentRef (any controller). */
export function acceptedBy(route: Route, ref: NormalRef): boolean {
  const ns = route.metadata?.namespace ?? '';
  return (route.status?.parents ?? []).some(
    (s) =>
      s.parentRef !== undefined &&
      sameParentRef(normalizeParentRef(s.parentRef, ns), ref) &&
      isTrue(s.conditions, 'Accepted'),
  );
}

/**
 * Route kinds a listener admits when allowedRoutes.kinds is empty: the Gateway API defaults per
 * protocol. `undefined` = an implementation-specific protocol: we cannot know, so we defer to the
 * route's Accepted status.
 */
function defaultKinds(protocol: string | undefined): readonly string[] | undefined {
  switch (protocol) {
    case 'HTTP':
    case 'HTTPS':
      return ['HTTPRoute', 'GRPCRoute'];
    case 'TLS':
      return ['TLSRoute'];
    case 'TCP':
    case 'UDP':
      return [];
    default:
      return undefined;
  }
}

export function listenerAdmits(
  listener: Listener,
  gatewayNamespace: string,
  route: Route,
  namespaceLabels: (ns: string) => Record<string, string> | undefined,
): boolean {
  const routeNs = route.metadata?.namespace ?? '';
  const from = listener.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'Same') {
    if (routeNs !== gatewayNamespace) return false;
  } else if (from === 'Selector') {
    const sel = listener.allowedRoutes?.namespaces?.selector;
    const labels = namespaceLabels(routeNs);
    if (!sel || labels === undefined || !matchesSelector(sel, labels)) return false;
  } else if (from !== 'All') return false;
  const kinds = listener.allowedRoutes?.kinds ?? [];
  if (kinds.length > 0) {
    return kinds.some(
      (k) =>
        (k.group === undefined || k.group === '' ? GATEWAY_GROUP : k.group) === GATEWAY_GROUP &&
        k.kind === route.kind,
    );
  }
  const d = defaultKinds(listener.protocol);
  return d === undefined || d.includes(route.kind ?? '');
}

/** The parent's own status (Gateway or ListenerSet) marks the listener as not Accepted (e.g. a hostname conflict). */
function listenerRejected(
  statuses: ReadonlyArray<{ name?: string; conditions?: ConditionLike[] }> | undefined,
  listener: Listener,
): boolean {
  const st = statuses?.find((l) => l.name === listener.name);
  return (st?.conditions ?? []).some((c) => c.type === 'Accepted' && c.status === 'False');
}

export interface GatewayProjection {
  claims: Claim[];
  /** Per object key (`Gateway ns/name`, `HTTPRoute ns/name`): problems worth a log line. */
  problems: Array<{ object: string; message: string }>;
}

/** Every name every Accepted route publishes, through every Gateway that has addresses. */
export function gatewayClaims(
  gateways: readonly Gateway[],
  routes: readonly Route[],
  namespaces: readonly Namespace[],
  listenerSets: readonly ListenerSet[] = [],
): GatewayProjection {
  const problems: GatewayProjection['problems'] = [];
  const nsLabels = new Map<string, Record<string, string>>();
  for (const n of namespaces) if (n.metadata?.name) nsLabels.set(n.metadata.name, n.metadata.labels ?? {});
  const byKey = new Map<string, Gateway>();
  for (const g of gateways) byKey.set(keyOf(g), g);
  const addrCache = new Map<string, ReturnType<typeof addressRecords>>();
  const addressesOf = (gw: Gateway) => {
    const k = keyOf(gw);
    let a = addrCache.get(k);
    if (!a) {
      const ips: string[] = [];
      const hosts: string[] = [];
      for (const ad of gw.status?.addresses ?? []) {
        if (typeof ad.value !== 'string') continue;
        const t = ad.type ?? 'IPAddress';
        if (t === 'IPAddress') ips.push(ad.value);
        else if (t === 'Hostname') hosts.push(ad.value);
        // Other (domain-prefixed) address types are implementation-specific: not DNS data.
      }
      a = addressRecords(ips, hosts);
      for (const p of a.problems) problems.push({ object: `Gateway ${k}`, message: p });
      addrCache.set(k, a);
    }
    return a;
  };

  const lsByKey = new Map<string, ListenerSet>();
  for (const ls of listenerSets) lsByKey.set(keyOf(ls), ls);
  /** The listeners a parentRef can reach, and the Gateway whose addresses they serve. */
  const resolveParent = (
    ref: NormalRef,
  ):
    | { via: string; gwKey: string; listeners: Listener[]; rejected: (l: Listener) => boolean }
    | undefined => {
    const key = `${ref.namespace}/${ref.name}`;
    if (ref.kind === 'Gateway') {
      const gw = byKey.get(key);
      if (!gw) return undefined;
      return {
        via: `Gateway ${key}`,
        gwKey: key,
        listeners: gw.spec?.listeners ?? [],
        rejected: (l) => listenerRejected(gw.status?.listeners, l),
      };
    }
    // A ListenerSet counts once its Gateway accepted it (the implementation checked the Gateway's
    // allowedListeners); its listeners serve at the parent Gateway's addresses.
    const ls = lsByKey.get(key);
    if (!ls || !isTrue(ls.status?.conditions, 'Accepted')) return undefined;
    const pr = ls.spec?.parentRef;
    if (!pr?.name) return undefined;
    const gref = normalizeParentRef({ ...pr, sectionName: undefined, port: undefined }, ref.namespace);
    if (gref.group !== GATEWAY_GROUP || gref.kind !== 'Gateway') return undefined;
    const gwKey = `${gref.namespace}/${gref.name}`;
    if (!byKey.has(gwKey)) return undefined;
    return {
      via: `ListenerSet ${key} of Gateway ${gwKey}`,
      gwKey,
      listeners: ls.spec?.listeners ?? [],
      rejected: (l) => listenerRejected(ls.status?.listeners, l),
    };
  };

  const claims: Claim[] = [];
  for (const route of routes) {
    const routeNs = route.metadata?.namespace ?? '';
    const routeKey = `${route.kind ?? 'Route'} ${keyOf(route)}`;
    const hostnames: string[] = [];
    for (const h of route.spec?.hostnames ?? []) {
      const n = normalizeHostname(h);
      if (n === undefined) problems.push({ object: routeKey, message: `hostname "${h}" is not a host name` });
      else hostnames.push(n);
    }
    if ((route.spec?.hostnames ?? []).length > 0 && hostnames.length === 0) continue;
    // Names per parent (a Gateway, or a ListenerSet of one): one route may reach it through several
    // parentRefs/listeners.
    const perParent = new Map<string, { gwKey: string; names: Set<string> }>();
    for (const p of route.spec?.parentRefs ?? []) {
      const ref = normalizeParentRef(p, routeNs);
      if (ref.group !== GATEWAY_GROUP || (ref.kind !== 'Gateway' && ref.kind !== 'ListenerSet')) continue;
      if (!acceptedBy(route, ref)) continue;
      const parent = resolveParent(ref);
      if (!parent) continue;
      for (const l of parent.listeners) {
        if (ref.sectionName !== undefined && l.name !== ref.sectionName) continue;
        if (ref.port !== undefined && l.port !== ref.port) continue;
        if (parent.rejected(l)) continue;
        if (!listenerAdmits(l, ref.namespace, route, (ns) => nsLabels.get(ns))) continue;
        let lh: string | undefined;
        if (l.hostname !== undefined && l.hostname !== '') {
          lh = normalizeHostname(l.hostname);
          if (lh === undefined) continue; // an unusable listener hostname never means "any name"
        }
        const names = publishedNames(lh, hostnames);
        if (names.length === 0) continue;
        let entry = perParent.get(parent.via);
        if (!entry) {
          entry = { gwKey: parent.gwKey, names: new Set() };
          perParent.set(parent.via, entry);
        }
        for (const n of names) entry.names.add(n);
      }
    }
    for (const [via, { gwKey, names }] of perParent) {
      const gw = byKey.get(gwKey)!;
      const addr = addressesOf(gw);
      if (addr.records.length === 0) continue;
      for (const name of [...names].sort()) {
        claims.push({
          name,
          records: addr.records,
          source: `${routeKey} via ${via}`,
          origin: {
            kind: 'gateway',
            gatewayNamespace: gw.metadata?.namespace ?? '',
            gatewayClassName: gw.spec?.gatewayClassName ?? '',
            gatewayLabels: gw.metadata?.labels ?? {},
            routeNamespace: routeNs,
          },
        });
      }
    }
  }
  return { claims, problems };
}

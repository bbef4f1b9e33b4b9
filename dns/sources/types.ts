// The slices of Kubernetes objects the DNS sources read, as plain JSON (what informers deliver).
// Only the fields the projection uses are typed; everything is optional because the projection must
// survive half-written objects (a Gateway before its implementation filled status, a Service
// without ingress) without throwing.

import type { DNSZone, LabelSelector } from '../../lib/api/types.ts';

export type { DNSZone, LabelSelector };

export interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
}

export interface ConditionLike {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

// --- Gateway API (gateway.networking.k8s.io, any served version: the fields used are identical
// in v1, v1beta1, v1alpha2 and v1alpha3).

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface RouteGroupKind {
  group?: string;
  kind?: string;
}

export interface Listener {
  name?: string;
  hostname?: string;
  port?: number;
  protocol?: string;
  allowedRoutes?: {
    namespaces?: { from?: string; selector?: LabelSelector };
    kinds?: RouteGroupKind[];
  };
}

export interface GatewayAddress {
  /** Default IPAddress. */
  type?: string;
  value?: string;
}

export interface Gateway extends Obj {
  spec?: { gatewayClassName?: string; listeners?: Listener[] };
  status?: {
    addresses?: GatewayAddress[];
    listeners?: Array<{ name?: string; conditions?: ConditionLike[] }>;
  };
}

/** ListenerSet: extra listeners for a Gateway, owned by another team (GEP-1713, standard in v1.5). */
export interface ListenerSet extends Obj {
  spec?: {
    parentRef?: { group?: string; kind?: string; namespace?: string; name?: string };
    listeners?: Listener[];
  };
  status?: {
    conditions?: ConditionLike[];
    listeners?: Array<{ name?: string; conditions?: ConditionLike[] }>;
  };
}

export interface ParentRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef?: ParentRef;
  controllerName?: string;
  conditions?: ConditionLike[];
}

/** HTTPRoute, GRPCRoute and TLSRoute share this shape. `kind` tells them apart. */
export interface Route extends Obj {
  spec?: { parentRefs?: ParentRef[]; hostnames?: string[] };
  status?: { parents?: RouteParentStatus[] };
}

export const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute', 'TLSRoute'] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

// --- core/v1

export interface Service extends Obj {
  spec?: { type?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
}

export interface Namespace extends Obj {}

/** Everything the projection looks at: the informers' caches, listed. */
export interface ClusterState {
  gateways: readonly Gateway[];
  /** Absent when the ListenerSet CRD is not installed. */
  listenerSets?: readonly ListenerSet[];
  /** Routes of every installed kind; each carries its `kind`. */
  routes: readonly Route[];
  services: readonly Service[];
  namespaces: readonly Namespace[];
  zones: readonly DNSZone[];
}

/** `namespace/name` (or `name` for cluster-scoped objects). */
export function keyOf(o: Obj): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

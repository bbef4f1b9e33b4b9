// Object builders for the dns/sources table tests: the smallest objects the API would accept,
// with the status a Gateway implementation / LB controller would have written.

import type {
  ClusterState,
  Gateway,
  GatewayAddress,
  Listener,
  Namespace,
  ParentRef,
  Route,
  Service,
} from '../../../dns/sources/types.ts';
import type { DNSZone, DNSZoneSpec } from '../../../lib/api/types.ts';

export const GW = 'gateway.networking.k8s.io';

export function gateway(
  ns: string,
  name: string,
  listeners: Listener[],
  addresses: GatewayAddress[] = [{ type: 'IPAddress', value: '192.0.2.1' }],
  extra: { className?: string; labels?: Record<string, string>; listenerStatus?: Gateway['status'] } = {},
): Gateway {
  return {
    apiVersion: `${GW}/v1`,
    kind: 'Gateway',
    metadata: { namespace: ns, name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: { gatewayClassName: extra.className ?? 'cls', listeners },
    status: { addresses, ...(extra.listenerStatus ?? {}) },
  };
}

export function http(name: string, hostname?: string, more: Partial<Listener> = {}): Listener {
  return { name, port: 80, protocol: 'HTTP', ...(hostname !== undefined ? { hostname } : {}), ...more };
}

export interface RouteOpts {
  kind?: 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';
  /** parentRefs whose status says Accepted=True (default: all of spec.parentRefs). */
  accepted?: ParentRef[];
  /** parentRefs whose status says Accepted=False. */
  rejected?: ParentRef[];
  controllerName?: string;
}

export function route(
  ns: string,
  name: string,
  parentRefs: ParentRef[],
  hostnames: string[],
  o: RouteOpts = {},
): Route {
  const cond = (ok: boolean) => [
    { type: 'Accepted', status: ok ? 'True' : 'False', reason: ok ? 'Accepted' : 'NotAllowed' },
  ];
  return {
    apiVersion: `${GW}/v1`,
    kind: o.kind ?? 'HTTPRoute',
    metadata: { namespace: ns, name, generation: 1 },
    spec: { parentRefs, hostnames },
    status: {
      parents: [
        ...(o.accepted ?? parentRefs).map((p) => ({
          parentRef: p,
          controllerName: o.controllerName ?? 'example.com/gw',
          conditions: cond(true),
        })),
        ...(o.rejected ?? []).map((p) => ({
          parentRef: p,
          controllerName: 'example.com/gw',
          conditions: cond(false),
        })),
      ],
    },
  };
}

export function service(
  ns: string,
  name: string,
  annotations: Record<string, string>,
  ingress: Array<{ ip?: string; hostname?: string }>,
  type = 'LoadBalancer',
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: ns, name, annotations },
    spec: { type },
    status: { loadBalancer: { ingress } },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function dnsZone(name: string, spec: DNSZoneSpec, created = '2026-01-01T00:00:00Z'): DNSZone {
  return {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'DNSZone',
    metadata: { name, generation: 3, creationTimestamp: created as unknown as Date },
    spec,
  };
}

export function state(p: Partial<ClusterState>): ClusterState {
  return { gateways: [], routes: [], services: [], namespaces: [], zones: [], ...p };
}

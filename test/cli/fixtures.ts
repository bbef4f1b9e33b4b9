// Objects as the components write them. Conditions come from the components' own pure functions
// (speaker/kube/status.ts announcedCondition, controllers/service-state.ts desiredState,
// controllers/pool-state.ts poolStatusIntent), so a change in what they write breaks these tests
// instead of leaving the CLI parsing a format nobody writes any more.
import type { FailureReason, PoolReport } from '../../controllers/ipam/index.ts';
import { poolStatusIntent } from '../../controllers/pool-state.ts';
import { desiredState, ingressOf, type ServiceObject } from '../../controllers/service-state.ts';
import { sessionStateBody, sessionStateStatusBody } from '../../lib/api/bgp.ts';
import type {
  BGPAdvertisement,
  BGPPeer,
  BGPSessionState,
  DNSZone,
  IPAddressPool,
} from '../../lib/api/types.ts';
import type { PeerStatus } from '../../speaker/bgp/peer.ts';
import type { VipDecision } from '../../speaker/election/elect.ts';
import { sessionStateStatus } from '../../speaker/kube/bgp-project.ts';
import { type LeaseLike, leaseBody } from '../../speaker/kube/peers.ts';
import { announcedCondition } from '../../speaker/kube/status.ts';

export const NOW = Date.parse('2026-12-03T12:00:00Z');
export const iso = (msAgo: number): string => new Date(NOW - msAgo).toISOString();
export const CLASSES = { lbClass: 'portico.dev/lb', handleUnclassed: true };

export function pool(
  name: string,
  addresses: string[],
  report: Partial<PoolReport> | null = {},
  spec: Partial<IPAddressPool['spec']> = {},
): IPAddressPool {
  const p: IPAddressPool = {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'IPAddressPool',
    metadata: { name, generation: 1 },
    spec: { addresses, ...spec },
  };
  if (report !== null) {
    const full: PoolReport = {
      name,
      valid: true,
      errors: [],
      warnings: [],
      overlaps: [],
      IPv4: { total: 11n, assigned: 1n, available: 10n },
      IPv6: null,
      outOfPool: 0,
      ...report,
    };
    const intent = poolStatusIntent(full, 1);
    p.status = {
      ...intent,
      conditions: intent.conditions.map((c) => ({ ...c, lastTransitionTime: iso(3_600_000) })),
    };
  }
  return p;
}

export interface SvcOpts {
  ns?: string;
  type?: string;
  cls?: string;
  ips?: string[];
  pool?: string | null;
  annotations?: Record<string, string>;
  /** The controller's verdict: ok, or a failure reason + message. */
  alloc?: { ok: true } | { ok: false; reason: FailureReason; message: string } | null;
  /** The speakers' verdict per IP (undefined = no Announced condition). */
  decisions?: Record<string, VipDecision>;
  announcedSince?: string;
  etp?: string;
  generation?: number;
  observedGeneration?: number;
  uid?: string;
}

export function decisionOwned(ip: string, owner: string, ifs = ['eth0']): VipDecision {
  return { ip, owner, candidates: [owner], interfaces: ifs, services: [] };
}
export function decisionNot(
  ip: string,
  reason: Extract<VipDecision, { owner: undefined }>['reason'],
  message: string,
): VipDecision {
  return { ip, owner: undefined, reason, message, services: [] };
}

export function svc(name: string, o: SvcOpts = {}): ServiceObject {
  const ips = o.ips ?? [];
  const conditions: NonNullable<NonNullable<ServiceObject['status']>['conditions']> = [];
  const annotations: Record<string, string> = { ...(o.annotations ?? {}) };
  if (o.alloc !== null && o.alloc !== undefined) {
    const res = o.alloc.ok
      ? { ok: true as const, ips, pool: o.pool ?? null, released: [], changed: true }
      : { ...o.alloc, ips, pool: o.pool ?? null };
    const want = desiredState(res, o.observedGeneration ?? o.generation ?? 1);
    conditions.push({ ...want.condition, lastTransitionTime: iso(600_000) });
    if (want.pool) annotations['portico.dev/allocated-from-pool'] = want.pool;
  }
  if (o.decisions) {
    const c = announcedCondition(ips, new Map(Object.entries(o.decisions)));
    if (c) conditions.push({ ...c, lastTransitionTime: o.announcedSince ?? iso(300_000) });
  }
  const s: ServiceObject = {
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: o.uid ?? `uid-${name}`,
      generation: o.generation ?? 1,
      annotations,
    },
    spec: {
      type: o.type ?? 'LoadBalancer',
      ...(o.cls !== undefined ? { loadBalancerClass: o.cls } : {}),
      ...(o.etp ? { externalTrafficPolicy: o.etp } : {}),
      ports: [{ port: 80, protocol: 'TCP' }],
    },
    status: { loadBalancer: { ingress: ingressOf(ips) }, conditions },
  };
  return s;
}

/** A speaker Lease as the speaker applies it, renewed `msAgo`. */
export function speakerLease(node: string, address: string, msAgo: number, ns = 'portico-system'): LeaseLike {
  return leaseBody({ node, namespace: ns, address, durationMs: 60_000, now: NOW - msAgo }) as LeaseLike;
}

export function controllerLease(holder: string, msAgo: number, ns = 'portico-system'): LeaseLike {
  return {
    metadata: { name: 'portico-controller', namespace: ns },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      renewTime: new Date(NOW - msAgo).toISOString(),
    },
  };
}

export function node(name: string, ready = 'True', labels: Record<string, string> = {}) {
  return { metadata: { name, labels }, status: { conditions: [{ type: 'Ready', status: ready }] } };
}

export function zone(name: string, apex: string, status?: DNSZone['status']): DNSZone {
  return {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'DNSZone',
    metadata: { name },
    spec: { zone: apex },
    ...(status ? { status } : {}),
  };
}

// ---- BGP mode: objects as the speaker writes them (lib/api/bgp.ts bodies, speaker/kube/bgp-project.ts status).

export function bgpPeer(name: string, peerAddress: string, spec: Partial<BGPPeer['spec']> = {}): BGPPeer {
  return {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'BGPPeer',
    metadata: { name, uid: `uid-${name}` },
    spec: { myASN: 64512, peerASN: 64500, peerAddress, ...spec },
  };
}

export function bgpAdv(name: string, spec: BGPAdvertisement['spec'] = {}): BGPAdvertisement {
  return { apiVersion: 'portico.dev/v1alpha1', kind: 'BGPAdvertisement', metadata: { name }, spec };
}

/** A BGPSessionState as node `node`'s speaker applies it: the object, then its /status. */
export function bgpSession(
  node: string,
  peer: string,
  peerAddress: string,
  s: Partial<PeerStatus> & { state: PeerStatus['state'] },
  transitionMsAgo = 3_600_000,
): BGPSessionState {
  const obj = sessionStateBody({ name: node, uid: `uid-${node}` }, { name: peer, uid: `uid-${peer}` });
  const status = sessionStateStatus(
    node,
    peer,
    peerAddress,
    { prefixesSent: 0, updatesSent: 0, notificationsReceived: 0, ...s },
    NOW - transitionMsAgo,
  );
  return { ...obj, status: sessionStateStatusBody(obj.metadata.name ?? '', status).status! };
}

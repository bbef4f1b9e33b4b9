/**
 * API group, version, kinds and resource names of Portico's custom resources. Every component and
 * the CRD generator read these constants, so a rename happens in exactly one place.
 */

export const GROUP = 'portico.dev';
export const VERSION = 'v1alpha1';
/** `apiVersion` field value of every Portico object. */
export const API_VERSION = `${GROUP}/${VERSION}`;

export const KINDS = {
  IPAddressPool: 'IPAddressPool',
  L2Advertisement: 'L2Advertisement',
  DNSZone: 'DNSZone',
  BGPPeer: 'BGPPeer',
  BGPAdvertisement: 'BGPAdvertisement',
  BGPSessionState: 'BGPSessionState',
} as const;
export type PorticoKind = (typeof KINDS)[keyof typeof KINDS];

/** Resource names as used in URLs (`/apis/portico.dev/v1alpha1/<plural>`) and RBAC rules. */
export const PLURALS = {
  IPAddressPool: 'ipaddresspools',
  L2Advertisement: 'l2advertisements',
  DNSZone: 'dnszones',
  BGPPeer: 'bgppeers',
  BGPAdvertisement: 'bgpadvertisements',
  BGPSessionState: 'bgpsessionstates',
} as const satisfies Record<PorticoKind, string>;

export const SINGULARS = {
  IPAddressPool: 'ipaddresspool',
  L2Advertisement: 'l2advertisement',
  DNSZone: 'dnszone',
  BGPPeer: 'bgppeer',
  BGPAdvertisement: 'bgpadvertisement',
  BGPSessionState: 'bgpsessionstate',
} as const satisfies Record<PorticoKind, string>;

/**
 * `kubectl get ipp` etc. kubectl resolves short names across every API group: a resource's plural
 * or singular anywhere in the cluster wins over a short name, and two equal short names are
 * ambiguous (kubectl warns and picks by group priority). So not `ippool`: it is the singular of
 * Calico's IPPool and a short name of Cilium's CiliumLoadBalancerIPPool; not `ip` (core
 * networking.k8s.io IPAddress). test/lib/api/crds.test.ts checks them against the built-in short
 * names and the names of the peers' resources.
 */
export const SHORT_NAMES = {
  IPAddressPool: ['ipp'],
  L2Advertisement: ['l2adv'],
  DNSZone: ['dnsz'],
  BGPPeer: ['bgpp'],
  BGPAdvertisement: ['bgpadv'],
  BGPSessionState: ['bgpss'],
} as const satisfies Record<PorticoKind, readonly string[]>;

/** `kubectl get portico` lists every Portico object. */
export const CATEGORY = 'portico';

/**
 * Every kind is cluster-scoped: pools, zones, BGP peers and advertisements are infrastructure, like
 * IngressClass; a BGPSessionState belongs to a Node and a BGPPeer, both cluster-scoped, and is
 * garbage-collected with them (ADR 101).
 */
export const SCOPE = 'Cluster';

/** CRD object name, e.g. `ipaddresspools.portico.dev`. */
export function crdName(kind: PorticoKind): string {
  return `${PLURALS[kind]}.${GROUP}`;
}

/** `spec.loadBalancerClass` value Portico handles (and, unless disabled, Services with no class). */
export const LOAD_BALANCER_CLASS = 'portico.dev/lb';

/**
 * Server-side-apply field managers. Each writer owns its own fields (e.g. its own Service
 * condition), so two components never clobber each other's writes.
 */
export const FIELD_MANAGERS = {
  controller: 'portico-controller',
  speaker: 'portico-speaker',
  dns: 'portico-dns',
} as const;

/**
 * The controller's field manager for its Service writes (status, annotation). One per class: an
 * apply removes what its manager owned and left out, so two controllers of different classes
 * sharing a manager would each clear the other's Services (the "clean up a Service we no longer
 * serve" apply). The default class keeps the plain name, so upgrades own the same fields.
 */
export function controllerFieldManager(lbClass: string): string {
  if (lbClass === LOAD_BALANCER_CLASS) return FIELD_MANAGERS.controller;
  return `${FIELD_MANAGERS.controller}:${lbClass}`.slice(0, 128);
}

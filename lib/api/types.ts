/**
 * TypeScript shapes of Portico's custom resources, as they travel over the wire (plain JSON).
 *
 * The OpenAPI schemas in lib/api/crds/schemas.ts describe the same shapes for the apiserver; the
 * unit test test/lib/api/schemas.test.ts keeps the two in step with sample objects.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ConditionStatus } from './conditions.ts';

/**
 * metav1.ObjectMeta. Reused from client-node so our objects fit its `KubernetesObject` helpers.
 * Caveat: custom objects arrive as raw JSON, so `creationTimestamp` is really an RFC 3339 string at
 * runtime even though client-node types it as Date.
 */
export type ObjectMeta = V1ObjectMeta;

/** metav1.LabelSelector (raw JSON form). An empty selector `{}` selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /** Non-empty for In/NotIn, empty or absent for Exists/DoesNotExist (enforced by the CRD). */
  values?: string[];
}

/** metav1.Condition (raw JSON form: `lastTransitionTime` is an RFC 3339 string). */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

// =============================================================================================
// IPAddressPool

export interface IPAddressPool {
  apiVersion: 'portico.dev/v1alpha1';
  kind: 'IPAddressPool';
  metadata: ObjectMeta;
  spec: IPAddressPoolSpec;
  status?: IPAddressPoolStatus;
}

export interface IPAddressPoolSpec {
  /**
   * CIDRs (`192.0.2.0/24`, `2001:db8::/64`; no host bits set), single addresses (a /32 or /128), or
   * inclusive ranges `first-last` (`192.0.2.10-192.0.2.20`, spaces around `-` allowed). IPv4 and
   * IPv6 entries may be mixed in one pool; one range never mixes families. 1 to 100 entries.
   */
  addresses: string[];
  /** Used for Services that do not ask for a pool by name or IP. Default true. */
  autoAssign?: boolean;
  /** Skip IPv4 addresses ending in .0 and .255 (some old client stacks treat them as broadcast). */
  avoidBuggyIPs?: boolean;
  /** Restrict or prioritise which Services draw from this pool. */
  allocation?: IPAddressPoolAllocation;
}

export interface IPAddressPoolAllocation {
  /** Lower is preferred among matching pools; pools without a priority come after. */
  priority?: number;
  /** Namespaces whose Services may use this pool (OR-ed with namespaceSelector). */
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  serviceSelector?: LabelSelector;
}

/**
 * Address counts per family are decimal strings, not numbers: an IPv6 pool easily holds more than
 * 2^53 addresses (a single /64 holds 2^64), which a JSON number read by JavaScript (or any
 * float64-based client) would silently round, and which overflows int64 for anything larger than
 * a /65. A string is exact for every pool size; parse it with BigInt().
 */
export interface IPAddressPoolStatus {
  assignedIPv4?: string;
  assignedIPv6?: string;
  availableIPv4?: string;
  availableIPv6?: string;
  observedGeneration?: number;
  /** Types in POOL_CONDITIONS: Ready, Invalid, Overlapping. */
  conditions?: Condition[];
}

// =============================================================================================
// L2Advertisement

export interface L2Advertisement {
  apiVersion: 'portico.dev/v1alpha1';
  kind: 'L2Advertisement';
  metadata: ObjectMeta;
  spec?: L2AdvertisementSpec;
  status?: L2AdvertisementStatus;
}

export interface L2AdvertisementSpec {
  /**
   * Pools (by name) whose VIPs this advertisement announces. Together with ipAddressPoolSelector
   * (a pool matching either is covered); when both are absent, every pool is covered.
   */
  ipAddressPools?: string[];
  ipAddressPoolSelector?: LabelSelector;
  /** Nodes allowed to announce; absent = every node running a speaker. */
  nodeSelector?: LabelSelector;
  /**
   * Interfaces to announce on. Absent = the interface whose subnet contains the VIP (never every
   * interface: answering on the wrong wire confuses switches).
   */
  interfaces?: string[];
}

export interface L2AdvertisementStatus {
  conditions?: Condition[];
}

// =============================================================================================
// DNSZone

export interface DNSZone {
  apiVersion: 'portico.dev/v1alpha1';
  kind: 'DNSZone';
  metadata: ObjectMeta;
  spec: DNSZoneSpec;
  status?: DNSZoneStatus;
}

export interface DNSZoneSpec {
  /** Zone apex, lowercase, no trailing dot, e.g. `k8s.home.arpa` or `2.0.192.in-addr.arpa`. */
  zone: string;
  /** TTL (seconds) of generated records. Default 300. */
  ttl?: number;
  sources?: DNSZoneSources;
  /** Static records, served alongside the generated ones. */
  records?: DNSRecord[];
  soa?: DNSZoneSOA;
  /**
   * Host names (absolute, no trailing dot) of the zone's name servers, served as NS at the apex.
   * Absent = the SOA mname.
   */
  nameServers?: string[];
}

export interface DNSZoneSources {
  /** Gateway API: Gateway addresses and attached, Accepted route hostnames. */
  gateways?: DNSZoneGatewaySource;
  /** LoadBalancer Services annotated with `portico.dev/hostname` (or ExternalDNS's key). */
  services?: DNSZoneServiceSource;
}

export interface DNSZoneGatewaySource {
  /** Default true. */
  enabled?: boolean;
  /** Only Gateways of these GatewayClasses (OR-ed with gatewaySelector); both absent = all. */
  gatewayClassNames?: string[];
  gatewaySelector?: LabelSelector;
  /** Only Gateways and routes in matching namespaces; absent = all namespaces. */
  namespaceSelector?: LabelSelector;
}

export interface DNSZoneServiceSource {
  /** Default true. */
  enabled?: boolean;
  /** Only Services in matching namespaces; absent = all namespaces. */
  namespaceSelector?: LabelSelector;
}

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'PTR'] as const;
export type DNSRecordType = (typeof DNS_RECORD_TYPES)[number];

export interface DNSRecord {
  /**
   * Owner name relative to the zone (`@` for the apex, `www`, `a.b`, a wildcard `*.apps`), or
   * absolute with a trailing dot (`www.k8s.home.arpa.`, must lie inside the zone). Lowercase.
   */
  name: string;
  type: DNSRecordType;
  /**
   * A: IPv4 addresses; AAAA: IPv6 addresses; CNAME: exactly one absolute host name; PTR: absolute
   * host names; TXT: strings of at most 255 characters, one per TXT character-string.
   */
  values: string[];
  /** Overrides spec.ttl for this record. */
  ttl?: number;
}

/** SOA fields. Serial is not here: the server bumps it whenever zone content changes. */
export interface DNSZoneSOA {
  /** Primary name server host name. Default `ns.<zone>`. */
  mname?: string;
  /** Responsible mailbox in domain form (`hostmaster.example.org`). Default `hostmaster.<zone>`. */
  rname?: string;
  /** Seconds. Defaults: refresh 3600, retry 600, expire 86400, minimum (negative TTL) 30. */
  refresh?: number;
  retry?: number;
  expire?: number;
  minimum?: number;
}

export interface DNSZoneStatus {
  /** Number of resource records currently served (all types, apex SOA/NS included). */
  records?: number;
  /** SOA serial currently served. */
  serial?: number;
  observedGeneration?: number;
  /** Types in DNS_ZONE_CONDITIONS: Ready, Conflict, Invalid. */
  conditions?: Condition[];
}

// =============================================================================================
// BGP mode (ADR 100: the speaker; ADR 101: this API). Field names are MetalLB's (metallb.io
// v1beta2 BGPPeer, v1beta1 BGPAdvertisement) wherever MetalLB has the field.

/** A router the speakers of the selected nodes open a BGP session to. */
export interface BGPPeer {
  apiVersion: 'portico.dev/v1alpha1';
  kind: 'BGPPeer';
  metadata: ObjectMeta;
  spec: BGPPeerSpec;
  status?: BGPPeerStatus;
}

/** How `dynamicASN` accepts the peer's AS: equal to myASN (iBGP) or different (eBGP). */
export type DynamicASN = 'internal' | 'external';

export interface BGPPeerSpec {
  /** Our AS number, 1..4294967295 (4-octet AS, RFC 6793). */
  myASN: number;
  /** The peer's AS number. Exactly one of peerASN and dynamicASN (CEL). */
  peerASN?: number;
  /** Accept any AS of that kind (MetalLB v0.15). Exactly one of peerASN and dynamicASN (CEL). */
  dynamicASN?: DynamicASN;
  /** IPv4 or IPv6 address of the router. */
  peerAddress: string;
  /** TCP port of the router. Default 179. */
  peerPort?: number;
  /** Local address to bind the session to (must exist on the node); absent = chosen by routing. */
  sourceAddress?: string;
  /** Go duration ("90s", "3m"): 0s or at least 3s, whole seconds. Default 90s. */
  holdTime?: string;
  /** Go duration, less than holdTime. Default holdTime / 3. */
  keepaliveTime?: string;
  /** Go duration between connection attempts. Default 10s. */
  connectTime?: string;
  /**
   * TCP MD5 (RFC 2385) key: a Secret of type kubernetes.io/basic-auth with key `password`, in the
   * namespace Portico runs in (the speaker may read Secrets there only). A plain `password` field is
   * deliberately not offered.
   */
  passwordSecret?: SecretReference;
  /** The peer is more than one hop away (eBGP only; TTL 255 instead of 1). */
  ebgpMultiHop?: boolean;
  /** Nodes that peer with this router: a node matching any selector; absent or empty = all nodes. */
  nodeSelectors?: LabelSelector[];
  /** Advertise the graceful restart capability (RFC 4724). Default false. */
  enableGracefulRestart?: boolean;
  /** BGP identifier (dotted quad); absent = the node's IPv4 address. */
  routerID?: string;
}

/** core/v1 SecretReference. `namespace` absent = the namespace Portico runs in. */
export interface SecretReference {
  name: string;
  namespace?: string;
}

export interface BGPPeerStatus {
  /** Reserved; per-node session state is in BGPSessionState objects. */
  conditions?: Condition[];
}

/** Which pools' VIPs are advertised over BGP, to which peers, from which nodes, with what attributes. */
export interface BGPAdvertisement {
  apiVersion: 'portico.dev/v1alpha1';
  kind: 'BGPAdvertisement';
  metadata: ObjectMeta;
  spec?: BGPAdvertisementSpec;
  status?: BGPAdvertisementStatus;
}

export interface BGPAdvertisementSpec {
  /** Prefix length advertised for IPv4 VIPs: 32 = the VIP itself, less = the covering block. Default 32. */
  aggregationLength?: number;
  /** Same for IPv6. Default 128. */
  aggregationLengthV6?: number;
  /** LOCAL_PREF sent to internal (iBGP) peers; absent = 100. */
  localPref?: number;
  /**
   * "65535:65281" (RFC 1997), a well-known name (no-export, no-advertise, no-export-subconfed /
   * local-as, no-peer, blackhole, graceful-shutdown, accept-own; case and `_` / `-` ignored), or a
   * large community "large:1:2:3" (RFC 8092).
   */
  communities?: string[];
  /** Pools by name; with ipAddressPoolSelectors a pool matching either is covered; both absent = all. */
  ipAddressPools?: string[];
  ipAddressPoolSelectors?: LabelSelector[];
  /** Nodes that advertise: matching any selector; absent or empty = all nodes. */
  nodeSelectors?: LabelSelector[];
  /** BGPPeer names to advertise to; absent or empty = all peers. */
  peers?: string[];
}

export interface BGPAdvertisementStatus {
  conditions?: Condition[];
}

export const BGP_SESSION_STATES = [
  'Idle',
  'Connect',
  'Active',
  'OpenSent',
  'OpenConfirm',
  'Established',
] as const;
export type BGPSessionStateName = (typeof BGP_SESSION_STATES)[number];

/**
 * One BGP session as one node's speaker sees it. Name `<node>-<peer>`, labels portico.dev/node and
 * portico.dev/peer, owned by the Node and the BGPPeer (garbage-collected with either); written by
 * that node's speaker only, by server-side apply.
 */
export interface BGPSessionState {
  apiVersion: 'portico.dev/v1alpha1';
  kind: 'BGPSessionState';
  metadata: ObjectMeta;
  spec?: Record<string, never>;
  status?: BGPSessionStateStatus;
}

export interface BGPSessionStateStatus {
  node?: string;
  peer?: string;
  peerAddress?: string;
  state?: BGPSessionStateName;
  /** Why the session last went down or could not come up (a NOTIFICATION, a socket error). */
  lastError?: string;
  /** RFC 3339; absent unless Established. */
  establishedSince?: string;
  /** Prefixes currently advertised on the session. */
  prefixesSent?: number;
  /** RFC 3339: when `state` last changed. */
  lastTransition?: string;
}

/** Labels on BGPSessionState objects (select with `kubectl get bgpss -l portico.dev/node=n1`). */
export const BGP_SESSION_LABELS = { node: 'portico.dev/node', peer: 'portico.dev/peer' } as const;

// =============================================================================================
// Defaults the apiserver applies (mirrored here for code paths that see objects not yet defaulted,
// e.g. unit tests and the standalone DNS mode reading a YAML file).

export const DEFAULTS = {
  autoAssign: true,
  avoidBuggyIPs: false,
  dnsTTL: 300,
  soa: { refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
  bgp: {
    peerPort: 179,
    holdTime: '90s',
    connectTime: '10s',
    aggregationLength: 32,
    aggregationLengthV6: 128,
    localPref: 100,
  },
} as const;

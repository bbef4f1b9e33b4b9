// Input and output shapes of the pure allocator. Structural and minimal on purpose: the reconciler
// maps IPAddressPool objects and Services (with their namespace's labels) onto these, so the policy
// here never depends on a Kubernetes client library.
import type { LabelSelector } from './selector.ts';

/** The part of an IPAddressPool spec the allocator reads (matches lib/api's IPAddressPool spec). */
export interface PoolSpec {
  addresses: string[];
  /** Default true: the pool serves Services that did not ask for a pool. */
  autoAssign?: boolean;
  /** Skip IPv4 addresses ending in .0 and .255 (old CPE firmware drops them as broadcasts). */
  avoidBuggyIPs?: boolean;
  allocation?: {
    /** Lower first; pools without a priority come after all pools with one. */
    priority?: number;
    namespaces?: string[];
    namespaceSelector?: LabelSelector;
    serviceSelector?: LabelSelector;
  };
}

export interface PoolInput {
  name: string;
  spec: PoolSpec;
}

export type IPFamilyName = 'IPv4' | 'IPv6';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  protocol?: string; // default TCP
  port: number;
}

/** One LoadBalancer Service as the allocator sees it. Everything but namespace and name is optional. */
export interface ServiceRequest {
  namespace: string;
  name: string;
  /** metadata.creationTimestamp: decides who keeps an IP when restored assignments conflict. */
  createdAt?: Date | string | number;
  labels?: Record<string, string>;
  /** Labels of the Service's namespace (for pools' namespaceSelector). */
  namespaceLabels?: Record<string, string>;
  /** spec.ipFamilies; the first one is the primary family. */
  ipFamilies?: string[];
  /** spec.ipFamilyPolicy: SingleStack (default), PreferDualStack, RequireDualStack. */
  ipFamilyPolicy?: string;
  /** Requested addresses (load-balancer-ips annotation or its aliases, or spec.loadBalancerIP). */
  requestedIPs?: string[];
  /** The address-pool annotation. */
  pool?: string;
  /** The allow-shared-ip annotation. */
  sharingKey?: string;
  ports?: ServicePort[];
  /** spec.externalTrafficPolicy: Cluster (default) or Local. */
  externalTrafficPolicy?: string;
  /** spec.selector (must be identical to share an IP when the policy is Local). */
  selector?: Record<string, string>;
}

/** Values of the IPAllocated condition's reason when the status is False. */
export type FailureReason =
  | 'NoMatchingPool'
  | 'PoolExhausted'
  | 'RequestedIPInUse'
  | 'RequestedIPNotInPool'
  | 'DualStackUnavailable'
  | 'OutOfPool'
  | 'InvalidAnnotation';

export const FAILURE_REASONS: readonly FailureReason[] = [
  'NoMatchingPool',
  'PoolExhausted',
  'RequestedIPInUse',
  'RequestedIPNotInPool',
  'DualStackUnavailable',
  'OutOfPool',
  'InvalidAnnotation',
];

interface ResultCommon {
  /** What the Service holds after the call (write these to status.loadBalancer.ingress), primary first. */
  ips: string[];
  /** The pool the IPs come from (for the allocated-from-pool annotation), null when none. */
  pool: string | null;
  /** IPs the Service held before this call and no longer holds (IPReleased events, retry pending). */
  released: string[];
  /** True when ips or pool differ from before the call. */
  changed: boolean;
}

export type AllocationResult =
  | (ResultCommon & { ok: true })
  | (ResultCommon & {
      ok: false;
      reason: FailureReason;
      /** One human sentence for the condition message and the Event. */
      message: string;
    });

export interface Assignment {
  key: string;
  ips: string[];
  pool: string | null;
  /** The Service keeps IPs that no longer lie in its pool (pool deleted or shrunk). */
  outOfPool: boolean;
}

export interface RestoreEntry {
  service: ServiceRequest;
  /** status.loadBalancer.ingress[].ip as found. */
  ips: string[];
  /** The allocated-from-pool annotation, if any. */
  pool?: string | null;
}

export interface RestoreReport {
  /** Services whose IPs were taken back as they were. */
  restored: string[];
  /** Services that lost a conflict: the IP stays with the older Service; reallocate these. */
  conflicts: Array<{ key: string; ip: string; heldBy: string[]; message: string }>;
  /** Restored Services whose IPs are in no pool (they keep them, flagged OutOfPool). */
  outOfPool: string[];
  /** Unparseable addresses found in a Service's status (ignored). */
  invalid: Array<{ key: string; ip: string; error: string }>;
}

export interface FamilyStats {
  /** Allocatable addresses (avoidBuggyIPs taken into account), exact. */
  total: bigint;
  /** Addresses in this pool held by any Service (also those allocated from an overlapping pool). */
  assigned: bigint;
  available: bigint;
}

export interface PoolReport {
  name: string;
  valid: boolean;
  /** Why the pool is Invalid (bad entries, bad selectors, no addresses). */
  errors: string[];
  /** Non-fatal remarks (host bits set, entries overlapping inside the pool). */
  warnings: string[];
  /** Other pools sharing addresses with this one, by name, with the first shared range. */
  overlaps: Array<{ pool: string; range: string }>;
  IPv4: FamilyStats | null;
  IPv6: FamilyStats | null;
  /** Services recorded against this pool whose IPs are no longer in it. */
  outOfPool: number;
}

export interface SetPoolsReport {
  pools: PoolReport[];
  /** Services whose pool or OutOfPool flag changed because of the new pools: requeue them. */
  changed: string[];
}

export interface AllocatorOptions {
  /** Give Services holding out-of-pool IPs a new address on their next allocate() (default false). */
  reclaimOutOfPool?: boolean;
}

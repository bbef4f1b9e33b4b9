/**
 * Condition types, condition reasons and Event reasons shared across components. `kubectl
 * describe` output is part of Portico's user interface: keeping the vocabulary in one file keeps it
 * consistent between the controller, the speaker and the DNS server.
 *
 * Reasons follow the Kubernetes convention (UpperCamelCase, no spaces) so tools can match on them.
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

// ---------------------------------------------------------------------------------------------
// Service conditions (status.conditions of core/v1 Service), each owned by one field manager.

export const SERVICE_CONDITIONS = {
  /** Owned by the IPAM controller (field manager `portico-controller`). */
  IPAllocated: 'portico.dev/IPAllocated',
  /** Owned by the speaker that announces the VIP (field manager `portico-speaker`). */
  Announced: 'portico.dev/Announced',
} as const;
export type ServiceConditionType = (typeof SERVICE_CONDITIONS)[keyof typeof SERVICE_CONDITIONS];

/** Reasons of `portico.dev/IPAllocated`. `Allocated` goes with True, every other with False. */
export const IP_ALLOCATED_REASONS = {
  Allocated: 'Allocated',
  NoMatchingPool: 'NoMatchingPool',
  PoolExhausted: 'PoolExhausted',
  RequestedIPInUse: 'RequestedIPInUse',
  RequestedIPNotInPool: 'RequestedIPNotInPool',
  DualStackUnavailable: 'DualStackUnavailable',
  /** The Service keeps an IP that is no longer inside any pool (pool shrunk or deleted). */
  OutOfPool: 'OutOfPool',
  InvalidAnnotation: 'InvalidAnnotation',
} as const;
export type IPAllocatedReason = (typeof IP_ALLOCATED_REASONS)[keyof typeof IP_ALLOCATED_REASONS];

/** Reasons of `portico.dev/Announced`. `Announced` goes with True (message: node and interface). */
export const ANNOUNCED_REASONS = {
  Announced: 'Announced',
  /** No L2Advertisement covers the pool the VIP came from. */
  NoL2Advertisement: 'NoL2Advertisement',
  /** Advertised, but no live, selected node with a usable interface (or a local endpoint). */
  NoEligibleNode: 'NoEligibleNode',
} as const;
export type AnnouncedReason = (typeof ANNOUNCED_REASONS)[keyof typeof ANNOUNCED_REASONS];

// ---------------------------------------------------------------------------------------------
// IPAddressPool conditions.

export const POOL_CONDITIONS = {
  /** True when the pool is valid and usable for allocation. */
  Ready: 'Ready',
  /** True when the spec cannot be used (message says which entry and why). */
  Invalid: 'Invalid',
  /** True when the pool shares addresses with another pool (message names it). */
  Overlapping: 'Overlapping',
} as const;
export type PoolConditionType = (typeof POOL_CONDITIONS)[keyof typeof POOL_CONDITIONS];

export const POOL_REASONS = {
  Valid: 'Valid',
  InvalidAddresses: 'InvalidAddresses',
  NoOverlap: 'NoOverlap',
  OverlapsPool: 'OverlapsPool',
  /** Ready=False because the pool is Invalid or Overlapping. */
  NotUsable: 'NotUsable',
} as const;
export type PoolReason = (typeof POOL_REASONS)[keyof typeof POOL_REASONS];

// ---------------------------------------------------------------------------------------------
// DNSZone conditions.

export const DNS_ZONE_CONDITIONS = {
  /** True once the zone has been built from synced caches and is being served. */
  Ready: 'Ready',
  /** True when two sources claim one name with different data (both are served; message names them). */
  Conflict: 'Conflict',
  /** True when part of the spec could not be used (e.g. a static record outside the zone). */
  Invalid: 'Invalid',
} as const;
export type DNSZoneConditionType = (typeof DNS_ZONE_CONDITIONS)[keyof typeof DNS_ZONE_CONDITIONS];

export const DNS_ZONE_REASONS = {
  Serving: 'Serving',
  NotSynced: 'NotSynced',
  NoConflict: 'NoConflict',
  ConflictingSources: 'ConflictingSources',
  Valid: 'Valid',
  InvalidRecords: 'InvalidRecords',
} as const;
export type DNSZoneReason = (typeof DNS_ZONE_REASONS)[keyof typeof DNS_ZONE_REASONS];

// ---------------------------------------------------------------------------------------------
// Event reasons (core/v1 Event `reason`).

export const EVENT_REASONS = {
  IPAllocated: 'IPAllocated',
  AllocationFailed: 'AllocationFailed',
  IPReleased: 'IPReleased',
  OutOfPool: 'OutOfPool',
  /** A MetalLB / ExternalDNS annotation was honoured; the message names the native key. */
  DeprecatedAnnotation: 'DeprecatedAnnotation',
  /** Two Services restored onto one IP without sharing; the younger one is reallocated. */
  ConflictingAssignment: 'ConflictingAssignment',
  /** Speaker: the VIP's announcing node changed. */
  OwnerChanged: 'OwnerChanged',
  NotAnnounced: 'NotAnnounced',
  /** DNS: two sources claim one name with different addresses; both are served. */
  ConflictingSources: 'ConflictingSources',
  /** DNS: a hostname annotation holds a name that is not a valid DNS name. */
  InvalidHostname: 'InvalidHostname',
  /** A native annotation and its alias disagree; the native key wins. */
  ConflictingAnnotations: 'ConflictingAnnotations',
} as const;
export type EventReason = (typeof EVENT_REASONS)[keyof typeof EVENT_REASONS];

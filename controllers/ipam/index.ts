// The pure IPAM core: everything that decides which address a LoadBalancer Service gets.
// Start with allocator.ts (the policy), then space.ts + runset.ts (the data structure, ADR 030).
export { Allocator, serviceKey } from './allocator.ts';
export { parseRequestedIPs } from './annotations.ts';
export type { LabelSelector, LabelSelectorRequirement } from './selector.ts';
export { matchesSelector, selectorErrors } from './selector.ts';
export * from './types.ts';

// The pure IPAM core: everything that decides which address a LoadBalancer Service gets.
// Start with allocator.ts (the policy, ADR 031), then space.ts + runset.ts (the structure, ADR 030).
//
// How a reconciler drives it (one Allocator per process, touched from one thread of control):
//
//   const alloc = new Allocator({ reclaimOutOfPool: flags.reclaimOutOfPool });
//   // caches synced:
//   alloc.setPools(pools.map((p) => ({ name: p.metadata.name, spec: p.spec })));
//   const report = alloc.restore(servicesWithIngress.map((s) => ({
//     service: toRequest(s, nsLabels), ips: s.status.loadBalancer.ingress.map((i) => i.ip),
//     pool: allocatedFromPoolAnnotation(s) })));
//   // report.conflicts: Event + reconcile those (they get a new address); then start workers.
//
//   // reconcile(key), for a Service we handle (type LoadBalancer, our class):
//   const r = alloc.allocate(toRequest(svc, nsLabels));
//   // write r.ips to status.loadBalancer.ingress (ipMode VIP), r.pool to allocated-from-pool,
//   // condition IPAllocated = r.ok ? True : False/r.reason/r.message; Events from r.changed,
//   // r.released (IPReleased) and r.reason (AllocationFailed). Note: a failed result can still
//   // carry ips the Service keeps (OutOfPool, InvalidAnnotation, unmet family upgrade).
//   // Service gone / not LoadBalancer / other class: alloc.release(serviceKey(ns, name)).
//
//   // On any IPAddressPool event: setPools(all pools) → status per pool from report.pools,
//   // requeue report.changed and every Service whose last result was not ok.
//   // After release() or a move (r.released non-empty): requeue pending Services too.
//
// toRequest(svc, nsLabels) fills ServiceRequest from metadata (namespace, name, labels,
// creationTimestamp), spec (ipFamilies, ipFamilyPolicy, ports, externalTrafficPolicy, selector,
// loadBalancerIP), the namespace's labels, and the annotations resolved through lib/api
// (load-balancer-ips via parseRequestedIPs, address-pool, allow-shared-ip).

export { matchesSelector } from '../../lib/api/selector.ts';
export { Allocator, serviceKey } from './allocator.ts';
export { parseRequestedIPs } from './annotations.ts';
export type { LabelSelector, LabelSelectorRequirement } from './selector.ts';
export { selectorErrors } from './selector.ts';
export * from './types.ts';

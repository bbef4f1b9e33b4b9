// The controller's least privileges: the one source of truth for the Helm chart's ClusterRole and
// Role, and what the integration test binds to a ServiceAccount to prove they suffice.
// Server-side apply is an HTTP PATCH, so status and annotation writes need `patch` only.
import { GROUP, PLURALS } from '../lib/api/group.ts';
import type { PolicyRule } from '../lib/api/rbac.ts';

/** Cluster-wide rules (bind with a ClusterRoleBinding). */
export const CONTROLLER_CLUSTER_ROLE_RULES: readonly PolicyRule[] = [
  // Informer on every Service; apply of the allocated-from-pool annotation.
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'patch'] },
  // status.loadBalancer.ingress and the portico.dev/IPAllocated condition.
  { apiGroups: [''], resources: ['services/status'], verbs: ['patch'] },
  // Namespace labels, for pools' namespaceSelector.
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [GROUP], resources: [PLURALS.IPAddressPool], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [GROUP], resources: [`${PLURALS.IPAddressPool}/status`], verbs: ['patch'] },
  // IPAllocated / AllocationFailed / IPReleased / OutOfPool / DeprecatedAnnotation; patch = series count.
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/**
 * Extra cluster-wide rules of the opt-in MetalLB mirror (--metallb-compat, chart value
 * metallbCompat.enabled): read MetalLB's objects, and create/update/delete the Portico objects it
 * mirrors (only those labelled portico.dev/mirrored-from=metallb; RBAC cannot say that, the code
 * does: controllers/metallb-mirror.ts). Discovery of metallb.io needs no grant (system:discovery).
 */
export const CONTROLLER_METALLB_RULES: readonly PolicyRule[] = [
  // Informers on what MetalLB's configuration is made of (Communities: aliases the BGP
  // advertisements name).
  {
    apiGroups: ['metallb.io'],
    resources: ['ipaddresspools', 'l2advertisements', 'bgppeers', 'bgpadvertisements', 'communities'],
    verbs: ['get', 'list', 'watch'],
  },
  // Before deleting a mirror: are MetalLB's CRDs being deleted (MetalLB uninstalled)? Then keep them.
  {
    apiGroups: ['apiextensions.k8s.io'],
    resources: ['customresourcedefinitions'],
    verbs: ['get'],
    resourceNames: [
      'ipaddresspools.metallb.io',
      'l2advertisements.metallb.io',
      'bgppeers.metallb.io',
      'bgpadvertisements.metallb.io',
      'communities.metallb.io',
    ],
  },
  // The pool informer is the controller's own (base rules); the others are the mirror's. Writes are
  // PUT with the cached resourceVersion (update), never a blind patch.
  { apiGroups: [GROUP], resources: [PLURALS.IPAddressPool], verbs: ['create', 'update', 'delete'] },
  {
    apiGroups: [GROUP],
    resources: [PLURALS.L2Advertisement, PLURALS.BGPPeer, PLURALS.BGPAdvertisement],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
  },
];

/** Rules in the Lease namespace only (bind with a RoleBinding there). */
export const CONTROLLER_LEASE_RULES: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

export function controllerClusterRole(
  name = 'portico-controller',
  rules: readonly PolicyRule[] = CONTROLLER_CLUSTER_ROLE_RULES,
): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'portico' } },
    rules: rules.map((r) => ({ ...r })),
  };
}

export function controllerLeaseRole(
  namespace: string,
  name = 'portico-controller-lease',
): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'portico' } },
    rules: CONTROLLER_LEASE_RULES.map((r) => ({ ...r })),
  };
}

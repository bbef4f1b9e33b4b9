// The speaker's least privileges: the one source of truth for the Helm chart's ClusterRole and
// Role (charts/rbac.ts), and what test/integration/speaker/rbac.test.ts binds to a
// ServiceAccount to prove they suffice. Server-side apply is an HTTP PATCH: the Announced
// condition needs `patch` on services/status only; the speaker never writes a Service spec.
import { GROUP, PLURALS } from '../lib/api/group.ts';
import type { PolicyRule } from '../lib/api/rbac.ts';

/** Cluster-wide rules (bind with a ClusterRoleBinding). Informers use list + watch only. */
export const SPEAKER_CLUSTER_ROLE_RULES: readonly PolicyRule[] = [
  // Which Services have VIPs, their class and externalTrafficPolicy.
  { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] },
  // The portico.dev/Announced condition (server-side apply, field manager portico-speaker).
  { apiGroups: [''], resources: ['services/status'], verbs: ['patch'] },
  // Labels (L2Advertisement nodeSelector, exclude label), NetworkUnavailable, InternalIP.
  { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
  // externalTrafficPolicy Local: which nodes hold a ready or serving endpoint.
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  {
    apiGroups: [GROUP],
    resources: [PLURALS.IPAddressPool, PLURALS.L2Advertisement],
    verbs: ['list', 'watch'],
  },
  // OwnerChanged / NotAnnounced; patch = series count of a repeated Event.
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/**
 * Rules in the speaker namespace only (bind with a RoleBinding there): each speaker applies its
 * own discovery Lease (apply of a missing object needs create), watches all speaker Leases, and
 * deletes its own on a graceful exit. Lease names are per node, so resourceNames cannot narrow it.
 */
export const SPEAKER_NAMESPACE_RULES: readonly PolicyRule[] = [
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
];

/**
 * BGP mode (chart value speaker.bgp.enabled; rendered as their own Roles so the L2-only speaker
 * keeps its narrower grants). Cluster-wide: read peers and advertisements; each speaker writes the
 * BGPSessionState of its own sessions by server-side apply (apply of a missing object needs
 * create), reads them back (list/watch with its node label, to delete those of peers gone), and
 * writes their status subresource. Names are `<node>-<peer>`, so resourceNames cannot narrow it.
 * Endpoints (externalTrafficPolicy Local), Nodes and Events are in the base rules already.
 */
export const SPEAKER_BGP_CLUSTER_RULES: readonly PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: [PLURALS.BGPPeer, PLURALS.BGPAdvertisement],
    verbs: ['list', 'watch'],
  },
  {
    apiGroups: [GROUP],
    resources: [PLURALS.BGPSessionState],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  { apiGroups: [GROUP], resources: [`${PLURALS.BGPSessionState}/status`], verbs: ['patch'] },
];

/**
 * BGP mode, speaker namespace only: the TCP MD5 keys named by BGPPeer.spec.passwordSecret, which
 * must therefore live in this namespace (as MetalLB requires). Read-only; never cluster-wide.
 */
export const SPEAKER_BGP_NAMESPACE_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
];

export function speakerClusterRole(
  name = 'portico-speaker',
  rules: readonly PolicyRule[] = SPEAKER_CLUSTER_ROLE_RULES,
): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'portico' } },
    rules: rules.map((r) => ({ ...r })),
  };
}

export function speakerNamespaceRole(
  namespace: string,
  name = 'portico-speaker',
  rules: readonly PolicyRule[] = SPEAKER_NAMESPACE_RULES,
): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'portico' } },
    rules: rules.map((r) => ({ ...r })),
  };
}

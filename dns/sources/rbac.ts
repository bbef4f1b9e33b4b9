// The DNS server's ClusterRole rules: the one source of truth. The Helm chart's ClusterRole is
// generated from this list, and test/integration/dns/rbac.test.ts runs the Kubernetes sources
// under a ServiceAccount bound to exactly these rules.
//
// Least privilege, and why each rule exists:
//  - list/watch only (informers never `get`): Gateways, ListenerSets and routes, Services, Namespaces (for
//    allowedRoutes and DNSZone namespace selectors), DNSZones;
//  - patch on dnszones/status only (server-side apply of record count, serial, conditions);
//    never write access to the DNSZone spec;
//  - create/patch Events (events.k8s.io): Warning Events and their series counts.
// Discovery (/apis/gateway.networking.k8s.io) is covered by the default `system:discovery`
// binding every authenticated user has.

import { GROUP, PLURALS } from '../../lib/api/group.ts';
import type { PolicyRule } from '../../lib/api/rbac.ts';
import { GATEWAY_GROUP } from './types.ts';

export const DNS_CLUSTER_ROLE_RULES: readonly PolicyRule[] = [
  {
    apiGroups: [GATEWAY_GROUP],
    resources: ['gateways', 'listenersets', 'httproutes', 'grpcroutes', 'tlsroutes'],
    verbs: ['list', 'watch'],
  },
  { apiGroups: [''], resources: ['services', 'namespaces'], verbs: ['list', 'watch'] },
  { apiGroups: [GROUP], resources: [PLURALS.DNSZone], verbs: ['list', 'watch'] },
  { apiGroups: [GROUP], resources: [`${PLURALS.DNSZone}/status`], verbs: ['patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

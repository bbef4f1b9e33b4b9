// Binds a ServiceAccount to exactly a component's rule lists (the chart's source of truth), the way
// the chart does: a ClusterRole + ClusterRoleBinding for the cluster-wide rules, a Role +
// RoleBinding in the ServiceAccount's namespace for the namespaced ones. Tests that prove "these
// rules suffice" run the component as that ServiceAccount.
import type { PolicyRule } from '../../lib/api/rbac.ts';
import type { KubeClient } from '../../lib/kube/index.ts';
import { speakerClusterRole, speakerNamespaceRole } from '../../speaker/rbac.ts';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';

export interface BindOptions {
  /** Name of the four objects. */
  name: string;
  namespace: string;
  serviceAccount: string;
  clusterRules: readonly PolicyRule[];
  namespaceRules: readonly PolicyRule[];
}

/** Creates the bindings; resolves to a clean-up that deletes the cluster-scoped two (the namespaced go with the namespace). */
export async function bindRules(admin: KubeClient, o: BindOptions): Promise<() => Promise<void>> {
  const subjects = [{ kind: 'ServiceAccount', name: o.serviceAccount, namespace: o.namespace }];
  const binding = (kind: 'ClusterRoleBinding' | 'RoleBinding', roleKind: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name: o.name, ...(kind === 'RoleBinding' ? { namespace: o.namespace } : {}) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: o.name },
    subjects,
  });
  await admin.request({
    method: 'POST',
    path: `${RBAC}/clusterroles`,
    body: speakerClusterRole(o.name, o.clusterRules),
  });
  await admin.request({
    method: 'POST',
    path: `${RBAC}/clusterrolebindings`,
    body: binding('ClusterRoleBinding', 'ClusterRole'),
  });
  if (o.namespaceRules.length) {
    await admin.request({
      method: 'POST',
      path: `${RBAC}/namespaces/${o.namespace}/roles`,
      body: speakerNamespaceRole(o.namespace, o.name, o.namespaceRules),
    });
    await admin.request({
      method: 'POST',
      path: `${RBAC}/namespaces/${o.namespace}/rolebindings`,
      body: binding('RoleBinding', 'Role'),
    });
  }
  return async () => {
    for (const kind of ['clusterrolebindings', 'clusterroles'])
      await admin.request({ method: 'DELETE', path: `${RBAC}/${kind}/${o.name}` }).catch(() => {});
  };
}

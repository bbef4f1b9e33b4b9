import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sharedKubeConfig, sharedServiceAccountKubeconfig } from '../../envtest/shared.ts';

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** HTTP status of listing ConfigMaps in `namespace` as the kubeconfig's user (200 on success). */
async function listConfigMapsStatus(kc: KubeConfig, namespace: string): Promise<number | undefined> {
  try {
    await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace });
    return 200;
  } catch (err) {
    return statusOf(err);
  }
}

describe('ServiceAccount kubeconfigs (least-privilege RBAC)', () => {
  it('is forbidden without a grant, allowed after a Role/RoleBinding, still forbidden elsewhere', async () => {
    const ns = `rbac-${randomBytes(3).toString('hex')}`;
    const other = `${ns}-other`;
    const saPath = await sharedServiceAccountKubeconfig(ns, 'reader');
    await sharedServiceAccountKubeconfig(other, 'someone'); // creates the other namespace
    // Calling it again is idempotent (namespace and SA already exist).
    expect(await sharedServiceAccountKubeconfig(ns, 'reader')).toBe(saPath);

    const sa = new KubeConfig();
    sa.loadFromFile(saPath);
    expect(sa.getCurrentUser()?.name).toBe(`system:serviceaccount:${ns}:reader`);
    expect(await listConfigMapsStatus(sa, ns)).toBe(403);

    const rbac = sharedKubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'reader-reads-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      },
    });
    // The RBAC authorizer reads through an informer: allow it a moment to see the binding.
    let status: number | undefined;
    for (let i = 0; i < 100; i++) {
      status = await listConfigMapsStatus(sa, ns);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(await listConfigMapsStatus(sa, other)).toBe(403);
    // Read is granted, write is not.
    await expect(
      sa
        .makeApiClient(CoreV1Api)
        .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } }),
    ).rejects.toMatchObject({ code: 403 });
  });

  it('the shared admin kubeconfig is system:masters', async () => {
    const core = sharedKubeConfig().makeApiClient(CoreV1Api);
    // Only a privileged user may read kube-system Secrets.
    await expect(core.listNamespacedSecret({ namespace: 'kube-system' })).resolves.toBeDefined();
  });
});

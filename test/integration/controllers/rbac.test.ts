// Least privilege: the controller runs with a ServiceAccount bound ONLY to the rules in
// controllers/rbac.ts (the chart's source of truth) and still does its whole job: informers,
// Lease, Service status + annotation, pool status, Events, release/cleanup.
import { afterEach, describe, expect, test } from 'vitest';
import {
  CONTROLLER_CLUSTER_ROLE_RULES,
  controllerClusterRole,
  controllerLeaseRole,
} from '../../../controllers/index.ts';
import { KubeClient, loadKubeConfig } from '../../../lib/kube/index.ts';
import { sharedKubeConfig, sharedServiceAccountKubeconfig } from '../../envtest/shared.ts';
import { condition, ips, TestEnv, until } from './support.ts';

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

describe('IPAM controller: RBAC', () => {
  test('works with exactly the ClusterRole and lease Role from controllers/rbac.ts', async () => {
    const e = await TestEnv.create(sharedKubeConfig(), 'rbac');
    env = e;
    const sa = 'portico-controller';
    const roleName = `portico-controller-${e.id}`;
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    await e.client.request({
      method: 'POST',
      path: `${rbac}/clusterroles`,
      body: controllerClusterRole(roleName),
    });
    e.onCleanup(() => e.client.request({ method: 'DELETE', path: `${rbac}/clusterroles/${roleName}` }));
    const kubeconfig = await sharedServiceAccountKubeconfig(e.ns, sa);
    const subject = [{ kind: 'ServiceAccount', name: sa, namespace: e.ns }];
    await e.client.request({
      method: 'POST',
      path: `${rbac}/clusterrolebindings`,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: roleName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: subject,
      },
    });
    e.onCleanup(() =>
      e.client.request({ method: 'DELETE', path: `${rbac}/clusterrolebindings/${roleName}` }),
    );
    const leaseRole = controllerLeaseRole(e.ns, 'portico-controller-lease');
    await e.client.request({ method: 'POST', path: `${rbac}/namespaces/${e.ns}/roles`, body: leaseRole });
    await e.client.request({
      method: 'POST',
      path: `${rbac}/namespaces/${e.ns}/rolebindings`,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'portico-controller-lease', namespace: e.ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'portico-controller-lease' },
        subjects: subject,
      },
    });

    // The ServiceAccount really is limited: it may not read Secrets or write Service specs.
    const saClient = new TestEnvClient(kubeconfig);
    await expect(saClient.get(`/api/v1/namespaces/${e.ns}/secrets`)).rejects.toMatchObject({
      statusCode: 403,
    });
    expect(
      CONTROLLER_CLUSTER_ROLE_RULES.some((r) => r.verbs.includes('update') || r.verbs.includes('*')),
    ).toBe(false);
    await saClient.close();

    const pool = await e.createPool('rbac', { addresses: ['203.0.113.112/30'] });
    // RBAC changes reach the authorizer's cache quickly but not instantly.
    await until(
      async () => {
        const c = new TestEnvClient(kubeconfig);
        try {
          await c.get('/apis/portico.dev/v1alpha1/ipaddresspools');
          return true;
        } finally {
          await c.close();
        }
      },
      10_000,
      'RBAC in effect',
    );
    const ctl = await e.start({ kubeConfig: loadKubeConfig({ kubeconfig }) });
    await ctl.whenLeading(20_000);
    await e.createService('one', { annotations: { 'metallb.io/address-pool': pool } });
    expect(await e.waitIPs('one')).toEqual(['203.0.113.112']);
    await e.waitEvent('one', 'IPAllocated');
    await e.waitEvent('one', 'DeprecatedAnnotation');
    await e.waitService(
      'one',
      (x) => x.metadata?.annotations?.['portico.dev/allocated-from-pool'] === pool,
      'allocated-from-pool annotation',
    );
    await until(async () => (await e.getPool(pool)).status?.assignedIPv4 === '1', 10_000, 'pool status');
    // Release + cleanup of owned fields works too.
    await e.patchService('one', { spec: { type: 'ClusterIP', loadBalancerClass: null } });
    await e.waitService('one', (x) => ips(x).length === 0 && condition(x) === undefined, 'cleared');
    await e.waitEvent('one', 'IPReleased');
  });
});

/** A bare client on a kubeconfig path (what the ServiceAccount may do). */
class TestEnvClient {
  private readonly c: KubeClient;
  constructor(path: string) {
    this.c = new KubeClient(loadKubeConfig({ kubeconfig: path }));
  }
  get(path: string): Promise<unknown> {
    return this.c.request({ path });
  }
  close(): Promise<void> {
    return this.c.close();
  }
}

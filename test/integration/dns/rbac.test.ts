// The DNS server's ClusterRole (dns/sources/rbac.ts) is enough, and what it grants is all the
// sources use: run Kubernetes mode as a ServiceAccount bound to exactly DNS_CLUSTER_ROLE_RULES and
// check it syncs, serves route + Service + static names, writes DNSZone status and Events.

import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type KubernetesProcess, runKubernetes } from '../../../dns/kubernetes.ts';
import { DNS_CLUSTER_ROLE_RULES } from '../../../dns/sources/rbac.ts';
import { KubeClient } from '../../../lib/kube/client.ts';
import { sharedKubeConfig, sharedServiceAccountKubeconfig } from '../../envtest/shared.ts';
import { skipUnless } from '../../support/require.ts';
import {
  addresses,
  createGateway,
  createHTTPRoute,
  createLBService,
  createZone,
  deleteObject,
  freshNamespace,
  getZone,
  query,
  setGatewayAddresses,
  setRouteParents,
  suffix,
  until,
  zoneRes,
} from './support.ts';

const WAIT = 20_000;

/** A ServiceAccount bound (ClusterRoleBinding) to a new ClusterRole with `rules`; its KubeConfig. */
async function boundServiceAccount(
  admin: KubeClient,
  name: string,
  rules: unknown,
  cleanup: Array<() => Promise<unknown>>,
): Promise<KubeConfig> {
  const path = await sharedServiceAccountKubeconfig(`dns-sa-${name}`, 'portico-dns');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  await admin.request({
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    body: { metadata: { name }, rules },
  });
  await admin.request({
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: 'portico-dns', namespace: `dns-sa-${name}` }],
    },
  });
  cleanup.push(
    () =>
      admin.request({
        method: 'DELETE',
        path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
      }),
    () =>
      admin.request({ method: 'DELETE', path: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}` }),
  );
  const c = new KubeClient(kc);
  await until(
    () => c.request({ path: '/apis/portico.dev/v1alpha1/dnszones' }).then(() => true),
    (ok) => ok,
    WAIT,
    'RBAC binding effective',
  );
  await c.close();
  return kc;
}

describe.skipIf(skipUnless({ binaries: ['dig'] }))('DNS server RBAC: exactly DNS_CLUSTER_ROLE_RULES', () => {
  let admin: KubeClient;
  let sa: KubeConfig;
  let dns: KubernetesProcess | undefined;
  const id = suffix();
  const zone = `rbac-${id}.k8s.home.arpa`;
  const roleName = `portico-dns-${id}`;
  let ns: string;

  beforeAll(async () => {
    admin = new KubeClient(sharedKubeConfig());
    const saNs = `dns-sa-${id}`;
    const path = await sharedServiceAccountKubeconfig(saNs, 'portico-dns');
    sa = new KubeConfig();
    sa.loadFromFile(path);
    await admin.request({
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      body: { metadata: { name: roleName }, rules: DNS_CLUSTER_ROLE_RULES },
    });
    await admin.request({
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      body: {
        metadata: { name: roleName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name: 'portico-dns', namespace: saNs }],
      },
    });
    // The authorizer sees the binding through its own informer: wait until a granted list works.
    const saClient = new KubeClient(sa);
    await until(
      () => saClient.request({ path: '/apis/portico.dev/v1alpha1/dnszones' }).then(() => true),
      (ok) => ok,
      WAIT,
      'RBAC binding effective',
    );
    // …and that something outside the rules stays forbidden (the SA is not an admin).
    await expect(saClient.request({ path: '/api/v1/secrets' })).rejects.toMatchObject({ statusCode: 403 });
    // Status only: the DNS server can never rewrite a user's zone.
    await createZone(admin, `rbac-spec-${id}`, { zone: `spec-${zone}` });
    await expect(
      saClient.request({
        method: 'PATCH',
        path: `/apis/portico.dev/v1alpha1/dnszones/rbac-spec-${id}`,
        contentType: 'application/merge-patch+json',
        body: { spec: { ttl: 1 } },
      }),
    ).rejects.toMatchObject({ statusCode: 403 });
    await deleteObject(admin, zoneRes, undefined, `rbac-spec-${id}`);
    await saClient.close();

    ns = await freshNamespace(admin, 'dns-rbac');
    await createZone(admin, `rbac-${id}`, {
      zone,
      records: [{ name: 'static', type: 'A', values: ['198.51.100.9'] }],
    });
    await createGateway(admin, ns, 'gw', [{ name: 'http', hostname: `*.${zone}` }]);
    await setGatewayAddresses(admin, ns, 'gw', [{ value: '192.0.2.90' }]);
    await createHTTPRoute(admin, ns, 'r', [{ name: 'gw' }], [`app.${zone}`]);
    await setRouteParents(admin, ns, 'r', [{ ref: { name: 'gw', namespace: ns }, accepted: true }]);
    await createLBService(admin, ns, 'svc', { 'external-dns.kubernetes.io/hostname': `svc.${zone}` }, [
      '203.0.113.9',
    ]);
  });

  afterAll(async () => {
    await dns?.close();
    if (admin) {
      await deleteObject(admin, zoneRes, undefined, `rbac-${id}`);
      await admin
        .request({
          method: 'DELETE',
          path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${roleName}`,
        })
        .catch(() => {});
      await admin
        .request({ method: 'DELETE', path: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${roleName}` })
        .catch(() => {});
      await admin.close();
    }
  });

  test('a kind the ClusterRole lacks (an older chart) is skipped, not fatal', async () => {
    const cleanup: Array<() => Promise<unknown>> = [];
    const rules = DNS_CLUSTER_ROLE_RULES.map((r) => ({
      ...r,
      resources: r.resources.filter((x) => x !== 'listenersets'),
    }));
    const kc = await boundServiceAccount(admin, `portico-dns-old-${id}`, rules, cleanup);
    const old = await runKubernetes({ kubeConfig: kc, port: 0, debounceMs: 20, logLevel: 'silent' });
    try {
      await old.sources.whenSynced(WAIT);
      expect(old.sources.watchedKinds()).toEqual(['GRPCRoute', 'Gateway', 'HTTPRoute', 'TLSRoute']);
      const app = await until(
        () => query('dig', old.server.port, `app.${zone}`, 'A', false),
        (r) => r.answer.length > 0,
        WAIT,
        'route served without ListenerSet access',
      );
      expect(addresses(app)).toEqual(['192.0.2.90']);
    } finally {
      await old.close();
      for (const c of cleanup) await c().catch(() => {});
    }
  });

  test('syncs, serves, writes DNSZone status and Events as the ServiceAccount', async () => {
    dns = await runKubernetes({ kubeConfig: sa, port: 0, debounceMs: 20, logLevel: 'silent' });
    await dns.sources.whenSynced(WAIT);
    expect(dns.sources.watchedKinds()).toEqual([
      'GRPCRoute',
      'Gateway',
      'HTTPRoute',
      'ListenerSet',
      'TLSRoute',
    ]);
    const app = await until(
      () => query('dig', dns!.server.port, `app.${zone}`, 'A', false),
      (r) => r.answer.length > 0,
      WAIT,
      'route served',
    );
    expect(addresses(app)).toEqual(['192.0.2.90']);
    expect(addresses(await query('dig', dns.server.port, `svc.${zone}`, 'A', true))).toEqual(['203.0.113.9']);
    expect(addresses(await query('dig', dns.server.port, `static.${zone}`, 'A', false))).toEqual([
      '198.51.100.9',
    ]);

    const z = await until(
      () => getZone(admin, `rbac-${id}`),
      (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      WAIT,
      'status written by the ServiceAccount',
    );
    expect(z.status?.records).toBeGreaterThan(0);
    const managers = (z.metadata.managedFields ?? [])
      .filter((m) => m.subresource === 'status')
      .map((m) => m.manager);
    expect(managers).toContain('portico-dns');

    await until(
      () =>
        admin.request<{ items: Array<{ reason?: string; regarding?: { name?: string } }> }>({
          path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
        }),
      (l) => l.items.some((e) => e.regarding?.name === 'svc' && e.reason === 'DeprecatedAnnotation'),
      WAIT,
      'Event created by the ServiceAccount',
    );
  });
});

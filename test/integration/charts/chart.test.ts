import { describe, expect, it } from 'vitest';
import { isAlreadyExists, KubeClient } from '../../../lib/kube/client.ts';
import { helmTemplate } from '../../charts/helm.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { skipUnless } from '../../support/require.ts';

// Every object the chart renders, server-side applied with dryRun=All against the real apiserver:
// schema validation (ours and Kubernetes'), CRD CEL rules on the chart's DNSZone and pools, and
// RBAC object validity — without needing nodes to run the pods.
const RESOURCES: Record<string, { plural: string; namespaced: boolean }> = {
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  DaemonSet: { plural: 'daemonsets', namespaced: true },
  PodDisruptionBudget: { plural: 'poddisruptionbudgets', namespaced: true },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  DNSZone: { plural: 'dnszones', namespaced: false },
  IPAddressPool: { plural: 'ipaddresspools', namespaced: false },
  L2Advertisement: { plural: 'l2advertisements', namespaced: false },
};

function pathOf(doc: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}): string {
  const r = RESOURCES[doc.kind];
  if (!r) throw new Error(`the chart renders a kind this test does not know: ${doc.kind}`);
  const base = doc.apiVersion.includes('/') ? `/apis/${doc.apiVersion}` : `/api/${doc.apiVersion}`;
  const ns = r.namespaced ? `/namespaces/${doc.metadata.namespace ?? 'portico-system'}` : '';
  return `${base}${ns}/${r.plural}/${doc.metadata.name}`;
}

describe.skipIf(skipUnless({ binaries: ['helm'] }))('chart against the real apiserver', () => {
  it('every rendered object passes server-side dry-run apply', async () => {
    const client = new KubeClient(sharedKubeConfig());
    await client
      .request({
        method: 'POST',
        path: '/api/v1/namespaces',
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'portico-system' } },
      })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
    const docs = helmTemplate([
      // Core kinds only: ServiceMonitor/PrometheusRule need the Prometheus Operator CRDs.
      '--set',
      'metrics.grafanaDashboard.enabled=true',
      '--set',
      'metallbCompat.enabled=true',
      '--set',
      'speaker.bgp.enabled=true',
      '--set-json',
      'pools=[{"name":"chart-lan","addresses":["192.0.2.240-192.0.2.250","2001:db8:5::/120"],"l2":true}]',
    ]);
    expect(docs.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const doc of docs) {
      try {
        await client.request({
          method: 'PATCH',
          path: pathOf(doc as never),
          query: { fieldManager: 'portico-chart-test', force: true, dryRun: 'All' },
          contentType: 'application/apply-patch+yaml',
          body: doc,
        });
      } catch (err) {
        failures.push(
          `${doc.kind}/${doc.metadata?.name}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    expect(failures).toEqual([]);
    expect(docs.some((d) => d.metadata?.name === 'portico-controller-metallb')).toBe(true);
    expect(docs.some((d) => d.metadata?.name === 'portico-speaker-bgp')).toBe(true);
  });
});

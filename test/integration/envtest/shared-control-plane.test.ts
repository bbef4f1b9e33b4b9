import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1CustomResourceDefinition,
  VersionApi,
} from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { KubeClient } from '../../../lib/kube/client.ts';
import { readManifests } from '../../envtest/crds.ts';
import { PORTICO_CRD_DIR } from '../../envtest/index.ts';
import { pinnedVersion, provision } from '../../envtest/provision.ts';
import { sharedKubeConfig, sharedKubeconfigPath } from '../../envtest/shared.ts';

function condition(crd: V1CustomResourceDefinition, type: string): string | undefined {
  return crd.status?.conditions?.find((c) => c.type === type)?.status;
}

describe('shared control plane (globalSetup)', () => {
  it('answers as the pinned kube-apiserver with the admin kubeconfig', async () => {
    const kc = sharedKubeConfig();
    expect(kc.getCurrentCluster()?.server).toBe(inject('kubeServer'));
    expect(sharedKubeconfigPath()).toMatch(/admin\.kubeconfig$/);
    const version = await kc.makeApiClient(VersionApi).getCode();
    const pinned = await pinnedVersion('kube-apiserver', 'k8s.io/kubernetes');
    // Built by the harness: stamped with the pin. From KUBEBUILDER_ASSETS: whatever the user brought.
    if (process.env.KUBEBUILDER_ASSETS) expect(version.major).toBe('1');
    else
      expect([version.gitVersion, `v${version.major}.${version.minor}`]).toEqual([
        pinned,
        pinned.replace(/\.\d+$/, ''),
      ]);
    const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(['default', 'kube-system']),
    );
  });

  it('verifies the serving certificate against the CA in the kubeconfig', async () => {
    const kc = sharedKubeConfig();
    const cluster = kc.getCurrentCluster();
    expect(cluster?.caData).toBeTruthy();
    expect(cluster?.skipTLSVerify).toBeFalsy();
  });

  it('has every Portico CRD from charts/portico/crds Established', async () => {
    const files = readdirSync(PORTICO_CRD_DIR)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(PORTICO_CRD_DIR, f));
    const names = (await readManifests(files))
      .filter((o) => o.kind === 'CustomResourceDefinition')
      .map((o) => o.metadata?.name);
    // The three kinds of shared/DESIGN.md must be among them.
    expect(names).toEqual(
      expect.arrayContaining([
        'ipaddresspools.portico.dev',
        'l2advertisements.portico.dev',
        'dnszones.portico.dev',
      ]),
    );
    const api = sharedKubeConfig().makeApiClient(ApiextensionsV1Api);
    for (const name of names) {
      const crd = await api.readCustomResourceDefinition({ name: name ?? '' });
      expect(condition(crd, 'Established'), name).toBe('True');
    }
  });

  it('stores every CRD schema exactly as written (CEL rules, defaults, enums survive the install)', async () => {
    const assets = await provision();
    const dirs = [PORTICO_CRD_DIR, assets.gatewayApiCrdDir];
    const files = dirs.flatMap((d) =>
      readdirSync(d)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(d, f)),
    );
    const crds = (await readManifests(files)).filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.length).toBeGreaterThanOrEqual(13);
    // Raw JSON on purpose: client-node's typed models would drop x-kubernetes-* keys on read too.
    const client = new KubeClient(sharedKubeConfig());
    let celRules = 0;
    for (const crd of crds) {
      const want = crd as V1CustomResourceDefinition;
      const got = await client.request<V1CustomResourceDefinition>({
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${want.metadata?.name}`,
      });
      const schemas = (c: V1CustomResourceDefinition) =>
        c.spec.versions.map((v) => ({ name: v.name, schema: v.schema?.openAPIV3Schema }));
      expect(schemas(got), want.metadata?.name).toEqual(schemas(want));
      celRules += JSON.stringify(schemas(got)).split('"x-kubernetes-validations"').length - 1;
    }
    expect(celRules).toBeGreaterThan(0); // the comparison above covered CEL rules, not just shapes
  });

  it('has the Gateway API standard CRDs Established and serving', async () => {
    const kc = sharedKubeConfig();
    const api = kc.makeApiClient(ApiextensionsV1Api);
    for (const plural of [
      'gatewayclasses',
      'gateways',
      'httproutes',
      'grpcroutes',
      'tlsroutes',
      'referencegrants',
    ]) {
      const crd = await api.readCustomResourceDefinition({ name: `${plural}.gateway.networking.k8s.io` });
      expect(condition(crd, 'Established'), plural).toBe('True');
      expect(crd.metadata?.annotations?.['gateway.networking.k8s.io/channel']).toBe('standard');
    }
    // Established means served: a GatewayClass round-trips through the new endpoint.
    const custom = kc.makeApiClient(CustomObjectsApi);
    const name = `envtest-${Date.now()}`;
    await custom.createClusterCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'gatewayclasses',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name },
        spec: { controllerName: 'portico.dev/envtest' },
      },
    });
    const got = (await custom.getClusterCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'gatewayclasses',
      name,
    })) as { spec?: { controllerName?: string } };
    expect(got.spec?.controllerName).toBe('portico.dev/envtest');
    await custom.deleteClusterCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'gatewayclasses',
      name,
    });
  });
});

import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../../lib/kube/cache.ts';
import { collectionPath, type KubeClient, Resources } from '../../../lib/kube/client.ts';

export async function freshNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
  return name;
}

export function createConfigMap(
  client: KubeClient,
  namespace: string,
  name: string,
  data: Record<string, string>,
) {
  return client.request<KubeObject>({
    method: 'POST',
    path: collectionPath(Resources.configmaps, namespace),
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data },
  });
}

export function createService(client: KubeClient, namespace: string, name: string) {
  return client.request<KubeObject>({
    method: 'POST',
    path: collectionPath(Resources.services, namespace),
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name } },
    },
  });
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

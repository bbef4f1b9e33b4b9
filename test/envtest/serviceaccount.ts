import { writeFile } from 'node:fs/promises';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

/**
 * Kubeconfigs for ServiceAccounts, so tests can run a component with exactly the RBAC its Helm
 * chart grants and prove that anything more is forbidden.
 */

export function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'envtest',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'envtest', context: { cluster: 'envtest', user } }],
    'current-context': 'envtest',
  });
}

function isConflict(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 409;
}

/**
 * Using an admin `kc`: create the namespace and ServiceAccount when missing, request a token for it
 * (TokenRequest API, valid 24 h) and write a kubeconfig for that token to `outPath`.
 */
export async function writeServiceAccountKubeconfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
  outPath: string,
): Promise<string> {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no current cluster');
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : undefined;
  if (!caPem) throw new Error('admin kubeconfig has no certificate-authority-data');
  const core = admin.makeApiClient(CoreV1Api);
  try {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    // No audiences: the token is for the apiserver's own audience (the issuer).
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const user = `system:serviceaccount:${namespace}:${name}`;
  await writeFile(outPath, kubeconfigYaml(cluster.server, caPem, user, token), { mode: 0o600 });
  return outPath;
}

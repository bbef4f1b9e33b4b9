import { dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { writeServiceAccountKubeconfig } from './serviceaccount.ts';

/**
 * Access to the ONE control plane started by global-setup.ts, from inside integration/e2e tests.
 * Tests that need to kill the apiserver or want a pristine cluster start their own with
 * startControlPlane() from ./index.ts instead.
 */

export function sharedKubeconfigPath(): string {
  const path = inject('kubeconfig');
  if (!path) {
    throw new Error('no shared control plane: run this test in the vitest project "integration" or "e2e"');
  }
  return path;
}

export function sharedKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(sharedKubeconfigPath());
  return kc;
}

/**
 * A kubeconfig for ServiceAccount `namespace/name` on the shared control plane (namespace and SA
 * are created when missing). The file lives in the control plane's temp folder and goes with it.
 */
export async function sharedServiceAccountKubeconfig(namespace: string, name: string): Promise<string> {
  const out = join(dirname(sharedKubeconfigPath()), `sa-${namespace}-${name}.kubeconfig`);
  return writeServiceAccountKubeconfig(sharedKubeConfig(), namespace, name, out);
}

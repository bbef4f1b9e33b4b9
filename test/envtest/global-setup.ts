import type { TestProject } from 'vitest/node';
import { type ControlPlane, startControlPlane } from './index.ts';

/**
 * vitest globalSetup for the `integration` and `e2e` projects: ONE control plane per project run,
 * shared by every test file through `inject('kubeconfig')` (see shared.ts). Teardown stops it;
 * the harness' exit hook and reaper cover runs that end abnormally.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig path of the shared control plane. */
    kubeconfig: string;
    /** https://127.0.0.1:PORT of the shared kube-apiserver. */
    kubeServer: string;
  }
}

let cp: ControlPlane | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  cp = await startControlPlane({ log: (m) => console.error(m) });
  const t = cp.timings;
  console.error(
    `envtest: control plane ${cp.server} ready in ${(t.totalMs / 1000).toFixed(1)} s ` +
      `(${cp.assets.source}; etcd ${t.etcdMs} ms, kube-apiserver ${t.apiServerMs} ms, CRDs ${t.crdsMs} ms)`,
  );
  project.provide('kubeconfig', cp.kubeconfigPath);
  project.provide('kubeServer', cp.server);
  return async () => {
    await cp?.stop();
    cp = undefined;
  };
}

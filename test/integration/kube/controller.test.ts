import { afterEach, describe, expect, test } from 'vitest';
import { applyAnnotations } from '../../../lib/kube/apply.ts';
import { type KubeObject, splitKey } from '../../../lib/kube/cache.ts';
import { KubeClient, objectPath, Resources } from '../../../lib/kube/client.ts';
import { Controller, enqueueOnChange } from '../../../lib/kube/controller.ts';
import { Informer } from '../../../lib/kube/informer.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { createConfigMap, freshNamespace, until } from './support.ts';

type ConfigMap = KubeObject & {
  data?: Record<string, string>;
  metadata: { annotations?: Record<string, string> };
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Informer → Controller → server-side apply (real apiserver)', () => {
  test('level-based reconcile converges, retries a failure, and settles (its own write causes no loop)', async () => {
    const client = new KubeClient(sharedKubeConfig());
    cleanups.push(() => client.close());
    const ns = await freshNamespace(client, 'ctl');
    const inf = new Informer<ConfigMap>(client, { resource: Resources.configmaps, namespace: ns });
    cleanups.push(() => inf.stop());
    const reconciles: string[] = [];
    let failOnce = true;
    const ctl = new Controller({
      name: 'mirror',
      concurrency: 2,
      backoff: { baseMs: 50, maxMs: 500, jitter: 0 },
      reconcile: async (key) => {
        reconciles.push(key);
        const cm = inf.get(key);
        if (!cm) return; // deleted: nothing to converge
        if (cm.data?.fail === 'once' && failOnce) {
          failOnce = false;
          throw new Error('transient failure');
        }
        const want = cm.data?.v ?? '';
        if (cm.metadata.annotations?.['portico.dev/mirror'] === want) return;
        const { namespace, name } = splitKey(key);
        await applyAnnotations(
          client,
          { resource: Resources.configmaps, namespace, name },
          { 'portico.dev/mirror': want },
          {
            fieldManager: 'portico-test',
          },
        );
      },
    });
    cleanups.push(() => ctl.stop());
    enqueueOnChange(inf, ctl);
    inf.start();
    await inf.waitForSync(30_000);
    ctl.start();

    await createConfigMap(client, ns, 'a', { v: '1', fail: 'once' });
    await until(
      () => inf.get(`${ns}/a`)?.metadata.annotations?.['portico.dev/mirror'] === '1',
      15_000,
      'mirror=1',
    );
    await client.request({
      method: 'PATCH',
      path: objectPath(Resources.configmaps, ns, 'a'),
      contentType: 'application/merge-patch+json',
      body: { data: { v: '2' } },
    });
    await until(
      () => inf.get(`${ns}/a`)?.metadata.annotations?.['portico.dev/mirror'] === '2',
      15_000,
      'mirror=2',
    );
    // Settled: no further reconciles once the state matches.
    await new Promise((r) => setTimeout(r, 500));
    const settled = reconciles.length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(reconciles.length).toBe(settled);
    expect(settled).toBeLessThan(12);
    expect(failOnce).toBe(false);
    expect(ctl.queue.numRequeues(`${ns}/a`)).toBe(0);
  });
});

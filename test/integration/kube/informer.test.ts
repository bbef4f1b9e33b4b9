import { afterAll, afterEach, describe, expect, test } from 'vitest';
import type { KubeObject } from '../../../lib/kube/cache.ts';
import { KubeClient, objectPath, Resources } from '../../../lib/kube/client.ts';
import { Informer } from '../../../lib/kube/informer.ts';
import { type ControlPlane, startControlPlane } from '../../envtest/index.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { createConfigMap, createService, freshNamespace, until } from './support.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };

const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function track<T extends KubeObject>(inf: Informer<T>): string[] {
  const log: string[] = [];
  inf.addHandlers({
    add: (o) => log.push(`add ${o.metadata?.name}`),
    update: (old, o) => {
      if (old !== o) log.push(`update ${o.metadata?.name}`);
    },
    delete: (o) => log.push(`delete ${o.metadata?.name}`),
  });
  return log;
}

describe('Informer on a real kube-apiserver (shared control plane)', () => {
  test('ConfigMaps: add, update, delete reach handlers and the cache', async () => {
    const client = new KubeClient(sharedKubeConfig());
    stops.push(() => client.close());
    const ns = await freshNamespace(client, 'inf');
    await createConfigMap(client, ns, 'pre', { v: '1' });
    const inf = new Informer<ConfigMap>(client, { resource: Resources.configmaps, namespace: ns });
    stops.push(() => inf.stop());
    const log = track(inf);
    inf.start();
    await inf.waitForSync(30_000);
    expect(inf.get(`${ns}/pre`)?.data).toEqual({ v: '1' });

    await createConfigMap(client, ns, 'cm', { v: '1' });
    await until(() => inf.get(`${ns}/cm`) !== undefined, 10_000, 'add');
    await client.request({
      method: 'PATCH',
      path: objectPath(Resources.configmaps, ns, 'cm'),
      contentType: 'application/merge-patch+json',
      body: { data: { v: '2' } },
    });
    await until(() => inf.get(`${ns}/cm`)?.data?.v === '2', 10_000, 'update');
    await client.request({ method: 'DELETE', path: objectPath(Resources.configmaps, ns, 'cm') });
    await until(() => inf.get(`${ns}/cm`) === undefined, 10_000, 'delete');
    expect(log.filter((l) => l.endsWith(' cm'))).toEqual(['add cm', 'update cm', 'delete cm']);
    expect(log).toContain('add pre');
  });

  test('Services across all namespaces, filtered by label selector', async () => {
    const client = new KubeClient(sharedKubeConfig());
    stops.push(() => client.close());
    const ns = await freshNamespace(client, 'inf');
    const inf = new Informer<KubeObject>(client, { resource: Resources.services, labelSelector: `ns=${ns}` });
    stops.push(() => inf.stop());
    const log = track(inf);
    inf.start();
    await inf.waitForSync(30_000);
    expect(inf.list()).toEqual([]);
    await createService(client, ns, 'web');
    await client.request({
      method: 'PATCH',
      path: objectPath(Resources.services, ns, 'web'),
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { ns } } },
    });
    // Entering the selector is an add; leaving it is a delete (server-side filtering).
    await until(() => inf.get(`${ns}/web`) !== undefined, 10_000, 'labelled service');
    expect(inf.get(`${ns}/web`)?.kind).toBe('Service');
    await client.request({ method: 'DELETE', path: objectPath(Resources.services, ns, 'web') });
    await until(() => inf.keys().length === 0, 10_000, 'service deleted');
    expect(log).toEqual(['add web', 'delete web']);
  });
});

describe('Informer across an apiserver crash (private control plane)', () => {
  let cp: ControlPlane | undefined;
  afterAll(async () => {
    await cp?.stop();
  });

  test('kill -9 kube-apiserver, restart on the same etcd: the informer reconnects and converges to the final state', async () => {
    cp = await startControlPlane({ installCrds: false });
    const client = new KubeClient(cp.kubeConfig());
    stops.push(() => client.close());
    const ns = await freshNamespace(client, 'crash');
    for (const n of ['keep', 'change', 'remove']) await createConfigMap(client, ns, n, { v: '1' });
    const inf = new Informer<ConfigMap>(client, {
      resource: Resources.configmaps,
      namespace: ns,
      backoff: { baseMs: 100, maxMs: 1_000, jitter: 0.5 },
      requestTimeoutMs: 5_000,
    });
    stops.push(() => inf.stop());
    const log = track(inf);
    inf.start();
    await inf.waitForSync(30_000);
    expect(inf.keys().sort()).toEqual([`${ns}/change`, `${ns}/keep`, `${ns}/remove`]);
    const watchesBefore = inf.stats.watchesStarted;

    await cp.killApiServer();
    // Let the informer notice and fail a few reconnects against a dead port.
    await until(() => inf.stats.watchErrors > 0, 10_000, 'watch failure noticed');
    await new Promise((r) => setTimeout(r, 1_000));
    await cp.startApiServer();

    // Changes made right after the restart, including a delete, must all arrive.
    await createConfigMap(client, ns, 'added', { v: '1' });
    await client.request({
      method: 'PATCH',
      path: objectPath(Resources.configmaps, ns, 'change'),
      contentType: 'application/merge-patch+json',
      body: { data: { v: '2' } },
    });
    await client.request({ method: 'DELETE', path: objectPath(Resources.configmaps, ns, 'remove') });

    await until(
      () =>
        inf.get(`${ns}/added`) !== undefined &&
        inf.get(`${ns}/change`)?.data?.v === '2' &&
        inf.get(`${ns}/remove`) === undefined,
      30_000,
      'informer to converge after restart',
    );
    expect(inf.stats.watchesStarted).toBeGreaterThan(watchesBefore);
    expect(log).toEqual(expect.arrayContaining(['add added', 'update change', 'delete remove']));

    // The cache equals a fresh list: nothing lost, nothing stale.
    const fresh = await client.request<{ items: ConfigMap[] }>({
      path: `/api/v1/namespaces/${ns}/configmaps`,
    });
    const want = Object.fromEntries(
      fresh.items.map((o) => [`${ns}/${o.metadata?.name}`, o.metadata?.resourceVersion]),
    );
    const got = Object.fromEntries(
      inf.list().map((o) => [`${ns}/${o.metadata?.name}`, o.metadata?.resourceVersion]),
    );
    expect(got).toEqual(want);
  });
});

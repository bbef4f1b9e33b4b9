import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { applyCondition, applyStatus, managedFieldsOf } from '../../../lib/kube/apply.ts';
import type { KubeObject } from '../../../lib/kube/cache.ts';
import { KubeClient, type ResourceRef } from '../../../lib/kube/client.ts';
import { Informer } from '../../../lib/kube/informer.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { until } from './support.ts';

// Structural copy of lib/api/group.ts names (lib/kube stays independent of lib/api).
const POOLS: ResourceRef = {
  group: 'portico.dev',
  version: 'v1alpha1',
  plural: 'ipaddresspools',
  namespaced: false,
  kind: 'IPAddressPool',
};

type Pool = KubeObject & {
  spec?: { addresses?: string[] };
  status?: {
    assignedIPv4?: string;
    conditions?: Array<{ type: string; status: string; lastTransitionTime: string }>;
  };
  metadata: { managedFields?: Array<{ manager?: string; subresource?: string; fieldsV1?: unknown }> };
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Informer + status apply on a cluster-scoped custom resource (real apiserver, our CRD)', () => {
  test('add, status update through /status, delete', async () => {
    const client = new KubeClient(sharedKubeConfig());
    cleanups.push(() => client.close());
    const run = randomBytes(3).toString('hex');
    const name = `kube-test-${run}`;
    const inf = new Informer<Pool>(client, { resource: POOLS, labelSelector: `kube-test=${run}` });
    cleanups.push(() => inf.stop());
    inf.start();
    await inf.waitForSync(30_000);

    await client.create(POOLS, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name, labels: { 'kube-test': run } },
      spec: { addresses: ['192.0.2.0/28'] },
    });
    cleanups.push(() => client.delete(POOLS, undefined, name));
    await until(() => inf.get(name) !== undefined, 10_000, 'pool added');

    await applyStatus(
      client,
      { resource: POOLS, name },
      { assignedIPv4: '3' },
      { fieldManager: 'portico-controller' },
    );
    await until(() => inf.get(name)?.status?.assignedIPv4 === '3', 10_000, 'status seen by the informer');
    await applyCondition(
      client,
      { resource: POOLS, name },
      { type: 'Ready', status: 'True', reason: 'Valid', message: '' },
      { fieldManager: 'portico-pool-status', current: inf.get(name) },
    );
    await until(() => inf.get(name)?.status?.conditions?.[0]?.type === 'Ready', 10_000, 'condition seen');
    const pool = inf.get(name) as Pool;
    // Two managers, both on the status subresource, each owning only what it applied.
    expect(JSON.stringify(managedFieldsOf(pool, 'portico-controller', 'status'))).toContain('f:assignedIPv4');
    expect(JSON.stringify(managedFieldsOf(pool, 'portico-controller', 'status'))).not.toContain('Ready');
    expect(JSON.stringify(managedFieldsOf(pool, 'portico-pool-status', 'status'))).toContain('Ready');
    expect(pool.status?.assignedIPv4).toBe('3');
    // The spec is untouched by status applies.
    expect(pool.spec?.addresses).toEqual(['192.0.2.0/28']);

    expect(await client.delete(POOLS, undefined, name)).toBe(true);
    await until(() => inf.get(name) === undefined, 10_000, 'pool deleted');
  });
});

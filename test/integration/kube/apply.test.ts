import { afterEach, describe, expect, test } from 'vitest';
import {
  applyAnnotations,
  applyServiceCondition,
  type Condition,
  managedFieldsOf,
} from '../../../lib/kube/apply.ts';
import type { KubeObject } from '../../../lib/kube/cache.ts';
import { KubeClient, objectPath, Resources } from '../../../lib/kube/client.ts';
import { EventRecorder } from '../../../lib/kube/events.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { createService, freshNamespace, until } from './support.ts';

type Svc = KubeObject & {
  metadata: {
    annotations?: Record<string, string>;
    managedFields?: Array<{ manager?: string; subresource?: string; fieldsV1?: unknown }>;
  };
  status?: { conditions?: Condition[]; loadBalancer?: { ingress?: Array<{ ip: string }> } };
};

const ALLOC = 'portico.dev/IPAllocated';
const ANN = 'portico.dev/Announced';
const CONTROLLER = 'portico-controller';
const SPEAKER = 'portico-speaker';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(): KubeClient {
  const c = new KubeClient(sharedKubeConfig());
  cleanups.push(() => c.close());
  return c;
}

const read = (c: KubeClient, ns: string, name: string) =>
  c.request<Svc>({ path: objectPath(Resources.services, ns, name) });
const cond = (s: Svc, type: string) => s.status?.conditions?.find((x) => x.type === type);
const conditionKeys = (fields: unknown): string[] => {
  const conds =
    (fields as { 'f:status'?: { 'f:conditions'?: Record<string, unknown> } })?.['f:status']?.[
      'f:conditions'
    ] ?? {};
  return Object.keys(conds).filter((k) => k.startsWith('k:'));
};

describe('server-side apply of Service conditions by two field managers (real apiserver)', () => {
  test('each manager owns exactly its condition; re-applying one never clobbers the other', async () => {
    const c = client();
    const ns = await freshNamespace(c, 'ssa');
    await createService(c, ns, 'web');
    const svc = { namespace: ns, name: 'web' };

    await applyServiceCondition(
      c,
      svc,
      { type: ALLOC, status: 'True', reason: 'Allocated', message: '192.0.2.10 from pool-a' },
      {
        fieldManager: CONTROLLER,
        extraStatus: { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } },
      },
    );
    await applyServiceCondition(
      c,
      svc,
      { type: ANN, status: 'True', reason: 'Announced', message: 'node-1 eth0' },
      { fieldManager: SPEAKER },
    );

    let s = await read(c, ns, 'web');
    expect(cond(s, ALLOC)?.status).toBe('True');
    expect(cond(s, ANN)?.message).toBe('node-1 eth0');
    const allocTime = cond(s, ALLOC)?.lastTransitionTime;

    // Wait past a second boundary so a wrongly moved lastTransitionTime would show.
    await new Promise((r) => setTimeout(r, 1_100));
    // The controller re-applies with a new message and the same status, passing the cached object.
    await applyServiceCondition(
      c,
      svc,
      { type: ALLOC, status: 'True', reason: 'Allocated', message: '192.0.2.10 (restored)' },
      {
        fieldManager: CONTROLLER,
        current: s,
        extraStatus: { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } },
      },
    );
    s = await read(c, ns, 'web');
    expect(cond(s, ALLOC)?.message).toBe('192.0.2.10 (restored)');
    expect(cond(s, ALLOC)?.lastTransitionTime).toBe(allocTime);
    expect(cond(s, ANN)).toMatchObject({ status: 'True', reason: 'Announced', message: 'node-1 eth0' });
    expect(s.status?.loadBalancer?.ingress?.[0]?.ip).toBe('192.0.2.10');

    // The speaker flips its condition: its lastTransitionTime moves; the controller's stays.
    const annTime = cond(s, ANN)?.lastTransitionTime;
    await applyServiceCondition(
      c,
      svc,
      { type: ANN, status: 'False', reason: 'NoEligibleNode', message: 'all links down' },
      {
        fieldManager: SPEAKER,
      },
    );
    s = await read(c, ns, 'web');
    expect(cond(s, ANN)?.status).toBe('False');
    expect(cond(s, ANN)?.lastTransitionTime).not.toBe(annTime);
    expect(cond(s, ALLOC)).toMatchObject({
      status: 'True',
      message: '192.0.2.10 (restored)',
      lastTransitionTime: allocTime,
    });

    // managedFields: each manager owns only its own list entry.
    const ctl = managedFieldsOf(s, CONTROLLER, 'status');
    const spk = managedFieldsOf(s, SPEAKER, 'status');
    expect(ctl).toHaveLength(1);
    expect(spk).toHaveLength(1);
    expect(conditionKeys(ctl[0])).toEqual([`k:{"type":"${ALLOC}"}`]);
    expect(conditionKeys(spk[0])).toEqual([`k:{"type":"${ANN}"}`]);
    expect(JSON.stringify(ctl[0])).toContain('f:loadBalancer');
    expect(JSON.stringify(spk[0])).not.toContain('f:loadBalancer');
  });

  test('annotations applied by a field manager leave other annotations alone; dropping a key removes only ours', async () => {
    const c = client();
    const ns = await freshNamespace(c, 'ssa');
    await createService(c, ns, 'web');
    await c.request({
      method: 'PATCH',
      path: objectPath(Resources.services, ns, 'web'),
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'user/note': 'hands off' } } },
    });
    const target = { resource: Resources.services, namespace: ns, name: 'web' };
    await applyAnnotations(
      c,
      target,
      { 'portico.dev/allocated-from-pool': 'pool-a', 'portico.dev/x': '1' },
      { fieldManager: CONTROLLER },
    );
    let s = await read(c, ns, 'web');
    expect(s.metadata.annotations).toMatchObject({
      'user/note': 'hands off',
      'portico.dev/allocated-from-pool': 'pool-a',
      'portico.dev/x': '1',
    });
    await applyAnnotations(
      c,
      target,
      { 'portico.dev/allocated-from-pool': 'pool-b' },
      { fieldManager: CONTROLLER },
    );
    s = await read(c, ns, 'web');
    expect(s.metadata.annotations?.['portico.dev/allocated-from-pool']).toBe('pool-b');
    expect(s.metadata.annotations?.['portico.dev/x']).toBeUndefined();
    expect(s.metadata.annotations?.['user/note']).toBe('hands off');
  });
});

describe('EventRecorder (real apiserver)', () => {
  test('repeats become one Event with a series count; a different reason is a new Event', async () => {
    const c = client();
    const ns = await freshNamespace(c, 'ev');
    const svc = await createService(c, ns, 'web');
    const rec = new EventRecorder(c, {
      reportingController: 'portico.dev/controller',
      reportingInstance: 'test-0',
    });
    rec.warning(svc, 'AllocationFailed', 'no pool matches', 'Allocate');
    await rec.flush();
    rec.warning(svc, 'AllocationFailed', 'no pool matches', 'Allocate');
    rec.warning(svc, 'AllocationFailed', 'no pool matches', 'Allocate');
    await rec.flush();
    rec.normal(svc, 'IPAllocated', '192.0.2.10 from pool-a', 'Allocate');
    await rec.flush();
    type Ev = {
      reason: string;
      type: string;
      series?: { count: number };
      regarding: { name: string; uid: string };
    };
    let events: Ev[] = [];
    await until(
      async () => {
        events = (
          await c.request<{ items: Ev[] }>({ path: `/apis/events.k8s.io/v1/namespaces/${ns}/events` })
        ).items;
        return events.length === 2;
      },
      10_000,
      'two events',
    );
    const failed = events.find((e) => e.reason === 'AllocationFailed');
    expect(failed).toMatchObject({
      type: 'Warning',
      series: { count: 3 },
      regarding: { name: 'web', uid: svc.metadata?.uid },
    });
    expect(events.find((e) => e.reason === 'IPAllocated')?.series).toBeUndefined();
    // The core/v1 view (kubectl describe) shows the same Event with its count.
    const core = await c.request<{
      items: Array<{ reason: string; count?: number; series?: { count: number } }>;
    }>({
      path: `/api/v1/namespaces/${ns}/events`,
    });
    expect(core.items.find((e) => e.reason === 'AllocationFailed')?.series?.count).toBe(3);
    await rec.close();
  });
});

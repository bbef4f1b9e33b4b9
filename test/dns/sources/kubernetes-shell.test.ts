// dns/kubernetes.ts against a scripted apiserver (nock): nothing reaches the server before every
// informer has listed; then one snapshot set, a DNSZone status by server-side apply through
// /status, and a Warning Event for an ExternalDNS annotation.
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startKubernetesSources } from '../../../dns/kubernetes.ts';
import type { TableUpdate } from '../../../dns/zone/table.ts';
import { createLogger } from '../../../lib/observe/log.ts';
import { api, fakeKubeConfig, until } from '../../lib/kube/support.ts';

const isWatch = (q: Record<string, unknown>) => q.watch === 'true';
const isList = (q: Record<string, unknown>) => q.watch === undefined;
// Watches end at once (an empty body): the informers reconnect with backoff, which keeps nock's
// scripted server simple — no long-lived bodies to tear down.
beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const svc = {
  metadata: {
    name: 'web',
    namespace: 'team',
    uid: 'u1',
    resourceVersion: '3',
    annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'web.example.com' },
  },
  spec: { type: 'LoadBalancer' },
  status: { loadBalancer: { ingress: [{ ip: '192.0.2.8' }] } },
};
const zone = {
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'DNSZone',
  metadata: {
    name: 'z',
    uid: 'z1',
    generation: 2,
    resourceVersion: '4',
    creationTimestamp: '2026-01-01T00:00:00Z',
  },
  spec: { zone: 'example.com', ttl: 60 },
};

describe('startKubernetesSources (nock)', () => {
  test('waits for every informer, then serves, writes status and an Event', async () => {
    let releaseZones: () => void = () => {};
    const zonesListed = new Promise<void>((r) => {
      releaseZones = r;
    });
    api().get('/apis/gateway.networking.k8s.io').reply(404, { kind: 'Status', code: 404 }).persist();
    let servicesListed = false;
    api()
      .get('/api/v1/services')
      .query(isList)
      .reply(200, () => {
        servicesListed = true;
        return { metadata: { resourceVersion: '10' }, items: [svc] };
      });
    api().get('/api/v1/services').query(isWatch).reply(200, '').persist();
    api()
      .get('/api/v1/namespaces')
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [{ metadata: { name: 'team' } }] });
    api().get('/api/v1/namespaces').query(isWatch).reply(200, '').persist();
    api()
      .get('/apis/portico.dev/v1alpha1/dnszones')
      .query(isList)
      .reply(200, async () => {
        await zonesListed;
        return { metadata: { resourceVersion: '10' }, items: [zone] };
      });
    api().get('/apis/portico.dev/v1alpha1/dnszones').query(isWatch).reply(200, '').persist();
    const patches: Array<{ body: Record<string, unknown> }> = [];
    let lastQuery: Record<string, unknown> = {};
    api()
      .patch('/apis/portico.dev/v1alpha1/dnszones/z/status', (b: Record<string, unknown>) => {
        // nock may offer any request's body to a matcher: keep only ours.
        if (b.kind !== 'DNSZone') return false;
        patches.push({ body: b });
        return true;
      })
      .matchHeader('content-type', /^application\/apply-patch\+yaml/)
      .query((q) => {
        lastQuery = q;
        return true;
      })
      .reply(200, zone)
      .persist();
    const events: Array<Record<string, unknown>> = [];
    // Body matchers record what was sent (reply functions that read the body stall nock + fetch).
    api()
      .post('/apis/events.k8s.io/v1/namespaces/team/events', (b: Record<string, unknown>) => {
        if (b.kind !== 'Event') return false;
        events.push(b);
        return true;
      })
      .reply(201, { metadata: { name: 'e1' } })
      .persist();

    const updates: TableUpdate[] = [];
    const src = startKubernetesSources({
      kubeConfig: fakeKubeConfig(),
      server: { update: (u) => updates.push(u as TableUpdate) },
      logger: createLogger({ name: 'test', level: 'silent' }),
      debounceMs: 5,
      clock: () => 1_700_000_000,
    });
    try {
      // Services, Namespaces and discovery are done; DNSZones are still listing → nothing served.
      await until(() => servicesListed, 2_000, 'services listed');
      expect(src.synced()).toBe(false);
      // Even a forced rebuild serves nothing while one informer has not listed.
      await src.rebuild();
      expect(updates).toEqual([]);
      releaseZones();
      await src.whenSynced(2_000);
      expect(updates).toHaveLength(1);
      const z = updates[0]!.set.list[0]!;
      expect(z.name).toBe('example.com');
      expect(z.serial).toBe(1_700_000_000);
      expect(updates[0]!.inputs[0]!.records.map((r) => `${r.name} ${r.type} ${r.values.join()}`)).toEqual([
        'web.example.com. A 192.0.2.8',
      ]);
      await until(() => patches.length > 0, 2_000, 'status patch');
      const p = patches[0]!;
      expect(lastQuery).toMatchObject({ fieldManager: 'portico-dns', force: 'true' });
      const status = p.body.status as {
        records: number;
        serial: number;
        observedGeneration: number;
        conditions: Array<Record<string, unknown>>;
      };
      expect(p.body).toMatchObject({
        apiVersion: 'portico.dev/v1alpha1',
        kind: 'DNSZone',
        metadata: { name: 'z' },
      });
      expect(status.records).toBe(z.recordCount);
      expect(status.serial).toBe(1_700_000_000);
      expect(status.observedGeneration).toBe(2);
      expect(status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
        'Ready=True',
        'Conflict=False',
        'Invalid=False',
      ]);
      expect(status.conditions.every((c) => typeof c.lastTransitionTime === 'string')).toBe(true);

      await until(() => events.length > 0, 2_000, 'event');
      expect(events[0]).toMatchObject({
        type: 'Warning',
        reason: 'DeprecatedAnnotation',
        regarding: { kind: 'Service', name: 'web', namespace: 'team' },
      });

      // A rebuild with nothing changed: same serial, and no second Event for the same notice.
      await src.rebuild();
      expect(updates.at(-1)!.set.list[0]!.serial).toBe(1_700_000_000);
      expect(updates.at(-1)!.changed).toEqual([]);
      expect(events).toHaveLength(1);
    } finally {
      await src.close();
    }
  });

  test('close() before sync rejects whenSynced instead of hanging', async () => {
    api().get(/.*/).query(true).reply(503, {}).persist();
    const src = startKubernetesSources({
      kubeConfig: fakeKubeConfig(),
      server: { update: () => {} },
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    const waiting = expect(src.whenSynced()).rejects.toThrow(/closed before they synced/);
    await src.close();
    await waiting;
  });
});

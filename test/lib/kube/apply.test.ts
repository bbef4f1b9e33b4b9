import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  APPLY_PATCH,
  applyAnnotations,
  applyServiceCondition,
  applyStatus,
  type Condition,
  conditionForApply,
  setCondition,
} from '../../../lib/kube/apply.ts';
import { Resources } from '../../../lib/kube/client.ts';
import { api, Capture, fakeClient } from './support.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0, 123);
const T1 = T0 + 60_000;

describe('conditionForApply (pure)', () => {
  const existing: Condition[] = [
    {
      type: 'portico.dev/IPAllocated',
      status: 'False',
      reason: 'PoolExhausted',
      message: 'm',
      lastTransitionTime: '2025-01-01T00:00:00Z',
    },
    {
      type: 'portico.dev/Announced',
      status: 'True',
      reason: 'Announced',
      message: 'node-1',
      lastTransitionTime: '2025-02-02T00:00:00Z',
    },
  ];
  test('new condition: lastTransitionTime = now (second precision)', () => {
    const c = conditionForApply(undefined, { type: 'X', status: 'True', reason: 'R', message: '' }, T0);
    expect(c.lastTransitionTime).toBe('2026-01-01T12:00:00Z');
  });
  test('same status, new reason/message: lastTransitionTime kept', () => {
    const c = conditionForApply(
      existing,
      { type: 'portico.dev/IPAllocated', status: 'False', reason: 'NoMatchingPool', message: 'x' },
      T1,
    );
    expect(c).toEqual({
      type: 'portico.dev/IPAllocated',
      status: 'False',
      reason: 'NoMatchingPool',
      message: 'x',
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
  });
  test('status flips: lastTransitionTime moves; observedGeneration passes through', () => {
    const c = conditionForApply(
      existing,
      {
        type: 'portico.dev/IPAllocated',
        status: 'True',
        reason: 'Allocated',
        message: '',
        observedGeneration: 4,
      },
      T1,
    );
    expect(c.lastTransitionTime).toBe('2026-01-01T12:01:00Z');
    expect(c.observedGeneration).toBe(4);
  });
  test('accepts client-node models whose lastTransitionTime is a Date', () => {
    const c = conditionForApply(
      [{ type: 'X', status: 'True', lastTransitionTime: new Date(Date.UTC(2025, 6, 1, 1, 2, 3, 456)) }],
      { type: 'X', status: 'True', reason: 'R', message: '' },
      T1,
    );
    expect(c.lastTransitionTime).toBe('2025-07-01T01:02:03Z');
  });
  test('setCondition replaces only its type', () => {
    const list = setCondition(
      existing,
      { type: 'portico.dev/Announced', status: 'False', reason: 'Withdrawn', message: '' },
      T1,
    );
    expect(list.map((c) => `${c.type}=${c.status}`)).toEqual([
      'portico.dev/IPAllocated=False',
      'portico.dev/Announced=False',
    ]);
    expect(list[0]).toBe(existing[0]);
  });
});

describe('apply requests (nock)', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  test('applyServiceCondition: PATCH /status, apply-patch content type, fieldManager + force, only that condition', async () => {
    const body = new Capture<{ status: { conditions: Condition[] } }>();
    let query: Record<string, unknown> = {};
    api()
      .patch('/api/v1/namespaces/ns/services/web/status', body.match)
      .matchHeader('content-type', APPLY_PATCH)
      .query((q) => {
        query = q;
        return true;
      })
      .reply(200, { metadata: { name: 'web' } });
    await applyServiceCondition(
      fakeClient(),
      { namespace: 'ns', name: 'web' },
      { type: 'portico.dev/Announced', status: 'True', reason: 'Announced', message: 'node-1 eth0' },
      {
        fieldManager: 'portico-speaker',
        current: {
          status: {
            conditions: [
              {
                type: 'portico.dev/Announced',
                status: 'True',
                reason: 'Old',
                message: '',
                lastTransitionTime: '2025-05-05T00:00:00Z',
              },
            ],
          },
        },
      },
    );
    expect(query).toEqual({ fieldManager: 'portico-speaker', force: 'true' });
    expect(body.last).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'ns' },
      status: {
        conditions: [
          {
            type: 'portico.dev/Announced',
            status: 'True',
            reason: 'Announced',
            message: 'node-1 eth0',
            lastTransitionTime: '2025-05-05T00:00:00Z',
          },
        ],
      },
    });
  });

  test('without `current`, the object is read first; extraStatus rides along', async () => {
    const body = new Capture<{ status: Record<string, unknown> }>();
    api()
      .get('/api/v1/namespaces/ns/services/web/status')
      .reply(200, {
        status: {
          conditions: [
            { type: 'portico.dev/IPAllocated', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z' },
          ],
        },
      });
    api().patch('/api/v1/namespaces/ns/services/web/status', body.match).query(true).reply(200, {});
    await applyServiceCondition(
      fakeClient(),
      { namespace: 'ns', name: 'web' },
      { type: 'portico.dev/IPAllocated', status: 'True', reason: 'Allocated', message: '192.0.2.1' },
      {
        fieldManager: 'portico-controller',
        extraStatus: { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] } },
      },
    );
    expect(body.last?.status).toEqual({
      loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] },
      conditions: [
        {
          type: 'portico.dev/IPAllocated',
          status: 'True',
          reason: 'Allocated',
          message: '192.0.2.1',
          lastTransitionTime: '2024-01-01T00:00:00Z',
        },
      ],
    });
  });

  test('applyStatus on a cluster-scoped custom resource; applyAnnotations on the main resource; 409 surfaces', async () => {
    const pool = {
      group: 'portico.dev',
      version: 'v1alpha1',
      plural: 'ipaddresspools',
      namespaced: false,
      kind: 'IPAddressPool',
    };
    const s = new Capture<Record<string, unknown>>();
    api()
      .patch('/apis/portico.dev/v1alpha1/ipaddresspools/a/status', s.match)
      .query({ fieldManager: 'm', force: 'false' })
      .reply(200, {});
    await applyStatus(
      fakeClient(),
      { resource: pool, name: 'a' },
      { assigned: 1 },
      { fieldManager: 'm', force: false },
    );
    expect(s.last).toEqual({
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name: 'a' },
      status: { assigned: 1 },
    });

    const a = new Capture<Record<string, unknown>>();
    api()
      .patch('/api/v1/namespaces/ns/services/web', a.match)
      .query(true)
      .reply(409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'conflict with "kubectl"' });
    await expect(
      applyAnnotations(
        fakeClient(),
        { resource: Resources.services, namespace: 'ns', name: 'web' },
        { 'portico.dev/allocated-from-pool': 'a' },
        {
          fieldManager: 'm',
          force: false,
        },
      ),
    ).rejects.toMatchObject({ statusCode: 409, reason: 'Conflict' });
    expect(a.last).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'ns', annotations: { 'portico.dev/allocated-from-pool': 'a' } },
    });
    await expect(
      applyStatus(fakeClient(), { resource: Resources.services, name: 'x' }, {}, { fieldManager: 'm' }),
    ).rejects.toThrow(/namespace/);
  });
});

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  annotationUpToDate,
  carriesOurState,
  desiredState,
  managedBy,
  restoreEntryOf,
  type ServiceObject,
  statusUpToDate,
  toRequest,
} from '../../controllers/service-state.ts';

function svc(over: Partial<ServiceObject['spec']> = {}, annotations?: Record<string, string>): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 's',
      namespace: 'ns',
      generation: 3,
      creationTimestamp: '2026-01-01T00:00:00Z',
      annotations,
    },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: 's' }, ...over },
  };
}

describe('toRequest', () => {
  test('native keys win over MetalLB aliases; aliases are reported for DeprecatedAnnotation', () => {
    const m = toRequest(
      svc(
        {},
        {
          'portico.dev/load-balancer-ips': '192.0.2.1',
          'metallb.io/loadBalancerIPs': '192.0.2.9',
          'metallb.universe.tf/address-pool': 'p1',
          'metallb.io/allow-shared-ip': 'k',
        },
      ),
      { team: 'a' },
    );
    expect(m.invalid).toBeNull();
    expect(m.request).toMatchObject({
      namespace: 'ns',
      name: 's',
      requestedIPs: ['192.0.2.1'],
      pool: 'p1',
      sharingKey: 'k',
      namespaceLabels: { team: 'a' },
      ports: [{ port: 80, protocol: 'TCP' }],
    });
    expect(m.deprecated.map((d) => d.key).sort()).toEqual([
      'metallb.io/allow-shared-ip',
      'metallb.universe.tf/address-pool',
    ]);
    expect(m.disagreements).toHaveLength(1);
  });
  test('spec.loadBalancerIP is used when no annotation asks', () => {
    expect(toRequest(svc({ loadBalancerIP: '192.0.2.7' }), undefined).request.requestedIPs).toEqual([
      '192.0.2.7',
    ]);
  });
  test.each([
    [{ 'portico.dev/load-balancer-ips': 'nope' }],
    [{ 'portico.dev/load-balancer-ips': '192.0.2.1,,192.0.2.2' }],
    [{ 'portico.dev/address-pool': 'Bad Name' }],
  ])('garbage %j → invalid with a message, never a throw', (ann) => {
    const m = toRequest(svc({}, ann), undefined);
    expect(m.invalid).toMatch(/annotation/);
  });
  test('never throws on arbitrary annotation values', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            'portico.dev/load-balancer-ips',
            'portico.dev/address-pool',
            'portico.dev/allow-shared-ip',
            'metallb.io/loadBalancerIPs',
          ),
          fc.string(),
        ),
        (ann) => {
          const m = toRequest(svc({}, ann), undefined);
          expect(typeof m.invalid === 'string' || m.invalid === null).toBe(true);
        },
      ),
    );
  });
});

describe('desired vs current state (no churn)', () => {
  const ok = { ok: true as const, ips: ['192.0.2.1'], pool: 'p', released: [], changed: true };
  test('a Service already carrying the desired state needs no write', () => {
    const want = desiredState(ok, 3);
    const s = svc({}, { 'portico.dev/allocated-from-pool': 'p' });
    s.status = {
      loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] },
      conditions: [{ ...want.condition, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    };
    expect(statusUpToDate(s, want)).toBe(true);
    expect(annotationUpToDate(s, want)).toBe(true);
    expect(carriesOurState(s)).toBe(true);
  });
  test('any difference in IPs, order, ipMode, reason, message or generation needs a write', () => {
    const want = desiredState(ok, 3);
    const base = svc();
    const cond = { ...want.condition, lastTransitionTime: 'x' };
    const variants: ServiceObject['status'][] = [
      { loadBalancer: { ingress: [] }, conditions: [cond] },
      { loadBalancer: { ingress: [{ ip: '192.0.2.2', ipMode: 'VIP' }] }, conditions: [cond] },
      { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'Proxy' }] }, conditions: [cond] },
      { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] }, conditions: [] },
      {
        loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] },
        conditions: [{ ...cond, message: 'other' }],
      },
      {
        loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] },
        conditions: [{ ...cond, observedGeneration: 2 }],
      },
    ];
    for (const st of variants) expect(statusUpToDate({ ...base, status: st }, want)).toBe(false);
  });
  test('failure keeps the held IPs and says why', () => {
    const d = desiredState(
      {
        ok: false,
        reason: 'OutOfPool',
        message: 'gone',
        ips: ['192.0.2.1'],
        pool: 'old',
        released: [],
        changed: false,
      },
      1,
    );
    expect(d).toMatchObject({
      ips: ['192.0.2.1'],
      pool: 'old',
      condition: { status: 'False', reason: 'OutOfPool' },
    });
  });
  test('annotation absent when there is no pool', () => {
    const d = desiredState(
      { ok: false, reason: 'PoolExhausted', message: 'm', ips: [], pool: null, released: [], changed: false },
      1,
    );
    expect(annotationUpToDate(svc(), d)).toBe(true);
    expect(annotationUpToDate(svc({}, { 'portico.dev/allocated-from-pool': 'p' }), d)).toBe(false);
  });
});

describe('restoreEntryOf', () => {
  test('reads ingress IPs and the recorded pool (MetalLB key too)', () => {
    const s = svc({}, { 'metallb.io/ip-allocated-from-pool': 'mlb' });
    s.status = { loadBalancer: { ingress: [{ ip: '192.0.2.5' }, { hostname: 'x.example' }] } };
    expect(restoreEntryOf(s, undefined)).toMatchObject({ ips: ['192.0.2.5'], pool: 'mlb' });
    expect(restoreEntryOf(svc(), undefined)).toBeNull();
  });
});

describe('managedBy', () => {
  test('true only when the manager owns some field; tolerates missing or malformed managedFields', () => {
    const obj = (managedFields: unknown) => ({ metadata: { managedFields } });
    const mf = [
      { manager: 'kubectl' },
      { manager: 'portico-controller:b.example/lb', subresource: 'status' },
    ];
    expect(managedBy(obj(mf), 'portico-controller:b.example/lb')).toBe(true);
    expect(managedBy(obj(mf), 'portico-controller')).toBe(false);
    expect(managedBy(obj(undefined), 'portico-controller')).toBe(false);
    expect(managedBy(obj('nope'), 'portico-controller')).toBe(false);
    expect(managedBy(obj([null, 3]), 'portico-controller')).toBe(false);
    expect(managedBy(undefined, 'portico-controller')).toBe(false);
  });
});

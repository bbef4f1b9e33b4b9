import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as state from '../../controllers/service-state.ts';
import { desiredState, type ServiceObject } from '../../controllers/service-state.ts';
import { READ_ANNOTATIONS, trimNamespace, trimPool, trimService } from '../../controllers/trim.ts';
import { ANNOTATION_ALIASES, ANNOTATIONS } from '../../lib/api/annotations.ts';
import { servedByPortico } from '../../lib/api/service-class.ts';
import { conditionForApply } from '../../lib/kube/apply.ts';

// A Service as the apiserver sends it after kubectl apply, our controller and a speaker wrote it.
function fullService(
  annotations: Record<string, string> = {},
  over: Partial<NonNullable<ServiceObject['spec']>> = {},
): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: '0b1c2d3e-0000-4000-8000-000000000001',
      resourceVersion: '4711',
      generation: 2,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', tier: 'front' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': `{"apiVersion":"v1","kind":"Service",${'"x":1,'.repeat(50)}"y":2}`,
        ...annotations,
      },
      managedFields: [
        { manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:ports': {} } } },
        { manager: 'portico-controller', operation: 'Apply', subresource: 'status', fieldsV1: {} },
      ],
      finalizers: ['service.kubernetes.io/load-balancer-cleanup'],
    },
    spec: {
      type: 'LoadBalancer',
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'PreferDualStack',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 31000 } as {
          port: number;
          protocol: string;
        },
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53, nodePort: 31001 } as {
          port: number;
          protocol: string;
        },
      ],
      externalTrafficPolicy: 'Local',
      selector: { app: 'web' },
      clusterIP: '10.0.0.7',
      clusterIPs: ['10.0.0.7', 'fd00:10::7'],
      sessionAffinity: 'None',
      healthCheckNodePort: 32000,
      internalTrafficPolicy: 'Cluster',
      ...over,
    } as ServiceObject['spec'],
    status: {
      loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] },
      conditions: [
        {
          type: 'portico.dev/Announced',
          status: 'True',
          reason: 'Announced',
          message: 'node-1 eth0',
          lastTransitionTime: '2026-01-01T00:00:02Z',
        },
        {
          type: 'portico.dev/IPAllocated',
          status: 'True',
          reason: 'Allocated',
          message: 'allocated 192.0.2.10 from pool lan',
          lastTransitionTime: '2026-01-01T00:00:01Z',
          observedGeneration: 2,
        },
      ],
    },
  };
}

/** Everything the controller derives from a Service, for comparing a full and a trimmed copy. */
function readings(svc: ServiceObject, nsLabels?: Record<string, string>) {
  const cfg = { lbClass: 'portico.dev/lb', handleUnclassed: true };
  const results = [
    { ok: true as const, ips: ['192.0.2.10'], pool: 'lan', released: [], changed: false },
    { ok: true as const, ips: ['192.0.2.11'], pool: 'other', released: [], changed: true },
    {
      ok: false as const,
      reason: 'PoolExhausted' as const,
      message: 'no free address',
      ips: [],
      pool: null,
      released: [],
      changed: false,
    },
  ];
  const wants = results.flatMap((r) => [desiredState(r, svc.metadata?.generation), desiredState(r, 1)]);
  return {
    served: servedByPortico(svc, cfg),
    servedClassOnly: servedByPortico(svc, { ...cfg, handleUnclassed: false }),
    ours: state.carriesOurState(svc),
    key: state.serviceKeyOf(svc),
    request: state.toRequest(svc, nsLabels),
    ingress: state.ingressIPs(svc),
    recorded: state.recordedPool(svc),
    restore: state.restoreEntryOf(svc, nsLabels),
    statusOk: wants.map((w) => state.statusUpToDate(svc, w)),
    annotationOk: wants.map((w) => state.annotationUpToDate(svc, w)),
    applied: wants.map((w) =>
      conditionForApply(
        svc.status?.conditions as Parameters<typeof conditionForApply>[0],
        w.condition,
        Date.UTC(2026, 0, 2),
      ),
    ),
    // The EventRecorder's `regarding` reference.
    ref: {
      apiVersion: svc.apiVersion,
      kind: svc.kind,
      name: svc.metadata?.name,
      namespace: svc.metadata?.namespace,
      uid: svc.metadata?.uid,
      resourceVersion: svc.metadata?.resourceVersion,
    },
    generation: svc.metadata?.generation,
  };
}

describe('trimService', () => {
  test('keeps what the controller reads, drops the rest, and leaves the input alone', () => {
    const full = fullService({ 'portico.dev/allocated-from-pool': 'lan', 'metallb.io/address-pool': 'lan' });
    const before = structuredClone(full);
    const t = trimService(full);
    expect(full).toEqual(before);
    expect(t.metadata).toEqual({
      name: 'web',
      namespace: 'shop',
      uid: '0b1c2d3e-0000-4000-8000-000000000001',
      resourceVersion: '4711',
      generation: 2,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', tier: 'front' },
      annotations: { 'portico.dev/allocated-from-pool': 'lan', 'metallb.io/address-pool': 'lan' },
    });
    expect(t.spec).toEqual({
      type: 'LoadBalancer',
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'PreferDualStack',
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
      externalTrafficPolicy: 'Local',
      selector: { app: 'web' },
    });
    expect(t.status?.conditions?.map((c) => c.type)).toEqual(['portico.dev/IPAllocated']);
    expect(JSON.stringify(t).length).toBeLessThan(JSON.stringify(full).length / 2);
    expect(readings(t, { team: 'a' })).toEqual(readings(full, { team: 'a' }));
  });

  test('a Service without annotations, status or spec fields trims to the same readings', () => {
    const bare: ServiceObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a', namespace: 'n' },
    };
    expect(trimService(bare)).toEqual(bare);
    expect(readings(trimService(bare))).toEqual(readings(bare));
    const noOurs = fullService();
    const t = trimService(noOurs);
    expect(t.metadata?.annotations).toBeUndefined();
    expect(readings(t)).toEqual(readings(noOurs));
  });

  test('every annotation key the controller resolves is kept (native and aliases)', () => {
    for (const k of [...Object.values(ANNOTATIONS), ...Object.values(ANNOTATION_ALIASES).flat()])
      expect(READ_ANNOTATIONS.has(k)).toBe(true);
  });

  test('property: for any annotations, spec and status the controller reads the same from the trimmed copy', () => {
    const known = [...READ_ANNOTATIONS];
    const value = fc.oneof(
      fc.constantFrom('', ' ', 'lan', 'p1', 'k', '192.0.2.1', '2001:db8::1', '192.0.2.1,2001:db8::1', 'x y'),
      fc.string({ maxLength: 8 }),
    );
    const annotations = fc.dictionary(
      fc.oneof(fc.constantFrom(...known), fc.constantFrom('other/key', 'kubectl.kubernetes.io/x')),
      value,
      { maxKeys: 8 },
    );
    const spec = fc.record(
      {
        type: fc.constantFrom('LoadBalancer', 'ClusterIP', 'NodePort'),
        loadBalancerClass: fc.constantFrom('portico.dev/lb', 'other', ''),
        loadBalancerIP: fc.constantFrom('', '192.0.2.5', 'bad'),
        ipFamilies: fc.constantFrom(['IPv4'], ['IPv6'], ['IPv4', 'IPv6'], []),
        ipFamilyPolicy: fc.constantFrom('SingleStack', 'PreferDualStack', 'RequireDualStack'),
        externalTrafficPolicy: fc.constantFrom('Cluster', 'Local'),
      },
      { requiredKeys: [] },
    );
    const conditions = fc.subarray(fullService().status?.conditions ?? []);
    const ingress = fc.constantFrom(
      [],
      [{ ip: '192.0.2.10', ipMode: 'VIP' }],
      [{ ip: '192.0.2.11' }],
      [{ hostname: 'lb.example' }],
    );
    fc.assert(
      fc.property(annotations, spec, conditions, ingress, (a, sp, conds, ing) => {
        const full = fullService(a, sp as Partial<NonNullable<ServiceObject['spec']>>);
        full.status = { loadBalancer: { ingress: [...ing] }, conditions: conds };
        expect(readings(trimService(full), { t: '1' })).toEqual(readings(full, { t: '1' }));
      }),
      { numRuns: 300 },
    );
  });
});

describe('trimNamespace / trimPool', () => {
  test('a Namespace keeps identity and labels only', () => {
    const ns = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'shop',
        uid: 'u',
        resourceVersion: '9',
        labels: { team: 'a' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    expect(trimNamespace(ns)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', uid: 'u', resourceVersion: '9', labels: { team: 'a' } },
    });
  });

  test('a pool keeps spec, status, labels and annotations whole (the MetalLB mirror reads them), drops managedFields', () => {
    const pool = {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: {
        name: 'lan',
        uid: 'u',
        resourceVersion: '3',
        generation: 4,
        managedFields: [{}],
        labels: { 'portico.dev/mirrored-from': 'metallb' },
        annotations: { 'portico.dev/metallb-source': 'metallb-system/lan' },
      },
      spec: { addresses: ['192.0.2.0/28'], allocation: { priority: 1 } },
      status: { assignedIPv4: '1', conditions: [] },
    };
    const t = trimPool(pool);
    expect(t.metadata).toEqual({
      name: 'lan',
      uid: 'u',
      resourceVersion: '3',
      generation: 4,
      labels: { 'portico.dev/mirrored-from': 'metallb' },
      annotations: { 'portico.dev/metallb-source': 'metallb-system/lan' },
    });
    expect(t.spec).toBe(pool.spec);
    expect(t.status).toBe(pool.status);
  });
});

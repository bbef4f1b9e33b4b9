// The controller's and the speaker's "is this Service ours" tables (merged here with the function).
import { describe, expect, it, test } from 'vitest';
import { type ServiceClassFields, servedByPortico } from '../../../lib/api/service-class.ts';

const cfg = { lbClass: 'portico.dev/lb', handleUnclassed: true };

function svc(over: { type?: string; loadBalancerClass?: string | null } = {}): ServiceClassFields {
  return { metadata: { name: 's', namespace: 'ns' }, spec: { type: 'LoadBalancer', ...over } };
}

describe('servedByPortico (controller cases)', () => {
  test.each([
    [{}, cfg, true],
    [{}, { ...cfg, handleUnclassed: false }, false],
    [{ loadBalancerClass: 'portico.dev/lb' }, { ...cfg, handleUnclassed: false }, true],
    [{ loadBalancerClass: 'other.example/lb' }, cfg, false],
    [{ type: 'ClusterIP' }, cfg, false],
    [{ type: 'NodePort', loadBalancerClass: 'portico.dev/lb' }, cfg, false],
  ] as const)('%j with %j → %s', (spec, c, want) => {
    expect(servedByPortico(svc(spec), c)).toBe(want);
  });
  test('undefined and spec-less objects are not handled', () => {
    expect(servedByPortico(undefined, cfg)).toBe(false);
    expect(servedByPortico({ metadata: { name: 'x' } }, cfg)).toBe(false);
  });
});

describe('servedByPortico (speaker cases)', () => {
  it.each([
    [{ type: 'LoadBalancer' }, true, true],
    [{ type: 'LoadBalancer' }, false, false],
    [{ type: 'LoadBalancer', cls: '' }, false, false],
    [{ type: 'LoadBalancer', cls: 'portico.dev/lb' }, false, true],
    [{ type: 'LoadBalancer', cls: 'other.io/lb' }, true, false],
    [{ type: 'ClusterIP' }, true, false],
    [{ type: 'NodePort', cls: 'portico.dev/lb' }, true, false],
  ] as const)('%j with handleUnclassed=%s → %s', (spec, unclassed, want) => {
    const s = svc({ type: spec.type, ...('cls' in spec ? { loadBalancerClass: spec.cls } : {}) });
    expect(servedByPortico(s, { lbClass: 'portico.dev/lb', handleUnclassed: unclassed })).toBe(want);
  });
  it('an undefined or spec-less object is not handled', () => {
    expect(servedByPortico(undefined, cfg)).toBe(false);
    expect(servedByPortico({}, cfg)).toBe(false);
  });
  it('a null class (client-node objects) counts as unclassed', () => {
    expect(servedByPortico(svc({ loadBalancerClass: null }), cfg)).toBe(true);
    expect(servedByPortico(svc({ loadBalancerClass: null }), { ...cfg, handleUnclassed: false })).toBe(false);
  });
});

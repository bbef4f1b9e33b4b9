import { describe, expect, test } from 'vitest';
import { chooseResources, sameResource, versionOrder } from '../../../dns/sources/discovery.ts';

const GW = 'gateway.networking.k8s.io';
const res = (name: string, kind: string, verbs = ['get', 'list', 'watch']) => ({
  name,
  kind,
  namespaced: true,
  verbs,
});

describe('Gateway API discovery', () => {
  test('preferred version first, then discovery order, no duplicates', () => {
    expect(
      versionOrder({
        name: GW,
        versions: [{ version: 'v1' }, { version: 'v1beta1' }, { version: 'v1alpha2' }],
        preferredVersion: { version: 'v1' },
      }),
    ).toEqual(['v1', 'v1beta1', 'v1alpha2']);
    expect(
      versionOrder({
        versions: [{ version: 'v1beta1' }, { version: 'v1' }],
        preferredVersion: { version: 'v1' },
      }),
    ).toEqual(['v1', 'v1beta1']);
    expect(versionOrder({})).toEqual([]);
  });

  test('each kind at the first version that serves it; subresources and unwatchable ones skipped', () => {
    const group = {
      name: GW,
      versions: [{ version: 'v1' }, { version: 'v1alpha2' }],
      preferredVersion: { version: 'v1' },
    };
    const lists = new Map([
      [
        'v1',
        {
          resources: [
            res('gateways', 'Gateway'),
            res('gateways/status', 'Gateway'),
            res('httproutes', 'HTTPRoute'),
            res('grpcroutes', 'GRPCRoute', ['get']),
          ],
        },
      ],
      [
        'v1alpha2',
        {
          resources: [
            res('tlsroutes', 'TLSRoute'),
            res('grpcroutes', 'GRPCRoute'),
            res('tcproutes', 'TCPRoute'),
          ],
        },
      ],
    ]);
    const got = chooseResources(group, lists);
    expect([...got.keys()].sort()).toEqual(['GRPCRoute', 'Gateway', 'HTTPRoute', 'TLSRoute']);
    expect(got.get('Gateway')).toEqual({
      group: GW,
      version: 'v1',
      plural: 'gateways',
      namespaced: true,
      kind: 'Gateway',
    });
    expect(got.get('GRPCRoute')?.version).toBe('v1alpha2');
    expect(got.get('TLSRoute')?.version).toBe('v1alpha2');
  });

  test('a version whose resource list could not be read is skipped', () => {
    const group = {
      name: GW,
      versions: [{ version: 'v1' }, { version: 'v1beta1' }],
      preferredVersion: { version: 'v1' },
    };
    const got = chooseResources(group, new Map([['v1beta1', { resources: [res('gateways', 'Gateway')] }]]));
    expect(got.get('Gateway')?.version).toBe('v1beta1');
    expect(got.has('HTTPRoute')).toBe(false);
  });

  test('sameResource', () => {
    const a = { group: GW, version: 'v1', plural: 'gateways', namespaced: true, kind: 'Gateway' };
    expect(sameResource(a, { ...a })).toBe(true);
    expect(sameResource(a, { ...a, version: 'v1beta1' })).toBe(false);
    expect(sameResource(a, undefined)).toBe(false);
  });
});

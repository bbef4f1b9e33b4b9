// Dual-stack variants on a dual-stack kube-apiserver (see dualstack-plane.ts for why it is private):
// SingleStack IPv6, RequireDualStack and PreferDualStack from one mixed pool (primary family
// first), PreferDualStack falling back to one family, RequireDualStack without a dual pool →
// DualStackUnavailable (condition and Event), requested IPv6 address.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type DualStackPlane, startDualStackControlPlane } from './dualstack-plane.ts';
import { condition, ips, TestEnv } from './support.ts';

let plane: DualStackPlane;
let env: TestEnv;

beforeAll(async () => {
  plane = await startDualStackControlPlane();
  env = await TestEnv.create(plane.cp.kubeConfig(), 'dual');
}, 300_000);

afterAll(async () => {
  await env?.cleanup();
  await plane?.stop();
});

describe('IPAM controller: dual-stack', () => {
  test('families and policies map to VIPs from one pool; missing family → DualStackUnavailable', async () => {
    const e = env;
    const both = await e.createPool('both', { addresses: ['198.51.100.224/28', '2001:db8:d5::/120'] });
    const v4only = await e.createPool('v4only', { addresses: ['203.0.113.128/28'], autoAssign: false });
    const ctl = await e.start();
    await ctl.whenLeading();

    await e.createService('v6', { ipFamilies: ['IPv6'] });
    expect(await e.waitIPs('v6')).toEqual(['2001:db8:d5::']);

    await e.createService('require', { ipFamilyPolicy: 'RequireDualStack' });
    expect(await e.waitIPs('require', 2)).toEqual(['198.51.100.224', '2001:db8:d5::1']);

    await e.createService('prefer-v6-first', {
      ipFamilyPolicy: 'PreferDualStack',
      ipFamilies: ['IPv6', 'IPv4'],
    });
    expect(await e.waitIPs('prefer-v6-first', 2)).toEqual(['2001:db8:d5::2', '198.51.100.225']);
    // The annotation is written right after the status.
    await e.waitService(
      'prefer-v6-first',
      (x) => x.metadata?.annotations?.['portico.dev/allocated-from-pool'] === both,
      `allocated-from-pool = ${both}`,
    );

    // Only IPv4 in the pool it asks for: PreferDualStack settles for one family...
    await e.createService('prefer-fallback', {
      ipFamilyPolicy: 'PreferDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
      annotations: { 'portico.dev/address-pool': v4only },
    });
    expect(await e.waitIPs('prefer-fallback')).toEqual(['203.0.113.128']);
    // ...RequireDualStack does not.
    await e.createService('require-fails', {
      ipFamilyPolicy: 'RequireDualStack',
      annotations: { 'portico.dev/address-pool': v4only },
    });
    const f = await e.waitReason('require-fails', 'DualStackUnavailable');
    expect(ips(f)).toEqual([]);
    expect(condition(f)?.message).toContain('IPv6');
    await e.waitEvent('require-fails', 'AllocationFailed', 'DualStackUnavailable');

    await e.createService('v6-requested', {
      ipFamilies: ['IPv6'],
      annotations: { 'portico.dev/load-balancer-ips': '2001:db8:d5::80' },
    });
    expect(await e.waitIPs('v6-requested')).toEqual(['2001:db8:d5::80']);
  });
});

// Restore before allocate: a restarted controller rebuilds every assignment from what the apiserver
// holds, changes no IP, writes nothing when nothing changed, frees IPs of Services deleted while it
// was down, and settles conflicting assignments deterministically (the older Service keeps the IP).
import { afterEach, describe, expect, test } from 'vitest';
import type { RunningController } from '../../../controllers/index.ts';
import { applyStatus, Resources } from '../../../lib/kube/index.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { condition, ips, sleep, TestEnv, until } from './support.ts';

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

async function writes(ctl: RunningController): Promise<number> {
  const m = await ctl.metrics.registry.getSingleMetric('portico_controller_writes_total')?.get();
  return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
}

async function snapshot(e: TestEnv, names: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const n of names) out.set(n, ips(await e.getService(n)));
  return out;
}

describe('IPAM controller: restart', () => {
  test('restart with many Services: not one IP changes and no Service is written; a Service deleted while down frees its IP', async () => {
    const e = await TestEnv.create(sharedKubeConfig(), 'restart');
    env = e;
    // Pool order and sharing make the state non-trivial: requested IPs, shared IPs, two pools.
    await e.createPool('r1', { addresses: ['198.51.100.128/26'] });
    await e.createPool('r2', { addresses: ['198.51.100.192/28'], autoAssign: false });
    let ctl = await e.start();
    await ctl.whenLeading();
    const names: string[] = [];
    for (let i = 0; i < 40; i++) {
      const n = `svc-${i}`;
      names.push(n);
      const annotations: Record<string, string> = {};
      if (i % 10 === 3) annotations['portico.dev/load-balancer-ips'] = `198.51.100.${150 + i}`;
      if (i % 10 === 5) annotations['portico.dev/address-pool'] = e.poolName('r2');
      if (i % 10 === 7) annotations['portico.dev/allow-shared-ip'] = 'shared';
      await e.createService(n, { annotations, ports: [{ port: 1000 + i }] });
    }
    for (const n of names) await e.waitIPs(n);
    const before = await snapshot(e, names);
    const shared = names.filter((_, i) => i % 10 === 7).map((n) => before.get(n)?.[0]);
    expect(new Set(shared).size).toBe(1); // they really share

    await ctl.stop();
    // While the controller is down: one Service goes away, one new one arrives.
    await e.deleteService('svc-0');
    await e.createService('late', { ports: [{ port: 80 }] });

    ctl = await e.start();
    await ctl.whenLeading();
    const lateIPs = await e.waitIPs('late');
    // svc-0 held the lowest address of r1; it is free again and the newcomer gets it.
    expect(lateIPs).toEqual(before.get('svc-0'));
    await sleep(1000);
    const after = await snapshot(e, names.slice(1));
    for (const n of names.slice(1)) expect(after.get(n), n).toEqual(before.get(n));
    // Only the newcomer was written (status + annotation); pool status may refresh (counts moved).
    const m = await ctl.metrics.registry.getSingleMetric('portico_controller_writes_total')?.get();
    const byKind = Object.fromEntries((m?.values ?? []).map((v) => [v.labels.kind, v.value]));
    expect(byKind['service-status']).toBe(1);
    expect(byKind['service-annotation']).toBe(1);
    expect(byKind.clear).toBeUndefined();
    expect(await writes(ctl)).toBe(2 + (byKind['pool-status'] ?? 0));
  });

  test('conflicting restores: the older Service keeps the IP, the younger gets a new one with an Event', async () => {
    const e = await TestEnv.create(sharedKubeConfig(), 'conflict');
    env = e;
    const pool = await e.createPool('c', { addresses: ['203.0.113.96/29'] });
    await e.createService('older');
    await sleep(1100); // creationTimestamp has second precision
    await e.createService('younger');
    // Both claim the same IP (as after a manual edit or a botched migration), while no controller runs.
    for (const n of ['older', 'younger']) {
      await applyStatus(
        e.client,
        { resource: Resources.services, namespace: e.ns, name: n },
        { loadBalancer: { ingress: [{ ip: '203.0.113.100', ipMode: 'VIP' }] } },
        { fieldManager: 'someone-else' },
      );
      await e.patchService(n, { metadata: { annotations: { 'portico.dev/allocated-from-pool': pool } } });
    }
    const ctl = await e.start();
    await ctl.whenLeading();
    const young = await e.waitService(
      'younger',
      (s) => ips(s).length === 1 && ips(s)[0] !== '203.0.113.100' && condition(s)?.status === 'True',
      'younger moved',
    );
    expect(ips(young)).toEqual(['203.0.113.96']);
    await e.waitEvent('younger', 'ConflictingAssignment', `${e.ns}/older`);
    const old = await e.waitService('older', (s) => condition(s)?.status === 'True', 'older allocated');
    expect(ips(old)).toEqual(['203.0.113.100']);
    await until(async () => (await e.getPool(pool)).status?.assignedIPv4 === '2', 10_000, 'assigned 2');
  });
});

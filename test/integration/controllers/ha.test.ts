// Two real controller processes (`node controllers/main.ts`) on a private control plane: exactly one
// writes; kill -9 of the leader → the standby takes over after the Lease expires, restores, and
// allocates new Services without moving a single existing IP; SIGTERM hands over at once.
// Default flags otherwise: Services without a loadBalancerClass are served (--handle-unclassed).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../envtest/index.ts';
import {
  type ChildController,
  freePort,
  ips,
  metricValue,
  spawnController,
  TestEnv,
  until,
} from './support.ts';

let cp: ControlPlane;
let logDir: string;
const children: ChildController[] = [];

beforeAll(async () => {
  cp = await startControlPlane();
  logDir = await mkdtemp(join(tmpdir(), 'portico-ha-'));
}, 300_000);

afterAll(async () => {
  for (const c of children) await c.kill9().catch(() => {});
  await cp?.stop();
  await rm(logDir, { recursive: true, force: true });
});

const LEASE = ['--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.3'];

async function leaderOf(a: ChildController, b: ChildController): Promise<[ChildController, ChildController]> {
  return until(
    async () => {
      const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
      const la = metricValue(ma, 'portico_controller_leader');
      const lb = metricValue(mb, 'portico_controller_leader');
      if (la === 1 && lb === 0) return [a, b] as [ChildController, ChildController];
      if (lb === 1 && la === 0) return [b, a] as [ChildController, ChildController];
      return undefined;
    },
    20_000,
    'exactly one leader',
  );
}

describe('IPAM controller: two replicas', () => {
  test('one writer; kill -9 of the leader → takeover, no IP moves, new Services allocated; SIGTERM hands over', async () => {
    const e = await TestEnv.create(cp.kubeConfig(), 'ha');
    await e.client
      .request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'portico-system' } } })
      .catch(() => {});
    await e.createPool('ha', { addresses: ['198.51.100.0/27'] });
    const start = async (id: string) => {
      const c = await spawnController({
        kubeconfig: cp.kubeconfigPath,
        identity: id,
        args: LEASE,
        logDir,
        metricsPort: await freePort(),
      });
      children.push(c);
      await until(
        async () => (await fetch(`http://127.0.0.1:${c.metricsPort}/readyz`)).status === 200,
        30_000,
        `${id} ready`,
      );
      return c;
    };
    const [a, b] = await Promise.all([start('replica-a'), start('replica-b')]);
    const [leader, standby] = await leaderOf(a, b);

    const names = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    for (const n of names) await e.createService(n, { loadBalancerClass: null });
    for (const n of names) await e.waitIPs(n);
    const before = new Map<string, string[]>();
    for (const n of names) before.set(n, ips(await e.getService(n)));
    expect(new Set([...before.values()].map((v) => v[0])).size).toBe(names.length);

    // Only the leader wrote; the standby computed and wrote nothing.
    expect(metricValue(await leader.metrics(), 'portico_controller_writes_total')).toBeGreaterThanOrEqual(
      2 * names.length,
    );
    expect(
      Number.isNaN(metricValue(await standby.metrics(), 'portico_controller_writes_total')) ||
        metricValue(await standby.metrics(), 'portico_controller_writes_total') === 0,
    ).toBe(true);
    expect(metricValue(await standby.metrics(), 'portico_allocations_total')).toSatisfy(
      (v: number) => Number.isNaN(v) || v === 0,
    );

    // kill -9: no Lease release. The standby must wait out the Lease, then restore and serve.
    const killedAt = Date.now();
    await leader.kill9();
    await e.createService('after-kill', { loadBalancerClass: null });
    const got = await e.waitIPs('after-kill', 1, 30_000);
    const takeoverMs = Date.now() - killedAt;
    expect(got[0]).toBe('198.51.100.12'); // the lowest free one: nothing was forgotten
    expect(takeoverMs).toBeLessThan(15_000);
    expect(metricValue(await standby.metrics(), 'portico_controller_leader')).toBe(1);
    for (const n of names) expect(ips(await e.getService(n)), n).toEqual(before.get(n));

    // Graceful stop of the new leader with a fresh standby: the Lease is released, takeover is quick.
    const c = await start('replica-c');
    const t0 = Date.now();
    await standby.term();
    expect((await standby.exited).code).toBe(0);
    expect(standby.log()).toContain('released lease');
    await e.createService('after-term', { loadBalancerClass: null });
    expect(await e.waitIPs('after-term', 1, 15_000)).toEqual(['198.51.100.13']);
    expect(Date.now() - t0).toBeLessThan(3_000 + 5_000);
    expect(metricValue(await c.metrics(), 'portico_controller_leader')).toBe(1);
    for (const n of names) expect(ips(await e.getService(n)), n).toEqual(before.get(n));
    await c.term();
    await e.cleanup();
  });
});

import { afterEach, describe, expect, test } from 'vitest';
import { KubeClient } from '../../../lib/kube/client.ts';
import { LeaseElector } from '../../../lib/kube/leader.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { freshNamespace, until } from './support.ts';

const LEASE_MS = 4_000;
const RENEW_MS = 3_000;
const RETRY_MS = 400;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function elector(
  client: KubeClient,
  namespace: string,
  identity: string,
  leading: Set<string>,
  overlaps: string[],
) {
  const el = new LeaseElector(client, {
    namespace,
    name: 'portico-controller',
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_MS,
    retryPeriodMs: RETRY_MS,
    onStartedLeading: () => {
      if (leading.size > 0) overlaps.push(`${identity} started while ${[...leading].join(',')} led`);
      leading.add(identity);
    },
    onStoppedLeading: () => {
      leading.delete(identity);
    },
  });
  cleanups.push(() => el.stop({ release: false }));
  return el;
}

describe('LeaseElector on a real kube-apiserver', () => {
  test('two electors: exactly one leader; kill (no release) → takeover within leaseDuration + retry; release → immediate takeover', async () => {
    const client = new KubeClient(sharedKubeConfig());
    cleanups.push(() => client.close());
    const ns = await freshNamespace(client, 'lease');
    const leading = new Set<string>();
    const overlaps: string[] = [];
    const a = elector(client, ns, 'a', leading, overlaps);
    const b = elector(client, ns, 'b', leading, overlaps);
    a.start();
    b.start();
    await until(() => leading.size === 1, 10_000, 'a leader');
    // Watch a few renew periods: never two leaders, never a change of leader.
    const first = [...leading][0] as string;
    for (let i = 0; i < 20; i++) {
      expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...leading]).toEqual([first]);
    const [leader, standby] = first === 'a' ? [a, b] : [b, a];
    expect(standby.leader()).toBe(first);

    // Crash: the leader stops renewing and does NOT release.
    await leader.stop({ release: false });
    const killedAt = Date.now();
    await until(() => standby.isLeader(), LEASE_MS + 4 * RETRY_MS + 2_000, 'takeover after crash');
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS + 500);
    // It must also not be early: the standby honours the lease until it expires.
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_MS - 2 * RETRY_MS);

    // A third replica joins as standby; the leader releases (SIGTERM path): takeover at the next poll.
    const c = elector(client, ns, 'c', leading, overlaps);
    c.start();
    await until(() => c.leader() === standby.identity, 5_000, 'c observes the leader');
    await new Promise((r) => setTimeout(r, 2 * RETRY_MS));
    expect(c.isLeader()).toBe(false);
    const releasedAt = Date.now();
    await standby.stop();
    await until(() => c.isLeader(), LEASE_MS, 'takeover after release');
    const releaseTakeoverMs = Date.now() - releasedAt;
    expect(releaseTakeoverMs).toBeLessThan(LEASE_MS / 2);
    expect(overlaps).toEqual([]);
  });

  test('leadership transitions are counted in the Lease', async () => {
    const client = new KubeClient(sharedKubeConfig());
    cleanups.push(() => client.close());
    const ns = await freshNamespace(client, 'lease');
    const leading = new Set<string>();
    const a = elector(client, ns, 'a', leading, []);
    a.start();
    await until(() => a.isLeader(), 10_000, 'a leads');
    await a.stop();
    const b = elector(client, ns, 'b', leading, []);
    b.start();
    await until(() => b.isLeader(), 10_000, 'b leads');
    const lease = await client.request<{
      spec: { holderIdentity: string; leaseTransitions: number; leaseDurationSeconds: number };
    }>({
      path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/portico-controller`,
    });
    expect(lease.spec.holderIdentity).toBe('b');
    expect(lease.spec.leaseTransitions).toBe(1);
    expect(lease.spec.leaseDurationSeconds).toBe(4);
  });
});

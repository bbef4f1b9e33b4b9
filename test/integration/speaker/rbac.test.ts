// Least privilege: the speaker's Kubernetes side runs as a ServiceAccount bound ONLY to the rules
// in speaker/rbac.ts (the chart's source of truth) and still does its whole job: all informers
// sync, it applies its discovery Lease and finds a peer's, writes the Announced condition by
// server-side apply, records an Event, and deletes its Lease on a graceful stop.
//
// It runs in the root network namespace, so it must never announce anything here: its Services use
// a class of their own (other tests' Services are ignored) and VIPs from 203.0.113.0/24, which no
// interface of this machine holds, so the election finds no usable interface (NoEligibleNode).
// Heartbeats only go to the fake peer at 127.0.0.2 on a random port.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../../lib/kube/index.ts';
import { createLogger } from '../../../lib/observe/log.ts';
import { leaseBody, leaseName } from '../../../speaker/kube/peers.ts';
import { type RunningSpeaker, startSpeaker } from '../../../speaker/kube/speaker.ts';
import { SPEAKER_CLUSTER_ROLE_RULES, SPEAKER_NAMESPACE_RULES } from '../../../speaker/rbac.ts';
import { sharedKubeConfig, sharedServiceAccountKubeconfig } from '../../envtest/shared.ts';
import { bindRules } from '../../support/rbac.ts';

const id = randomBytes(3).toString('hex');
const ns = `speaker-rbac-${id}`;
const lbClass = `rbac-${id}.example/lb`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (${String(last ?? '')})`);
}

describe('speaker: RBAC', () => {
  const admin = new KubeClient(sharedKubeConfig());
  const cleanups: Array<() => Promise<unknown>> = [];
  let speaker: RunningSpeaker | undefined;
  let kubeconfig = '';

  const apply = (path: string, body: Record<string, unknown>) =>
    admin.request({
      method: 'PATCH',
      path,
      query: { fieldManager: 'test', force: true },
      contentType: 'application/apply-patch+yaml',
      body,
    });

  beforeAll(async () => {
    kubeconfig = await sharedServiceAccountKubeconfig(ns, 'portico-speaker');
    cleanups.push(
      await bindRules(admin, {
        name: `portico-speaker-${id}`,
        namespace: ns,
        serviceAccount: 'portico-speaker',
        clusterRules: SPEAKER_CLUSTER_ROLE_RULES,
        namespaceRules: SPEAKER_NAMESPACE_RULES,
      }),
    );
    cleanups.push(() => admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }));
    // The node this speaker runs as, a pool in a range no local interface holds, an advertisement.
    await admin.request({
      method: 'POST',
      path: '/api/v1/nodes',
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${id}` } },
    });
    cleanups.push(() => admin.request({ method: 'DELETE', path: `/api/v1/nodes/node-${id}` }));
    await apply(`/apis/portico.dev/v1alpha1/ipaddresspools/rbac-${id}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name: `rbac-${id}` },
      spec: { addresses: ['203.0.113.64/30'], autoAssign: false },
    });
    cleanups.push(() =>
      admin.request({ method: 'DELETE', path: `/apis/portico.dev/v1alpha1/ipaddresspools/rbac-${id}` }),
    );
    // A peer's Lease (written by "another speaker"): the heartbeat goes to loopback only.
    await apply(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${leaseName(`peer-${id}`)}`,
      leaseBody({
        node: `peer-${id}`,
        namespace: ns,
        address: '127.0.0.2',
        durationMs: 60_000,
        now: Date.now(),
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await speaker?.stop({ graceful: false });
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await admin.close();
  });

  it('the rules grant no write on Service specs, Secrets or anything cluster-wide beyond status and Events', () => {
    for (const r of SPEAKER_CLUSTER_ROLE_RULES) {
      expect(r.verbs).not.toContain('*');
      expect(r.verbs).not.toContain('update');
      if (r.resources.includes('services')) expect(r.verbs).toEqual(['list', 'watch']);
    }
    expect(SPEAKER_CLUSTER_ROLE_RULES.some((r) => r.resources.includes('secrets'))).toBe(false);
  });

  it('syncs, keeps its Lease, finds the peer, writes Announced and an Event with exactly those rules', async () => {
    const sa = new KubeClient(loadKubeConfig({ kubeconfig }));
    try {
      await expect(sa.request({ path: `/api/v1/namespaces/${ns}/secrets` })).rejects.toMatchObject({
        statusCode: 403,
      });
      // RBAC reaches the authorizer quickly but not instantly.
      await until(
        () => sa.request({ path: '/apis/portico.dev/v1alpha1/l2advertisements' }).then(() => true),
        10_000,
        'RBAC',
      );
    } finally {
      await sa.close();
    }
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    speaker = await startSpeaker({
      nodeName: `node-${id}`,
      namespace: ns,
      key: Buffer.from('integration test key, long enough'),
      kubeConfig: loadKubeConfig({ kubeconfig }),
      lbClass,
      handleUnclassed: false,
      ignoreExcludeLabel: false,
      heartbeatPort: port,
      heartbeatIntervalMs: 100,
      missedBeats: 3,
      heartbeatAddress: '127.0.0.1',
      garpRefreshMs: 60_000,
      garpBurstMs: [0],
      partitionPolicy: 'hold',
      peerLeaseDurationMs: 30_000,
      metricsAddress: '',
      logger: createLogger({ name: 'speaker-rbac', level: 'warn' }),
    });
    expect(speaker.ready()).toBe(true);
    // Its own Lease, written by the ServiceAccount; the peer came from the other Lease.
    const lease = await admin.request<{
      spec?: { holderIdentity?: string };
      metadata?: { annotations?: Record<string, string> };
    }>({
      path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${leaseName(`node-${id}`)}`,
    });
    expect(lease.spec?.holderIdentity).toBe(`node-${id}`);
    expect(lease.metadata?.annotations?.['portico.dev/heartbeat-address']).toBe('127.0.0.1');
    expect(speaker.engine.membership.view().configured).toBe(1);

    // A Service of our class holding an address of the pool: no local interface holds the subnet,
    // so it cannot be announced; this speaker, the only live one, reports it.
    await apply(`/api/v1/namespaces/${ns}/services/web`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { type: 'LoadBalancer', loadBalancerClass: lbClass, ports: [{ port: 80, protocol: 'TCP' }] },
    });
    await admin.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/services/web/status`,
      query: { fieldManager: 'test-ipam', force: true },
      contentType: 'application/apply-patch+yaml',
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.65', ipMode: 'VIP' }] } },
      },
    });
    type Svc = {
      status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
      metadata?: { managedFields?: Array<{ manager?: string; subresource?: string }> };
    };
    const noAd = await until(
      async () => {
        const s = await admin.request<Svc>({ path: `/api/v1/namespaces/${ns}/services/web` });
        return s.status?.conditions?.find((c) => c.type === 'portico.dev/Announced');
      },
      15_000,
      'Announced condition',
    );
    // Other tests' L2Advertisements on the shared control plane may cover every pool; either way
    // the VIP is not announced here.
    expect(noAd.status).toBe('False');
    expect(['NoL2Advertisement', 'NoEligibleNode']).toContain(noAd.reason);
    await apply(`/apis/portico.dev/v1alpha1/l2advertisements/rbac-${id}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'L2Advertisement',
      metadata: { name: `rbac-${id}` },
      spec: { ipAddressPools: [`rbac-${id}`] },
    });
    cleanups.push(() =>
      admin.request({ method: 'DELETE', path: `/apis/portico.dev/v1alpha1/l2advertisements/rbac-${id}` }),
    );
    const cond = await until(
      async () => {
        const s = await admin.request<Svc>({ path: `/api/v1/namespaces/${ns}/services/web` });
        const c = s.status?.conditions?.find((x) => x.type === 'portico.dev/Announced');
        return c?.reason === 'NoEligibleNode' ? { c, s } : undefined;
      },
      15_000,
      'NoEligibleNode',
    );
    expect(cond.c.message).toContain('203.0.113.65: not announced (no selected node has a usable interface');
    expect(
      cond.s.metadata?.managedFields?.some(
        (m) => m.manager === 'portico-speaker' && m.subresource === 'status',
      ),
    ).toBe(true);
    const events = await until(
      async () => {
        const list = await admin.request<{ items: Array<{ reason?: string; reportingController?: string }> }>(
          {
            path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
          },
        );
        const mine = list.items.filter((e) => e.reportingController === 'portico.dev/speaker');
        return mine.length > 0 ? mine : undefined;
      },
      10_000,
      'speaker Event',
    );
    expect(events[0]?.reason).toBe('NotAnnounced');

    // Graceful stop deletes the Lease (delete permission).
    await speaker.stop({ graceful: true });
    speaker = undefined;
    await expect(
      admin.request({
        path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${leaseName(`node-${id}`)}`,
      }),
    ).rejects.toMatchObject({ statusCode: 404 });
  });
});

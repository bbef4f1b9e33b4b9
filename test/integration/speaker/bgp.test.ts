// BGP mode through the real speaker shell: startSpeaker({ bgp: true }) as a ServiceAccount bound
// to exactly the chart's rules (L2 + BGP), a router built from our own codec on loopback
// (test/speaker/bgp/fake-router.ts), and the API objects a user writes. Checks: the session comes
// up and its BGPSessionState says so; a Service's VIP is advertised once it has one and withdrawn
// when it goes; ETP Local needs a local endpoint; a missing password Secret keeps the peer down and
// says why in an Event; a graceful stop withdraws first and leaves the state Idle.
//
// It runs in the root network namespace: the pool (203.0.113.80/28) has no L2Advertisement, so
// nothing is ever announced on a link here; BGP talks only to 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyRule } from '../../../lib/api/rbac.ts';
import { KubeClient, loadKubeConfig } from '../../../lib/kube/index.ts';
import { createLogger } from '../../../lib/observe/log.ts';
import { type RunningSpeaker, startSpeaker } from '../../../speaker/kube/speaker.ts';
import {
  SPEAKER_BGP_CLUSTER_RULES,
  SPEAKER_BGP_NAMESPACE_RULES,
  SPEAKER_CLUSTER_ROLE_RULES,
  SPEAKER_NAMESPACE_RULES,
} from '../../../speaker/rbac.ts';
import { sharedKubeConfig, sharedServiceAccountKubeconfig } from '../../envtest/shared.ts';
import { FakeRouter } from '../../speaker/bgp/fake-router.ts';
import { bindRules } from '../../support/rbac.ts';

const id = randomBytes(3).toString('hex');
const ns = `speaker-bgp-${id}`;
const node = `bgp-node-${id}`;
const lbClass = `bgp-${id}.example/lb`;
const api = '/apis/portico.dev/v1alpha1';
const VIP = '203.0.113.81';
const VIP_LOCAL = '203.0.113.82';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what} (${String(last ?? '')})`);
}

interface SessionState {
  metadata: { labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string }> };
  status?: {
    state?: string;
    prefixesSent?: number;
    peerAddress?: string;
    lastError?: string;
    establishedSince?: string;
  };
}

describe('speaker: BGP mode end to end against a loopback router', () => {
  const admin = new KubeClient(sharedKubeConfig());
  const cleanups: Array<() => Promise<unknown>> = [];
  let speaker: RunningSpeaker | undefined;
  let router: FakeRouter;
  let kubeconfig = '';

  const apply = (path: string, body: Record<string, unknown>) =>
    admin.request({
      method: 'PATCH',
      path,
      query: { fieldManager: 'test', force: true },
      contentType: 'application/apply-patch+yaml',
      body,
    });
  const bind = async (
    name: string,
    clusterRules: readonly PolicyRule[],
    namespaceRules: readonly PolicyRule[],
  ) =>
    cleanups.push(
      await bindRules(admin, {
        name,
        namespace: ns,
        serviceAccount: 'portico-speaker',
        clusterRules,
        namespaceRules,
      }),
    );
  const service = async (name: string, ip: string, etp: 'Cluster' | 'Local') => {
    await apply(`/api/v1/namespaces/${ns}/services/${name}`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, annotations: { 'portico.dev/allocated-from-pool': `bgp-${id}` } },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: lbClass,
        externalTrafficPolicy: etp,
        ports: [{ port: 80, protocol: 'TCP' }],
      },
    });
    await admin.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/services/${name}/status`,
      query: { fieldManager: 'test-ipam', force: true },
      contentType: 'application/apply-patch+yaml',
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: ns },
        status: { loadBalancer: { ingress: [{ ip }] } },
      },
    });
  };
  const state = (peer: string) =>
    admin.request<SessionState>({ path: `${api}/bgpsessionstates/${node}-${peer}` }).catch(() => undefined);
  const rib = () => router.conns.at(-1)?.rib ?? new Map();

  beforeAll(async () => {
    router = await FakeRouter.start({ as: 64513, id: '192.0.2.254', holdTime: 9 });
    kubeconfig = await sharedServiceAccountKubeconfig(ns, 'portico-speaker');
    cleanups.push(() => admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }));
    await bind(`portico-speaker-${id}`, SPEAKER_CLUSTER_ROLE_RULES, SPEAKER_NAMESPACE_RULES);
    await bind(`portico-speaker-bgp-${id}`, SPEAKER_BGP_CLUSTER_RULES, SPEAKER_BGP_NAMESPACE_RULES);
    await admin.request({
      method: 'POST',
      path: '/api/v1/nodes',
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: node, labels: { 'bgp-test': id } },
      },
    });
    cleanups.push(() => admin.request({ method: 'DELETE', path: `/api/v1/nodes/${node}` }));
    await admin.request({
      method: 'PATCH',
      path: `/api/v1/nodes/${node}/status`,
      contentType: 'application/merge-patch+json',
      body: { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } },
    });
    await apply(`${api}/ipaddresspools/bgp-${id}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name: `bgp-${id}` },
      spec: { addresses: ['203.0.113.80/28'], autoAssign: false },
    });
    cleanups.push(() => admin.request({ method: 'DELETE', path: `${api}/ipaddresspools/bgp-${id}` }));
    await apply(`${api}/bgppeers/r-${id}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPPeer',
      metadata: { name: `r-${id}` },
      spec: {
        myASN: 64512,
        peerASN: 64513,
        peerAddress: '127.0.0.1',
        peerPort: router.port,
        holdTime: '9s',
        connectTime: '1s',
        nodeSelectors: [{ matchLabels: { 'bgp-test': id } }],
      },
    });
    cleanups.push(() => admin.request({ method: 'DELETE', path: `${api}/bgppeers/r-${id}` }));
    await apply(`${api}/bgpadvertisements/adv-${id}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPAdvertisement',
      metadata: { name: `adv-${id}` },
      spec: { ipAddressPools: [`bgp-${id}`], communities: ['no-export', '64512:100'] },
    });
    cleanups.push(() => admin.request({ method: 'DELETE', path: `${api}/bgpadvertisements/adv-${id}` }));
  }, 120_000);

  afterAll(async () => {
    await speaker?.stop({ graceful: false });
    await router?.close();
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await admin.close();
  });

  it('Established, BGPSessionState says so, owned by the Node and the BGPPeer', async () => {
    speaker = await startSpeaker({
      nodeName: node,
      namespace: ns,
      key: Buffer.from('integration test key, long enough'),
      kubeConfig: loadKubeConfig({ kubeconfig }),
      lbClass,
      handleUnclassed: false,
      ignoreExcludeLabel: false,
      heartbeatPort: 20_000 + Math.floor(Math.random() * 20_000),
      heartbeatIntervalMs: 100,
      missedBeats: 3,
      heartbeatAddress: '127.0.0.1',
      garpRefreshMs: 60_000,
      garpBurstMs: [0],
      partitionPolicy: 'hold',
      peerLeaseDurationMs: 30_000,
      metricsAddress: '',
      bgp: true,
      logger: createLogger({ name: 'speaker-bgp', level: 'warn' }),
    });
    const s = await until(
      async () => {
        const x = await state(`r-${id}`);
        return x?.status?.state === 'Established' ? x : undefined;
      },
      20_000,
      'BGPSessionState Established',
    );
    expect(s.status).toMatchObject({ peerAddress: '127.0.0.1', prefixesSent: 0 });
    expect(s.status?.establishedSince).toMatch(/Z$/);
    expect(s.metadata.labels).toMatchObject({ 'portico.dev/node': node, 'portico.dev/peer': `r-${id}` });
    expect(s.metadata.ownerReferences?.map((o) => o.kind).sort()).toEqual(['BGPPeer', 'Node']);
    expect(speaker.bgp?.status(`r-${id}`)?.state).toBe('Established');
  });

  it('a Service VIP is advertised with the advertisement communities, and withdrawn when the Service goes', async () => {
    await service('web', VIP, 'Cluster');
    const entry = await until(() => rib().get(`${VIP}/32`), 10_000, 'route in the router');
    expect(entry.nextHop).toBe('127.0.0.1');
    const communities = entry.attributes.find((a: { type: string }) => a.type === 'communities') as
      | { values: number[] }
      | undefined;
    expect(communities?.values.sort()).toEqual([64512 * 65536 + 100, 0xffffff01].sort());
    await until(async () => (await state(`r-${id}`))?.status?.prefixesSent === 1, 10_000, 'prefixesSent 1');
    // The pool has no L2Advertisement: BGP alone carries the VIP, which is no reason for an
    // "Announced: False / NoL2Advertisement" condition or a NotAnnounced Warning.
    await sleep(500);
    const svc = await admin.request<{ status?: { conditions?: Array<{ type: string }> } }>({
      path: `/api/v1/namespaces/${ns}/services/web`,
    });
    expect((svc.status?.conditions ?? []).map((c) => c.type)).not.toContain('portico.dev/Announced');
    const evs = await admin.request<{ items: Array<{ reason?: string }> }>({
      path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      query: { fieldSelector: 'regarding.name=web' },
    });
    expect(evs.items.map((e) => e.reason)).not.toContain('NotAnnounced');
    await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/services/web` });
    await until(() => !rib().has(`${VIP}/32`), 10_000, 'withdrawal');
  });

  it('externalTrafficPolicy Local: advertised only while this node has a ready endpoint', async () => {
    await service('local', VIP_LOCAL, 'Local');
    await sleep(1000);
    expect(rib().has(`${VIP_LOCAL}/32`)).toBe(false);
    await admin.request({
      method: 'POST',
      path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      body: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'local-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'local' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.0.9'], nodeName: node, conditions: { ready: true } }],
      },
    });
    await until(() => rib().get(`${VIP_LOCAL}/32`), 10_000, 'Local route after the endpoint');
    await admin.request({
      method: 'DELETE',
      path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/local-1`,
    });
    await until(() => !rib().has(`${VIP_LOCAL}/32`), 10_000, 'Local route withdrawn with the endpoint');
  });

  it('a peer whose password Secret is missing never comes up, and an Event says why', async () => {
    await apply(`${api}/bgppeers/md5-${id}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPPeer',
      metadata: { name: `md5-${id}` },
      spec: {
        myASN: 64512,
        peerASN: 64513,
        peerAddress: '127.0.0.1',
        peerPort: router.port,
        passwordSecret: { name: 'nope' },
        nodeSelectors: [{ matchLabels: { 'bgp-test': id } }],
      },
    });
    cleanups.push(() => admin.request({ method: 'DELETE', path: `${api}/bgppeers/md5-${id}` }));
    const ev = await until(
      async () => {
        const list = await admin.request<{
          items: Array<{ reason?: string; note?: string; regarding?: { name?: string } }>;
        }>({
          path: '/apis/events.k8s.io/v1/events',
          query: { fieldSelector: `regarding.name=md5-${id}` },
        });
        return list.items.find((e) => e.reason === 'BGPConfigInvalid');
      },
      10_000,
      'problem Event',
    );
    expect(ev.note).toMatch(/nope/);
    expect(speaker?.bgp?.peers()).toEqual([`r-${id}`]);
    expect(await state(`md5-${id}`)).toBeUndefined();
  });

  it('graceful stop: routes withdrawn, Cease sent, BGPSessionState Idle', async () => {
    await service('web2', VIP, 'Cluster');
    await until(() => rib().get(`${VIP}/32`), 10_000, 'route in the router');
    const conn = router.conns.at(-1)!;
    await speaker!.stop({ graceful: true });
    speaker = undefined;
    expect(conn.rib.has(`${VIP}/32`)).toBe(false);
    expect(conn.notifications.some((m) => m.code === 6)).toBe(true);
    const s = await state(`r-${id}`);
    expect(s?.status).toMatchObject({ state: 'Idle', lastError: 'speaker stopped' });
  });
});

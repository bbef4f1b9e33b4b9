// Least privilege for BGP mode: a ServiceAccount bound ONLY to SPEAKER_BGP_CLUSTER_RULES and
// SPEAKER_BGP_NAMESPACE_RULES (what the chart adds with speaker.bgp.enabled) can do every API call
// the BGP side of the speaker makes — read peers and advertisements, read the password Secrets in
// its own namespace, create / update (server-side apply) / read / delete BGPSessionStates and
// their status — and nothing next to it: no Secrets elsewhere, no writes to peers.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionStateBody, sessionStateStatusBody } from '../../../lib/api/bgp.ts';
import { BGP_SESSION_LABELS } from '../../../lib/api/types.ts';
import { KubeClient, loadKubeConfig } from '../../../lib/kube/index.ts';
import { SPEAKER_BGP_CLUSTER_RULES, SPEAKER_BGP_NAMESPACE_RULES } from '../../../speaker/rbac.ts';
import { sharedKubeConfig, sharedServiceAccountKubeconfig } from '../../envtest/shared.ts';
import { bindRules } from '../../support/rbac.ts';

const id = randomBytes(3).toString('hex');
const ns = `speaker-bgp-rbac-${id}`;
const api = '/apis/portico.dev/v1alpha1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('speaker BGP mode: RBAC', () => {
  const admin = new KubeClient(sharedKubeConfig());
  const cleanups: Array<() => Promise<unknown>> = [];
  let sa: KubeClient;

  beforeAll(async () => {
    const kubeconfig = await sharedServiceAccountKubeconfig(ns, 'portico-speaker');
    cleanups.push(() => admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }));
    cleanups.push(
      await bindRules(admin, {
        name: `portico-speaker-bgp-${id}`,
        namespace: ns,
        serviceAccount: 'portico-speaker',
        clusterRules: SPEAKER_BGP_CLUSTER_RULES,
        namespaceRules: SPEAKER_BGP_NAMESPACE_RULES,
      }),
    );
    await admin.request({
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/secrets`,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'bgp-tor', namespace: ns },
        type: 'kubernetes.io/basic-auth',
        stringData: { password: 'md5-key' },
      },
    });
    sa = new KubeClient(loadKubeConfig({ kubeconfig }));
    // RBAC reaches the authorizer quickly but not instantly.
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const ok = await sa.request({ path: `${api}/bgppeers` }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await sleep(100);
    }
  }, 120_000);

  afterAll(async () => {
    await sa?.close();
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await admin.close();
  });

  it('the rules write nothing but BGPSessionStates, and read Secrets only in the namespace', () => {
    for (const r of SPEAKER_BGP_CLUSTER_RULES) {
      expect(r.resources.some((x) => x === 'secrets')).toBe(false);
      const writes = r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v));
      if (writes.length) expect(r.resources.every((x) => x.startsWith('bgpsessionstates'))).toBe(true);
    }
    expect(SPEAKER_BGP_NAMESPACE_RULES).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
    ]);
  });

  it('reads peers, advertisements and its own namespace Secrets; watches them', async () => {
    for (const path of [`${api}/bgppeers`, `${api}/bgpadvertisements`, `/api/v1/namespaces/${ns}/secrets`]) {
      await expect(sa.request({ path })).resolves.toMatchObject({ items: expect.any(Array) });
      // An allowed watch streams (and ends after timeoutSeconds); a forbidden one is a 403.
      await sa.request({ path, query: { watch: 'true', timeoutSeconds: '1' } });
    }
    const secret = (await sa.request({ path: `/api/v1/namespaces/${ns}/secrets/bgp-tor` })) as {
      data: Record<string, string>;
    };
    expect(Buffer.from(secret.data.password!, 'base64').toString()).toBe('md5-key');
  });

  it('creates, updates, reads and deletes BGPSessionStates and their status (server-side apply)', async () => {
    // The owners: a Node and a BGPPeer (made by the admin), named in ownerReferences.
    const node = (await admin.request({
      method: 'POST',
      path: '/api/v1/nodes',
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${id}` } },
    })) as { metadata: { uid: string } };
    cleanups.push(() => admin.request({ method: 'DELETE', path: `/api/v1/nodes/node-${id}` }));
    const peer = (await admin.request({
      method: 'POST',
      path: `${api}/bgppeers`,
      body: {
        apiVersion: 'portico.dev/v1alpha1',
        kind: 'BGPPeer',
        metadata: { name: `tor-${id}` },
        spec: { myASN: 64512, peerASN: 64500, peerAddress: '192.0.2.1' },
      },
    })) as { metadata: { uid: string } };
    cleanups.push(() => admin.request({ method: 'DELETE', path: `${api}/bgppeers/tor-${id}` }));
    const body = sessionStateBody(
      { name: `node-${id}`, uid: node.metadata.uid },
      { name: `tor-${id}`, uid: peer.metadata.uid },
    );
    const name = body.metadata.name!;
    expect(name).toBe(`node-${id}-tor-${id}`);
    const path = `${api}/bgpsessionstates/${name}`;
    const applyOpts = {
      method: 'PATCH' as const,
      query: { fieldManager: 'portico-speaker', force: true },
      contentType: 'application/apply-patch+yaml',
    };
    try {
      const created = (await sa.request({ ...applyOpts, path, body })) as {
        metadata: { ownerReferences: unknown[] };
      };
      expect(created.metadata.ownerReferences).toHaveLength(2);
      await sa.request({
        ...applyOpts,
        path: `${path}/status`,
        body: sessionStateStatusBody(name, {
          node: `node-${id}`,
          peer: `tor-${id}`,
          peerAddress: '192.0.2.1',
          state: 'Established',
          establishedSince: '2026-01-01T00:00:00Z',
          lastTransition: '2026-01-01T00:00:00Z',
          prefixesSent: 2,
        }),
      });
      const list = (await sa.request({
        path: `${api}/bgpsessionstates`,
        query: { labelSelector: `${BGP_SESSION_LABELS.node}=node-${id}` },
      })) as {
        items: Array<{ metadata: { name: string }; status: { state: string; prefixesSent: number } }>;
      };
      expect(list.items.map((i) => [i.metadata.name, i.status.state, i.status.prefixesSent])).toEqual([
        [name, 'Established', 2],
      ]);
      await sa.request({ method: 'DELETE', path });
      await expect(sa.request({ path })).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await admin.request({ method: 'DELETE', path }).catch(() => {});
    }
  });

  it('is refused Secrets in other namespaces and writes to peers and advertisements', async () => {
    await expect(sa.request({ path: '/api/v1/namespaces/default/secrets' })).rejects.toMatchObject({
      statusCode: 403,
    });
    await expect(sa.request({ path: '/api/v1/secrets' })).rejects.toMatchObject({ statusCode: 403 });
    await expect(
      sa.request({
        method: 'POST',
        path: `${api}/bgppeers`,
        body: {
          apiVersion: 'portico.dev/v1alpha1',
          kind: 'BGPPeer',
          metadata: { name: `evil-${id}` },
          spec: { myASN: 1, peerASN: 2, peerAddress: '192.0.2.1' },
        },
      }),
    ).rejects.toMatchObject({ statusCode: 403 });
    await expect(
      sa.request({ method: 'DELETE', path: `${api}/bgpadvertisements/anything` }),
    ).rejects.toMatchObject({ statusCode: 403 });
  });
});

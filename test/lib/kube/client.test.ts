import { getEventListeners } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import nock from 'nock';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  collectionPath,
  isConflict,
  isGone,
  isNotFound,
  KubeApiError,
  KubeClient,
  loadKubeConfig,
  objectPath,
  Resources,
  statusCodeOf,
  withDeadline,
} from '../../../lib/kube/client.ts';
import { api, Capture, fakeClient, fakeKubeConfig, WatchFeed } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-kc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(file: string, server: string, context = 'ctx'): string {
  const p = join(dir, file);
  writeFileSync(
    p,
    [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${context}`,
      'clusters:',
      `- name: c-${context}`,
      '  cluster:',
      `    server: ${server}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      `- name: u-${context}`,
      '  user:',
      '    token: t',
      'contexts:',
      `- name: ${context}`,
      '  context:',
      `    cluster: c-${context}`,
      `    user: u-${context}`,
    ].join('\n'),
  );
  return p;
}

describe('loadKubeConfig', () => {
  const a = kubeconfig('a.yaml', 'https://a.test:6443', 'a');
  const b = kubeconfig('b.yaml', 'https://b.test:6443', 'b');

  test('explicit path wins over $KUBECONFIG', () => {
    const kc = loadKubeConfig({ kubeconfig: a, env: { KUBECONFIG: b } });
    expect(kc.getCurrentCluster()?.server).toBe('https://a.test:6443');
  });
  test('$KUBECONFIG: first file sets the context, later files are merged', () => {
    const kc = loadKubeConfig({ env: { KUBECONFIG: `${a}:${b}` } });
    expect(kc.getCurrentCluster()?.server).toBe('https://a.test:6443');
    const other = loadKubeConfig({ env: { KUBECONFIG: `${a}:${b}` }, context: 'b' });
    expect(other.getCurrentCluster()?.server).toBe('https://b.test:6443');
  });
  test('in-cluster when KUBERNETES_SERVICE_HOST is set and the token is mounted', () => {
    const root = join(dir, 'pod');
    mkdirSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
    writeFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/token'), 'tok');
    writeFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/ca.crt'), '');
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = '2001:db8::1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    try {
      const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '2001:db8::1' }, inClusterRoot: root });
      expect(kc.getCurrentCluster()?.server).toBe('https://[2001:db8::1]:443');
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      else process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
  });
  test('a missing explicit file is a clear error', () => {
    expect(() => loadKubeConfig({ kubeconfig: join(dir, 'nope.yaml') })).toThrow(/does not exist/);
  });
});

describe('paths', () => {
  const pool = { group: 'portico.dev', version: 'v1alpha1', plural: 'ipaddresspools', namespaced: false };
  test.each([
    [collectionPath(Resources.services), '/api/v1/services'],
    [collectionPath(Resources.services, 'ns'), '/api/v1/namespaces/ns/services'],
    [
      collectionPath(Resources.endpointslices, 'ns'),
      '/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices',
    ],
    [collectionPath(pool, 'ignored'), '/apis/portico.dev/v1alpha1/ipaddresspools'],
    [objectPath(pool, undefined, 'a', 'status'), '/apis/portico.dev/v1alpha1/ipaddresspools/a/status'],
    [
      objectPath(Resources.leases, 'kube-system', 'x'),
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x',
    ],
  ])('%s', (got, want) => expect(got).toBe(want));
  test('namespaced object without namespace is refused', () => {
    expect(() => objectPath(Resources.services, undefined, 'a')).toThrow(/namespace/);
  });
});

describe('KubeClient.request / watchLines (nock)', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  test('sends the bearer token and query; parses JSON', async () => {
    api()
      .get('/api/v1/namespaces/default/services')
      .matchHeader('authorization', 'Bearer test-token')
      .query({ labelSelector: 'a=b' })
      .reply(200, { items: [1] });
    await expect(
      fakeClient().request({
        path: '/api/v1/namespaces/default/services',
        query: { labelSelector: 'a=b', x: undefined },
      }),
    ).resolves.toEqual({
      items: [1],
    });
  });

  test('non-2xx → KubeApiError with status code, reason and message from the Status body', async () => {
    api()
      .put('/x')
      .reply(409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' });
    const err = await fakeClient()
      .request({ method: 'PUT', path: '/x', body: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ statusCode: 409, reason: 'Conflict' });
    expect(String((err as Error).message)).toMatch(
      /PUT \/x: HTTP 409 Conflict: the object has been modified/,
    );
    expect(isConflict(err)).toBe(true);
  });

  test('a non-JSON error body is kept as text', async () => {
    api().get('/x').reply(502, '<html>bad gateway</html>');
    await expect(fakeClient().request({ path: '/x' })).rejects.toThrow(/HTTP 502: <html>bad gateway/);
  });

  test('a timeout becomes a statusCode 0 error, promptly', async () => {
    api()
      .get('/slow')
      .reply(200, () => new WatchFeed().stream);
    const t0 = Date.now();
    await expect(fakeClient().request({ path: '/slow', timeoutMs: 100 })).rejects.toMatchObject({
      statusCode: 0,
    });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  test('withDeadline: the outer abort and the deadline both abort it; dispose detaches from the outer signal', async () => {
    const outer = new AbortController();
    const a = withDeadline(outer.signal, 10_000);
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(1);
    outer.abort(new Error('term ended'));
    expect(a.signal.aborted).toBe(true);
    expect((a.signal.reason as Error).message).toBe('term ended');
    a.dispose();

    const b = withDeadline(undefined, 20);
    await new Promise((r) => setTimeout(r, 60));
    expect(b.signal.aborted).toBe(true);
    expect((b.signal.reason as DOMException).name).toBe('TimeoutError');

    const already = new AbortController();
    already.abort('gone');
    expect(withDeadline(already.signal, 10_000).signal.reason).toBe('gone');
  });

  test('requests under one long-lived signal (a leader term) leave nothing registered on it', async () => {
    const term = new AbortController();
    api().get('/ok').times(50).reply(200, '{}');
    api().get('/fail').times(10).reply(500, 'boom');
    const c = fakeClient();
    for (let i = 0; i < 50; i++) await c.request({ path: '/ok', signal: term.signal });
    for (let i = 0; i < 10; i++)
      await c.request({ path: '/fail', signal: term.signal }).catch(() => undefined);
    expect(getEventListeners(term.signal, 'abort')).toHaveLength(0);
  });

  test('a connection reset (real socket on loopback) becomes a statusCode 0 error', async () => {
    const server = createServer((sock) => sock.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    nock.enableNetConnect('127.0.0.1');
    try {
      const kc = fakeKubeConfig();
      const port = (server.address() as AddressInfo).port;
      kc.clusters = [{ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }];
      const t0 = Date.now();
      const err = await new KubeClient(kc).request({ path: '/x', timeoutMs: 3_000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ statusCode: 0 });
      expect(String((err as Error).message)).toMatch(/transport/);
      expect(String((err as Error).message)).not.toMatch(/timeout/i);
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      server.close();
    }
  });

  test('watchLines splits the stream into lines across chunk boundaries; non-200 throws with the status', async () => {
    const feed = new WatchFeed();
    api()
      .get('/w')
      .query({ watch: 'true' })
      .reply(200, () => feed.stream);
    const ctl = new AbortController();
    // (nock sends the response headers with the first body chunk)
    feed.stream.write('{"a":');
    const lines = await fakeClient().watchLines({ path: '/w', signal: ctl.signal });
    feed.stream.write('1}\n{"b":2}\n\n{"c"');
    feed.stream.write(':3}');
    feed.end();
    const got: string[] = [];
    for await (const l of lines) got.push(l);
    expect(got).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);

    api()
      .get('/w')
      .query({ watch: 'true' })
      .reply(403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'no' });
    await expect(fakeClient().watchLines({ path: '/w', signal: ctl.signal })).rejects.toMatchObject({
      statusCode: 403,
    });
  });

  test('typed conveniences: get/getOrUndefined/list (paged)/create/mergePatch/delete', async () => {
    const c = fakeClient();
    api()
      .get('/api/v1/namespaces/ns/services/a')
      .reply(200, { metadata: { name: 'a' } });
    api().get('/api/v1/namespaces/ns/services/b').reply(404, { kind: 'Status', code: 404 });
    api()
      .get('/apis/discovery.k8s.io/v1/endpointslices')
      .query({ limit: '500', labelSelector: 'x=y' })
      .reply(200, { metadata: { continue: 'c1' }, items: [1] });
    api()
      .get('/apis/discovery.k8s.io/v1/endpointslices')
      .query({ limit: '500', labelSelector: 'x=y', continue: 'c1' })
      .reply(200, { metadata: {}, items: [2, 3] });
    const created = new Capture();
    api()
      .post('/api/v1/namespaces/ns/configmaps', created.match)
      .query({ fieldManager: 'm' })
      .reply(201, { metadata: { name: 'cm' } });
    const patched = new Capture();
    api()
      .patch('/api/v1/nodes/n1', patched.match)
      .matchHeader('content-type', 'application/merge-patch+json')
      .reply(200, {});
    api().delete('/api/v1/namespaces/ns/services/a').reply(200, {});
    api().delete('/api/v1/namespaces/ns/services/a').reply(404, { kind: 'Status', code: 404 });

    expect(await c.get(Resources.services, 'ns', 'a')).toEqual({ metadata: { name: 'a' } });
    expect(await c.getOrUndefined(Resources.services, 'ns', 'b')).toBeUndefined();
    expect(await c.list(Resources.endpointslices, { labelSelector: 'x=y' })).toEqual([1, 2, 3]);
    await c.create(
      Resources.configmaps,
      { metadata: { name: 'cm', namespace: 'ns' } },
      { fieldManager: 'm' },
    );
    expect(created.last).toEqual({ metadata: { name: 'cm', namespace: 'ns' } });
    await c.mergePatch(Resources.nodes, undefined, 'n1', { metadata: { labels: { a: null } } });
    expect(patched.last).toEqual({ metadata: { labels: { a: null } } });
    expect(await c.delete(Resources.services, 'ns', 'a')).toBe(true);
    expect(await c.delete(Resources.services, 'ns', 'a')).toBe(false);
  });

  test('statusCodeOf understands our errors and the generated client’s ApiException', () => {
    expect(statusCodeOf(new ApiException(404, 'nf', {}, {}))).toBe(404);
    expect(isNotFound(new ApiException(404, 'nf', {}, {}))).toBe(true);
    expect(isGone(new KubeApiError('GET', '/', 410, undefined))).toBe(true);
    expect(statusCodeOf(new Error('plain'))).toBeUndefined();
  });
});

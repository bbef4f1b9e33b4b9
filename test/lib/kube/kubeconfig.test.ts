import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import nock from 'nock';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { KubeClient } from '../../../lib/kube/client.ts';
import {
  type ClusterInfo,
  inClusterConfig,
  type KubeConfigLike,
  LoadedKubeConfig,
  loadKubeConfig,
  parseKubeconfig,
  type UserInfo,
} from '../../../lib/kube/kubeconfig.ts';
import { api, SERVER } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const FULL = `
apiVersion: v1
kind: Config
current-context: main
clusters:
- name: prod
  cluster:
    server: https://prod.test:6443/
    certificate-authority: certs/ca.crt
    tls-server-name: kubernetes.default
- name: lab
  cluster:
    server: https://lab.test:6443
    certificate-authority-data: Q0E=
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate: certs/admin.crt
    client-key: /abs/admin.key
- name: inline
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
    token: tok
- name: files
  user:
    tokenFile: token.txt
- name: basic
  user:
    username: alice
    password: s3cret
- name: cloud
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
contexts:
- name: main
  context: { cluster: prod, user: admin, namespace: team }
- name: lab
  context: { cluster: lab, user: inline }
- name: files
  context: { cluster: lab, user: files }
- name: basic
  context: { cluster: lab, user: basic }
- name: cloud
  context: { cluster: lab, user: cloud }
- name: dangling
  context: { cluster: nowhere, user: admin }
`;

describe('parseKubeconfig', () => {
  const p = parseKubeconfig(FULL, '/etc/kube');
  test('clusters: server (trailing slash dropped), CA file made absolute, CA data, TLS options', () => {
    expect(p.clusters).toEqual<ClusterInfo[]>([
      {
        name: 'prod',
        server: 'https://prod.test:6443',
        caData: undefined,
        caFile: '/etc/kube/certs/ca.crt',
        skipTLSVerify: false,
        tlsServerName: 'kubernetes.default',
      },
      {
        name: 'lab',
        server: 'https://lab.test:6443',
        caData: 'Q0E=',
        caFile: undefined,
        skipTLSVerify: true,
        tlsServerName: undefined,
      },
    ]);
  });
  test('users: certificate files and data, token, tokenFile, basic, plugins kept for the error', () => {
    const byName = new Map(p.users.map((u) => [u.name, u]));
    expect(byName.get('admin')).toMatchObject({
      certFile: '/etc/kube/certs/admin.crt',
      keyFile: '/abs/admin.key',
    });
    expect(byName.get('inline')).toMatchObject({ certData: 'Q0VSVA==', keyData: 'S0VZ', token: 'tok' });
    expect(byName.get('files')).toMatchObject({ tokenFile: '/etc/kube/token.txt' });
    expect(byName.get('basic')).toMatchObject({ username: 'alice', password: 's3cret' });
    expect(byName.get('cloud')?.exec).toBeTruthy();
  });
  test('contexts and current-context', () => {
    expect(p.currentContext).toBe('main');
    expect(p.contexts[0]).toEqual({ name: 'main', cluster: 'prod', user: 'admin', namespace: 'team' });
  });
  test.each([
    ['not: [valid', /not valid YAML/],
    ['- a\n- b', /mapping/],
    ['clusters: {}', /clusters must be a list/],
    ['clusters:\n- cluster: { server: https://x }', /clusters\[0\]\.name is missing/],
    ['clusters:\n- name: c\n  cluster: {}', /clusters\[0\] \(c\) has no cluster.server/],
    ['contexts:\n- name: x\n  context: { user: u }', /contexts\[0\] \(x\) has no context.cluster/],
  ])('bad input %j is a clear error', (text, want) => {
    expect(() => parseKubeconfig(text, '/', 'f.yaml')).toThrow(want);
  });
  test('an empty file is an empty config', () => {
    expect(parseKubeconfig('', '/')).toEqual({
      clusters: [],
      users: [],
      contexts: [],
      currentContext: undefined,
    });
  });
});

describe('loadKubeConfig', () => {
  const full = write('full/config', FULL);
  const one = (name: string, server: string, ctx: string, extra = '') =>
    write(
      `${name}.yaml`,
      `current-context: ${ctx}\nclusters:\n- name: c\n  cluster: { server: ${server} }\n${extra}users:\n- name: u\n  user: { token: ${name} }\ncontexts:\n- name: ${ctx}\n  context: { cluster: c, user: u }\n`,
    );

  test('explicit context; a context naming no cluster or an unknown context is a clear error', () => {
    expect(loadKubeConfig({ kubeconfig: full }).getCurrentCluster()?.server).toBe('https://prod.test:6443');
    expect(loadKubeConfig({ kubeconfig: full, context: 'lab' }).getCurrentUser()?.name).toBe('inline');
    expect(() => loadKubeConfig({ kubeconfig: full, context: 'dangling' })).toThrow(
      /context "dangling" does not name a known cluster/,
    );
    expect(() => loadKubeConfig({ kubeconfig: full, context: 'nope' })).toThrow(/no context "nope"/);
  });
  test('exec / auth-provider users are refused, naming the user entry', () => {
    expect(() => loadKubeConfig({ kubeconfig: full, context: 'cloud' })).toThrow(
      /user "cloud" uses an exec credential plugin/,
    );
    const ap = write(
      'ap.yaml',
      'current-context: x\nclusters:\n- name: c\n  cluster: { server: https://x.test }\nusers:\n- name: gke\n  user:\n    auth-provider: { name: gcp }\ncontexts:\n- name: x\n  context: { cluster: c, user: gke }\n',
    );
    expect(() => loadKubeConfig({ kubeconfig: ap })).toThrow(/user "gke" uses an auth-provider plugin/);
  });
  test('$KUBECONFIG: the first file to define a name or current-context wins; missing entries are skipped', () => {
    const a = one('a', 'https://a.test', 'x');
    const b = one(
      'b',
      'https://b.test',
      'y',
      '- name: extra\n  cluster: { server: https://extra.test }\n'.replace(/^/, ''),
    );
    const kc = loadKubeConfig({ env: { KUBECONFIG: `${join(dir, 'missing')}:${a}:${b}` } });
    expect(kc.currentContext).toBe('x');
    // Both files define cluster "c" and user "u": a's win, even under b's context.
    expect(kc.getCurrentCluster()?.server).toBe('https://a.test');
    kc.setCurrentContext('y');
    expect(kc.getCurrentUser()?.token).toBe('a');
    expect(kc.clusters.map((c) => c.name)).toEqual(['c', 'extra']);
    expect(() => loadKubeConfig({ env: { KUBECONFIG: join(dir, 'missing') } })).toThrow(
      /names no existing file/,
    );
  });
  test('~/.kube/config is the last resort; nothing at all is a clear error', () => {
    const home = join(dir, 'home');
    write('home/.kube/config', FULL);
    expect(loadKubeConfig({ env: { HOME: home } }).getCurrentCluster()?.name).toBe('prod');
    expect(() => loadKubeConfig({ env: { HOME: join(dir, 'empty-home') } })).toThrow(
      /no Kubernetes cluster configured/,
    );
  });
  test('in-cluster: host/port from env (IPv6 bracketed, 8080 = http), token file and CA under the root', () => {
    const root = join(dir, 'pod');
    write('pod/var/run/secrets/kubernetes.io/serviceaccount/token', 'tok');
    const kc = loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: '2001:db8::1', KUBERNETES_SERVICE_PORT: '443', HOME: '/nonexistent' },
      inClusterRoot: root,
    });
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://[2001:db8::1]:443',
      caFile: `${root}/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`,
    });
    expect(kc.getCurrentUser()?.tokenFile).toBe(`${root}/var/run/secrets/kubernetes.io/serviceaccount/token`);
    expect(
      inClusterConfig({
        KUBERNETES_SERVICE_HOST: '192.0.2.1',
        KUBERNETES_SERVICE_PORT: '8080',
      }).getCurrentCluster()?.server,
    ).toBe('http://192.0.2.1:8080');
  });
});

describe('KubeClient credentials (nock)', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });
  const cfg = (user: UserInfo): LoadedKubeConfig =>
    new LoadedKubeConfig({
      clusters: [{ name: 'c', server: SERVER, skipTLSVerify: true }],
      users: [{ name: 'u', ...user }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });

  test('basic auth and impersonation headers', async () => {
    api()
      .get('/x')
      .matchHeader('authorization', `Basic ${Buffer.from('alice:s3cret').toString('base64')}`)
      .matchHeader('impersonate-user', 'bob')
      .reply(200, { ok: true });
    const c = new KubeClient(cfg({ username: 'alice', password: 's3cret', impersonateUser: 'bob' }));
    await expect(c.request({ path: '/x' })).resolves.toEqual({ ok: true });
    await c.close();
  });

  test('a token file is read per request and re-read once it may have rotated', async () => {
    const file = write('rotating-token', 'one\n');
    let now = 1_000_000;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      const c = new KubeClient(cfg({ tokenFile: file }));
      api().get('/x').matchHeader('authorization', 'Bearer one').times(2).reply(200, {});
      await c.request({ path: '/x' });
      writeFileSync(file, 'two');
      await c.request({ path: '/x' }); // still cached: rotation is noticed within a minute, not per call
      now += 61_000;
      api().get('/x').matchHeader('authorization', 'Bearer two').reply(200, {});
      await c.request({ path: '/x' });
      expect(nock.isDone()).toBe(true);
      await c.close();
    } finally {
      Date.now = realNow;
    }
  });

  test("client-node's in-cluster user (tokenFile auth provider) works without client-node's code", async () => {
    const file = write('cn-token', 'from-file');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: SERVER, skipTLSVerify: true }],
      users: [{ name: 'u', authProvider: { name: 'tokenFile', config: { tokenFile: file } } }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    api().get('/x').matchHeader('authorization', 'Bearer from-file').reply(200, {});
    await new KubeClient(kc).request({ path: '/x' });
    expect(nock.isDone()).toBe(true);
  });

  test('a plugin user is refused by KubeClient unless the config can run plugins itself', () => {
    const like: KubeConfigLike = {
      getCurrentCluster: () => ({ server: SERVER }),
      getCurrentUser: () => ({ name: 'cloud', exec: { command: 'aws' } }),
    };
    expect(() => new KubeClient(like)).toThrow(/user "cloud" uses an exec credential plugin/);
  });

  test('api() needs a client-node KubeConfig', () => {
    expect(() => new KubeClient(cfg({ token: 't' })).api(class {} as never)).toThrow(
      /client-node KubeConfig/,
    );
  });
});

// Switching from MetalLB on a live cluster: Services already hold MetalLB-assigned IPs (status +
// MetalLB's ip-allocated-from-pool annotation), MetalLB's objects are real metallb.io objects
// (minimal CRDs from test/fixtures/metallb/crds.yaml). Two ways over, both must move no IP and give
// new Services addresses from the migrated ranges:
//  (i) `portico migrate metallb --from-cluster` output applied, then Portico's controller;
//  (ii) the controller with the opt-in mirror, under a ServiceAccount bound only to
//       controllers/rbac.ts (+ the mirror's rules): mirroring, updates, a MetalLB object turned
//       invalid (Event, last good kept), a user-made pool of the same name (Event, untouched),
//       a deleted MetalLB pool (its mirror goes).
// Both carry MetalLB's BGP objects too: a BGPPeer with a plain-text password (never printed; the
// mirror says on the MetalLB object which Secret to create), a BGPAdvertisement naming a Community
// alias (resolved), BGP edits and deletions followed, no rewrite by unrelated passes.
// Plus: enabled before the CRDs exist, the mirror logs why it idles and starts once they appear.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  CONTROLLER_CLUSTER_ROLE_RULES,
  CONTROLLER_METALLB_RULES,
  controllerClusterRole,
  controllerLeaseRole,
} from '../../../controllers/index.ts';
import type { ServiceObject } from '../../../controllers/service-state.ts';
import { MIRRORED_LABEL } from '../../../lib/api/metallb.ts';
import { applyStatus, isNotFound, loadKubeConfig, Resources } from '../../../lib/kube/index.ts';
import { runMigrate } from '../../cli/migrate/support.ts';
import { installCrdFiles } from '../../envtest/crds.ts';
import { REPO_ROOT } from '../../envtest/index.ts';
import {
  sharedKubeConfig,
  sharedKubeconfigPath,
  sharedServiceAccountKubeconfig,
} from '../../envtest/shared.ts';
import { condition, ips, POOLS_PATH, sleep, TestEnv, until } from './support.ts';

const CRDS = join(REPO_ROOT, 'test', 'fixtures', 'metallb', 'crds.yaml');
const METALLB = '/apis/metallb.io/v1beta1';
const L2_PATH = '/apis/portico.dev/v1alpha1/l2advertisements';
const PEERS_PATH = '/apis/portico.dev/v1alpha1/bgppeers';
const BGPADV_PATH = '/apis/portico.dev/v1alpha1/bgpadvertisements';
const CRD_NAMES = [
  'ipaddresspools.metallb.io',
  'l2advertisements.metallb.io',
  'bgppeers.metallb.io',
  'bgpadvertisements.metallb.io',
  'communities.metallb.io',
];
/** The plain-text BGP password of the seeded MetalLB BGPPeer: must never leave the MetalLB object. */
const PLAIN_PASSWORD = 'envtest-plain-md5-k3y';

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

/** A pino logger whose lines are kept (to assert on log lines). */
function capturingLogger(level = 'info'): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

interface Seeded {
  poolA: string;
  poolB: string;
  l2: string;
  peer: string;
  bgpAdv: string;
  /** Service name → the IP MetalLB gave it. */
  before: Map<string, string>;
  net: string;
}

/**
 * MetalLB's state as it left the cluster: two pools (one restricted to the test namespace, one
 * autoAssign: false), an L2Advertisement, a BGPPeer (plain-text password), a BGPAdvertisement of
 * pool B naming a Community alias, the Community, and Services holding MetalLB-assigned IPs —
 * deliberately not the lowest free addresses, one from the range entry, two sharing one IP.
 */
async function seedMetalLB(e: TestEnv, third: number): Promise<Seeded> {
  const net = `100.64.${third}`;
  const poolA = `mlb-${e.id}-a`;
  const poolB = `mlb-${e.id}-b`;
  const l2 = `mlb-${e.id}-l2`;
  const post = (plural: string, body: Record<string, unknown>, base = METALLB) =>
    e.client.request({ method: 'POST', path: `${base}/namespaces/${e.ns}/${plural}`, body });
  await post('ipaddresspools', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: poolA, labels: { site: e.id } },
    spec: {
      addresses: [`${net}.0/28`, `${net}.100-${net}.110`],
      serviceAllocation: { namespaces: [e.ns] },
    },
  });
  await post('ipaddresspools', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: poolB },
    spec: { addresses: [`${net}.200/29`], autoAssign: false, serviceAllocation: { namespaces: [e.ns] } },
  });
  await post('l2advertisements', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name: l2 },
    spec: { ipAddressPoolSelectors: [{ matchLabels: { site: e.id } }], interfaces: ['eth0'] },
  });
  await post(
    'bgppeers',
    {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: `tor-${e.id}` },
      spec: {
        myASN: 64512,
        peerASN: 64513,
        peerAddress: '10.0.0.1',
        keepaliveTime: '10s',
        password: PLAIN_PASSWORD,
        // What MetalLB's defaulting leaves on every stored v1beta2 peer.
        peerPort: 179,
        disableMP: false,
        dualStackAddressFamily: false,
        passwordSecret: {},
      },
    },
    '/apis/metallb.io/v1beta2',
  );
  await post('communities', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'Community',
    metadata: { name: `aliases-${e.id}` },
    spec: { communities: [{ name: `upstream-${e.id}`, value: '64512:300' }] },
  });
  await post('bgpadvertisements', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'BGPAdvertisement',
    metadata: { name: `bgp-${e.id}` },
    spec: {
      ipAddressPools: [poolB],
      peers: [`tor-${e.id}`],
      communities: [`upstream-${e.id}`, 'large:64512:1:2'],
    },
  });
  const services: Array<[string, string, Record<string, string>, number]> = [
    ['s1', `${net}.5`, { 'metallb.io/ip-allocated-from-pool': poolA }, 80],
    ['s2', `${net}.103`, { 'metallb.io/ip-allocated-from-pool': poolA }, 80],
    ['s3', `${net}.7`, { 'metallb.io/ip-allocated-from-pool': poolA, 'metallb.io/allow-shared-ip': 'k' }, 80],
    [
      's4',
      `${net}.7`,
      { 'metallb.io/ip-allocated-from-pool': poolA, 'metallb.io/allow-shared-ip': 'k' },
      443,
    ],
    [
      's5',
      `${net}.201`,
      { 'metallb.io/ip-allocated-from-pool': poolB, 'metallb.io/address-pool': poolB },
      80,
    ],
    [
      's6',
      `${net}.9`,
      { 'metallb.io/ip-allocated-from-pool': poolA, 'metallb.io/loadBalancerIPs': `${net}.9` },
      80,
    ],
  ];
  const before = new Map<string, string>();
  for (const [name, ip, annotations, port] of services) {
    await e.createService(name, { annotations, ports: [{ port }], selector: { app: 'shared' } });
    // What MetalLB's controller wrote (its own field manager, no Portico condition).
    await applyStatus(
      e.client,
      { resource: Resources.services, namespace: e.ns, name },
      { loadBalancer: { ingress: [{ ip }] } },
      { fieldManager: 'metallb-controller' },
    );
    before.set(name, ip);
  }
  return { poolA, poolB, l2, peer: `tor-${e.id}`, bgpAdv: `bgp-${e.id}`, before, net };
}

/** Every Service kept its MetalLB IP, and Portico now vouches for it (IPAllocated=True, pool annotation). */
async function expectNoIPMoved(e: TestEnv, s: Seeded): Promise<void> {
  for (const [name, ip] of s.before) {
    const pool = name === 's5' ? s.poolB : s.poolA;
    // Status and annotation are two writes: wait for both before judging.
    const svc = await e.waitService(
      name,
      (x) =>
        condition(x)?.status === 'True' &&
        x.metadata?.annotations?.['portico.dev/allocated-from-pool'] !== undefined,
      'IPAllocated=True and the pool annotation',
      30_000,
    );
    expect(ips(svc), name).toEqual([ip]);
    expect(svc.metadata?.annotations?.['portico.dev/allocated-from-pool'], name).toBe(pool);
  }
  // No ConflictingAssignment or AllocationFailed anywhere in the namespace.
  const bad = (await e.events()).filter(
    (ev) => ev.reason === 'ConflictingAssignment' || ev.reason === 'AllocationFailed',
  );
  expect(bad).toEqual([]);
}

/** New Services get addresses from the migrated ranges (never one a migrated Service holds). */
async function expectNewServicesFromRanges(e: TestEnv, s: Seeded): Promise<void> {
  await e.createService('new-a', { ports: [{ port: 80 }] });
  await e.createService('new-b', {
    ports: [{ port: 80 }],
    annotations: { 'portico.dev/address-pool': s.poolB },
  });
  const [a] = await e.waitIPs('new-a', 1, 30_000);
  const [b] = await e.waitIPs('new-b', 1, 30_000);
  const held = new Set(s.before.values());
  const last = (ip: string | undefined) => Number(ip?.split('.')[3]);
  expect(a?.startsWith(`${s.net}.`)).toBe(true);
  expect(last(a) <= 15 || (last(a) >= 100 && last(a) <= 110)).toBe(true);
  expect(held.has(a!)).toBe(false);
  expect(b?.startsWith(`${s.net}.`)).toBe(true);
  expect(last(b) >= 200 && last(b) <= 207).toBe(true);
  expect(held.has(b!)).toBe(false);
}

async function deleteLabelled(e: TestEnv, path: string, names: string[]): Promise<void> {
  for (const n of names)
    await e.client.request({ method: 'DELETE', path: `${path}/${n}` }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
}

describe('MetalLB migration on a live cluster', () => {
  test('mirror enabled before the metallb.io CRDs exist: a clear log line, no crash; mirroring starts once they appear', async () => {
    const e = await TestEnv.create(sharedKubeConfig(), 'mlb-late');
    env = e;
    // Registered before the controller starts, so it runs after the controller stopped (cleanups run
    // in reverse): a running mirror would re-create what we delete.
    e.onCleanup(() => deleteLabelled(e, POOLS_PATH, [`mlb-${e.id}-late`]));
    e.onCleanup(() => deleteLabelled(e, PEERS_PATH, [`mlb-${e.id}-late-peer`]));
    const { logger, lines } = capturingLogger();
    const ctl = await e.start({
      metallbCompat: true,
      metallbNamespace: e.ns,
      metallbProbeIntervalMs: 500,
      logger,
    });
    await ctl.whenLeading();
    await until(
      () => lines.some((l) => l.includes('metallb.io IPAddressPool/L2Advertisement CRDs are not installed')),
      10_000,
      'idle log line',
    );
    expect(ctl.metallbMirror?.active()).toBe(false);
    // The controller does its normal job meanwhile.
    const pool = await e.createPool('plain', { addresses: ['100.64.9.0/30'] });
    await e.createService('plain', { annotations: { 'portico.dev/address-pool': pool } });
    await e.waitIPs('plain');

    await installCrdFiles(sharedKubeConfig(), [CRDS]);
    await ctl.metallbMirror?.whenActive(20_000);
    await e.client.request({
      method: 'POST',
      path: `${METALLB}/namespaces/${e.ns}/ipaddresspools`,
      body: {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: `mlb-${e.id}-late` },
        spec: { addresses: ['100.64.9.16/30'] },
      },
    });
    const mirrored = await until(
      async () => {
        const p = await e.client.request<{
          metadata: { labels?: Record<string, string> };
          spec: { addresses: string[] };
        }>({
          path: `${POOLS_PATH}/mlb-${e.id}-late`,
        });
        return p;
      },
      20_000,
      'mirrored pool',
    );
    expect(mirrored.metadata.labels?.[MIRRORED_LABEL]).toBe('metallb');
    expect(mirrored.spec.addresses).toEqual(['100.64.9.16/30']);
    // A BGPPeer too, whether or not metallb.io/v1beta2 was served yet when the mirror started
    // (kinds that appear later are picked up on the probe interval).
    await until(
      () =>
        e.client.request({
          method: 'POST',
          path: `/apis/metallb.io/v1beta2/namespaces/${e.ns}/bgppeers`,
          body: {
            apiVersion: 'metallb.io/v1beta2',
            kind: 'BGPPeer',
            metadata: { name: `mlb-${e.id}-late-peer` },
            spec: { myASN: 64512, peerASN: 64513, peerAddress: '10.0.0.9' },
          },
        }),
      10_000,
      'v1beta2 served',
    );
    await until(
      () => e.client.request({ path: `${PEERS_PATH}/mlb-${e.id}-late-peer` }),
      20_000,
      'mirrored BGPPeer',
    );
  });

  describe('with the metallb.io CRDs installed', () => {
    beforeAll(async () => {
      await installCrdFiles(sharedKubeConfig(), [CRDS]);
    });
    afterAll(async () => {
      // Leave the shared control plane as we found it.
      const e = await TestEnv.create(sharedKubeConfig(), 'mlb-crd-cleanup');
      for (const n of CRD_NAMES)
        await e.client
          .request({ method: 'DELETE', path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${n}` })
          .catch(() => {});
      await e.cleanup();
    });

    test('(i) `migrate metallb --from-cluster` applied, then the controller: no IP moves, new Services use the ranges', async () => {
      const e = await TestEnv.create(sharedKubeConfig(), 'mlb-cli');
      env = e;
      const s = await seedMetalLB(e, 20);
      // Two Services the pre-flight check must point out: an IP outside every MetalLB pool (a
      // manual edit), and a class Portico does not serve.
      await e.createService('stray', { ports: [{ port: 80 }] });
      await applyStatus(
        e.client,
        { resource: Resources.services, namespace: e.ns, name: 'stray' },
        { loadBalancer: { ingress: [{ ip: `${s.net}.250` }] } },
        { fieldManager: 'metallb-controller' },
      );
      await e.createService('foreign', { ports: [{ port: 80 }], loadBalancerClass: 'example.com/other' });
      const r = await runMigrate(
        ['metallb', '--from-cluster', '-n', e.ns, '--lb-class', e.cls],
        sharedKubeconfigPath(),
      );
      expect(r.code, r.err).toBe(0);
      expect(r.err).not.toContain('not supported yet');
      expect(r.out + r.err).not.toContain(PLAIN_PASSWORD);
      expect(r.err).toContain(
        `warning: BGPPeer/${s.peer} spec.password: the plain-text password is not carried (Portico takes TCP MD5 keys only from Secrets`,
      );
      // Pool B is announced only by BGP in MetalLB: now carried, so nothing to warn about.
      expect(r.err).not.toContain(`IPAddressPool/${s.poolB}:`);
      expect(r.err).toContain(
        `warning: Service/${e.ns}/stray status.loadBalancer.ingress: ${s.net}.250 is in no converted pool`,
      );
      expect(r.err).toContain(
        `warning: Service/${e.ns}/foreign spec.loadBalancerClass: example.com/other is not Portico's class`,
      );
      for (const n of s.before.keys()) expect(r.err).not.toContain(`Service/${e.ns}/${n} `);
      // Looking in the wrong namespace says where MetalLB's objects are instead of printing nothing quietly.
      const wrong = await runMigrate(['metallb', '--from-cluster', '-n', 'default'], sharedKubeconfigPath());
      expect(wrong.code).toBe(0);
      expect(wrong.err).toContain(`note: no MetalLB objects in namespace default; found some in`);
      expect(wrong.err).toContain(e.ns);
      const docs = parseAllDocuments(r.out).map(
        (d) => d.toJS() as { kind: string; metadata: { name: string } },
      );
      expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
        `IPAddressPool/${s.poolA}`,
        `IPAddressPool/${s.poolB}`,
        `L2Advertisement/${s.l2}`,
        `BGPPeer/${s.peer}`,
        `BGPAdvertisement/${s.bgpAdv}`,
      ]);
      // kubectl apply -f - (create; the objects are new): the real apiserver, with Portico's CRD
      // schemas and CEL rules, accepts every one of them.
      const paths: Record<string, string> = {
        IPAddressPool: POOLS_PATH,
        L2Advertisement: L2_PATH,
        BGPPeer: PEERS_PATH,
        BGPAdvertisement: BGPADV_PATH,
      };
      e.onCleanup(() => deleteLabelled(e, POOLS_PATH, [s.poolA, s.poolB]));
      e.onCleanup(() => deleteLabelled(e, L2_PATH, [s.l2]));
      e.onCleanup(() => deleteLabelled(e, PEERS_PATH, [s.peer]));
      e.onCleanup(() => deleteLabelled(e, BGPADV_PATH, [s.bgpAdv]));
      for (const d of docs) await e.client.request({ method: 'POST', path: paths[d.kind]!, body: d });
      const peer = await e.client.request<{ spec: unknown }>({ path: `${PEERS_PATH}/${s.peer}` });
      expect(peer.spec).toEqual({
        myASN: 64512,
        peerASN: 64513,
        peerAddress: '10.0.0.1',
        holdTime: '30s',
        keepaliveTime: '10s',
        passwordSecret: { name: `${s.peer}-bgp-password` },
        peerPort: 179,
        ebgpMultiHop: false,
        enableGracefulRestart: false,
      });
      const bgpAdv = await e.client.request<{ spec: unknown }>({ path: `${BGPADV_PATH}/${s.bgpAdv}` });
      expect(bgpAdv.spec).toEqual({
        ipAddressPools: [s.poolB],
        peers: [s.peer],
        communities: ['64512:300', 'large:64512:1:2'],
        aggregationLength: 32,
        aggregationLengthV6: 128,
      });

      const ctl = await e.start();
      await ctl.whenLeading();
      await expectNoIPMoved(e, s);
      await expectNewServicesFromRanges(e, s);
      // And a restart still moves nothing.
      await ctl.stop();
      const again = await e.start();
      await again.whenLeading();
      await sleep(500);
      await expectNoIPMoved(e, s);
    });

    test('(ii) the live mirror (least-privilege ServiceAccount): no IP moves, updates follow, bad input and name clashes are reported, deletes follow', async () => {
      const e = await TestEnv.create(sharedKubeConfig(), 'mlb-mirror');
      env = e;
      // RBAC: exactly the controller's rules plus the mirror's, as the chart grants them.
      const sa = 'portico-controller';
      const rbac = '/apis/rbac.authorization.k8s.io/v1';
      const roleName = `portico-controller-mlb-${e.id}`;
      await e.client.request({
        method: 'POST',
        path: `${rbac}/clusterroles`,
        body: controllerClusterRole(roleName, [
          ...CONTROLLER_CLUSTER_ROLE_RULES,
          ...CONTROLLER_METALLB_RULES,
        ]),
      });
      e.onCleanup(() => e.client.request({ method: 'DELETE', path: `${rbac}/clusterroles/${roleName}` }));
      const kubeconfig = await sharedServiceAccountKubeconfig(e.ns, sa);
      const subjects = [{ kind: 'ServiceAccount', name: sa, namespace: e.ns }];
      const roleRef = (kind: string, name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });
      await e.client.request({
        method: 'POST',
        path: `${rbac}/clusterrolebindings`,
        body: { metadata: { name: roleName }, roleRef: roleRef('ClusterRole', roleName), subjects },
      });
      e.onCleanup(() =>
        e.client.request({ method: 'DELETE', path: `${rbac}/clusterrolebindings/${roleName}` }),
      );
      await e.client.request({
        method: 'POST',
        path: `${rbac}/namespaces/${e.ns}/roles`,
        body: controllerLeaseRole(e.ns, 'lease'),
      });
      await e.client.request({
        method: 'POST',
        path: `${rbac}/namespaces/${e.ns}/rolebindings`,
        body: { metadata: { name: 'lease', namespace: e.ns }, roleRef: roleRef('Role', 'lease'), subjects },
      });

      const s = await seedMetalLB(e, 30);
      // A user-made Portico pool whose name a MetalLB pool also uses: must never be touched.
      const clash = `mlb-${e.id}-clash`;
      await e.client.request({
        method: 'POST',
        path: POOLS_PATH,
        body: {
          apiVersion: 'portico.dev/v1alpha1',
          kind: 'IPAddressPool',
          metadata: { name: clash },
          spec: { addresses: ['100.64.31.0/30'], autoAssign: false },
        },
      });
      const postPool = (name: string, addresses: string[]) =>
        e.client.request({
          method: 'POST',
          path: `${METALLB}/namespaces/${e.ns}/ipaddresspools`,
          body: {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'IPAddressPool',
            metadata: { name },
            spec: { addresses, autoAssign: false },
          },
        });
      await postPool(clash, ['100.64.32.0/30']);
      const doomed = `mlb-${e.id}-doomed`;
      await postPool(doomed, ['100.64.33.0/30']);
      e.onCleanup(() => deleteLabelled(e, POOLS_PATH, [s.poolA, s.poolB, clash, doomed]));
      e.onCleanup(() => deleteLabelled(e, L2_PATH, [s.l2]));
      e.onCleanup(() => deleteLabelled(e, PEERS_PATH, [s.peer]));
      e.onCleanup(() => deleteLabelled(e, BGPADV_PATH, [s.bgpAdv]));

      await until(
        async () => {
          const { KubeClient } = await import('../../../lib/kube/index.ts');
          const c = new KubeClient(loadKubeConfig({ kubeconfig }));
          try {
            await c.request({ path: `${METALLB}/namespaces/${e.ns}/ipaddresspools` });
            return true;
          } finally {
            await c.close();
          }
        },
        10_000,
        'RBAC in effect',
      );
      const { logger, lines } = capturingLogger();
      const ctl = await e.start({
        logger,
        kubeConfig: loadKubeConfig({ kubeconfig }),
        metallbCompat: true,
        metallbNamespace: e.ns,
      });
      await ctl.whenLeading(20_000);
      await ctl.metallbMirror?.whenActive(20_000);
      // BGP objects are mirrored: the peer (its plain-text password not, with an Event on the
      // MetalLB object saying which Secret to create), the advertisement with its alias resolved.
      type BgpJson = {
        metadata: { labels?: Record<string, string>; generation?: number };
        spec: Record<string, unknown>;
      };
      const getPeer = (name: string) => e.client.request<BgpJson>({ path: `${PEERS_PATH}/${name}` });
      const getBgpAdv = (name: string) => e.client.request<BgpJson>({ path: `${BGPADV_PATH}/${name}` });
      const peer = await until(() => getPeer(s.peer), 20_000, 'BGPPeer mirrored');
      expect(peer.metadata.labels?.[MIRRORED_LABEL]).toBe('metallb');
      expect(peer.spec).toEqual({
        myASN: 64512,
        peerASN: 64513,
        peerAddress: '10.0.0.1',
        holdTime: '30s',
        keepaliveTime: '10s',
        passwordSecret: { name: `${s.peer}-bgp-password` },
        peerPort: 179,
        ebgpMultiHop: false,
        enableGracefulRestart: false,
      });
      const adv = await until(() => getBgpAdv(s.bgpAdv), 20_000, 'BGPAdvertisement mirrored');
      expect(adv.spec.communities).toEqual(['64512:300', 'large:64512:1:2']);
      const ev = await e.waitEvent(
        s.peer,
        'MetalLBFieldNotCarried',
        'the plain-text password is not carried',
      );
      expect(ev.note).toContain(`${s.peer}-bgp-password`);
      expect(ev.note).not.toContain(PLAIN_PASSWORD);
      expect(lines.join('')).not.toContain(PLAIN_PASSWORD);

      type PoolJson = {
        metadata: { labels?: Record<string, string>; generation?: number };
        spec: { addresses: string[]; autoAssign?: boolean };
      };
      const getPool = (name: string) => e.client.request<PoolJson>({ path: `${POOLS_PATH}/${name}` });
      const a = await until(() => getPool(s.poolA), 20_000, 'pool A mirrored');
      expect(a.metadata.labels?.[MIRRORED_LABEL]).toBe('metallb');
      expect(a.metadata.labels?.site).toBe(e.id); // copied: the L2 pool selector matches on it
      const l2 = await until(
        () => e.client.request<{ spec: unknown }>({ path: `${L2_PATH}/${s.l2}` }),
        20_000,
        'L2Advertisement mirrored',
      );
      expect(l2.spec).toEqual({
        ipAddressPoolSelector: { matchLabels: { site: e.id } },
        interfaces: ['eth0'],
      });
      await expectNoIPMoved(e, s);
      await expectNewServicesFromRanges(e, s);

      // The user's pool is untouched; the MetalLB object says why it is not mirrored.
      await e.waitEvent(clash, 'MirrorConflict', 'not made by the MetalLB mirror');
      const user = await getPool(clash);
      expect(user.spec.addresses).toEqual(['100.64.31.0/30']);
      expect(user.metadata.labels?.[MIRRORED_LABEL]).toBeUndefined();

      // A MetalLB edit is followed.
      await e.client.request({
        method: 'PATCH',
        path: `${METALLB}/namespaces/${e.ns}/ipaddresspools/${s.poolA}`,
        contentType: 'application/merge-patch+json',
        body: { spec: { addresses: [`${s.net}.0/28`, `${s.net}.100-${s.net}.110`, `${s.net}.64/28`] } },
      });
      await until(async () => (await getPool(s.poolA)).spec.addresses.length === 3, 20_000, 'pool A updated');

      // Pool B turns invalid in MetalLB: an Event on it, its last good mirror kept, s5 keeps its IP.
      const bBefore = await getPool(s.poolB);
      await e.client.request({
        method: 'PATCH',
        path: `${METALLB}/namespaces/${e.ns}/ipaddresspools/${s.poolB}`,
        contentType: 'application/merge-patch+json',
        body: { spec: { addresses: [`${s.net}.207-${s.net}.200`] } },
      });
      await e.waitEvent(s.poolB, 'MetalLBNotCarried', 'is reversed');
      await sleep(1000);
      const bAfter = await getPool(s.poolB);
      expect(bAfter.spec).toEqual(bBefore.spec);
      expect(bAfter.metadata.generation).toBe(bBefore.metadata.generation);
      expect(ips(await e.getService('s5'))).toEqual([s.before.get('s5')]);

      // A MetalLB pool deleted: its mirror goes.
      await e.client.request({
        method: 'DELETE',
        path: `${METALLB}/namespaces/${e.ns}/ipaddresspools/${doomed}`,
      });
      await until(
        async () => {
          try {
            await getPool(doomed);
            return false;
          } catch (err) {
            return isNotFound(err);
          }
        },
        20_000,
        'mirror of the deleted pool gone',
      );
      // BGP: a MetalLB edit is followed; a deleted BGPAdvertisement takes its mirror with it.
      await e.client.request({
        method: 'PATCH',
        path: `/apis/metallb.io/v1beta2/namespaces/${e.ns}/bgppeers/${s.peer}`,
        contentType: 'application/merge-patch+json',
        body: { spec: { holdTime: '9s', keepaliveTime: '3s' } },
      });
      await until(async () => (await getPeer(s.peer)).spec.holdTime === '9s', 20_000, 'BGPPeer updated');
      expect((await getPeer(s.peer)).spec.keepaliveTime).toBe('3s');
      await e.client.request({
        method: 'DELETE',
        path: `${METALLB}/namespaces/${e.ns}/bgpadvertisements/${s.bgpAdv}`,
      });
      await until(
        async () => {
          try {
            await getBgpAdv(s.bgpAdv);
            return false;
          } catch (err) {
            return isNotFound(err);
          }
        },
        20_000,
        'mirror of the deleted BGPAdvertisement gone',
      );
      expect(lines.join('')).not.toContain(PLAIN_PASSWORD);
      // After all this, still no Service's IP moved.
      for (const [name, ip] of s.before)
        expect(ips((await e.getService(name)) as ServiceObject), name).toEqual([ip]);
      // Passes triggered by unrelated changes (pool status writes, Services) rewrite no spec.
      const genA = (await getPool(s.poolA)).metadata.generation;
      const genPeer = (await getPeer(s.peer)).metadata.generation;
      await e.createService('late', { ports: [{ port: 81 }] });
      await e.waitIPs('late', 1, 30_000);
      await sleep(1500);
      expect((await getPool(s.poolA)).metadata.generation).toBe(genA);
      expect((await getPeer(s.peer)).metadata.generation).toBe(genPeer);
    });

    // Last in this block: it deletes the metallb.io CRDs, as uninstalling MetalLB does.
    test('(iii) uninstalling MetalLB (its CRDs and every MetalLB object deleted) keeps every mirror: nothing stops being announced', async () => {
      const e = await TestEnv.create(sharedKubeConfig(), 'mlb-uninstall');
      env = e;
      const s = await seedMetalLB(e, 40);
      e.onCleanup(() => deleteLabelled(e, POOLS_PATH, [s.poolA, s.poolB]));
      e.onCleanup(() => deleteLabelled(e, L2_PATH, [s.l2]));
      e.onCleanup(() => deleteLabelled(e, PEERS_PATH, [s.peer]));
      e.onCleanup(() => deleteLabelled(e, BGPADV_PATH, [s.bgpAdv]));
      const { logger, lines } = capturingLogger();
      const ctl = await e.start({ logger, metallbCompat: true, metallbNamespace: e.ns });
      await ctl.whenLeading();
      await ctl.metallbMirror?.whenActive(20_000);
      await until(() => e.client.request({ path: `${L2_PATH}/${s.l2}` }), 20_000, 'L2Advertisement mirrored');
      await until(() => e.client.request({ path: `${PEERS_PATH}/${s.peer}` }), 20_000, 'BGPPeer mirrored');
      await until(
        () => e.client.request({ path: `${BGPADV_PATH}/${s.bgpAdv}` }),
        20_000,
        'BGPAdvertisement mirrored',
      );
      await expectNoIPMoved(e, s);

      for (const n of CRD_NAMES)
        await e.client.request({
          method: 'DELETE',
          path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${n}`,
        });
      await until(
        async () => {
          try {
            await e.client.request({
              path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAMES[0]}`,
            });
            return false;
          } catch (err) {
            return isNotFound(err);
          }
        },
        30_000,
        'metallb.io CRDs gone',
      );
      await until(
        () => lines.some((l) => l.includes('metallb.io CRDs are being deleted or gone')),
        20_000,
        'uninstall warning',
      );
      await sleep(1500);
      for (const name of [s.poolA, s.poolB]) {
        const p = await e.client.request<{ metadata: { labels?: Record<string, string> } }>({
          path: `${POOLS_PATH}/${name}`,
        });
        expect(p.metadata.labels?.[MIRRORED_LABEL], name).toBe('metallb');
      }
      await e.client.request({ path: `${L2_PATH}/${s.l2}` });
      // The BGP mirrors stay too (the BGP CRDs may go first in an uninstall: routes must not).
      await e.client.request({ path: `${PEERS_PATH}/${s.peer}` });
      await e.client.request({ path: `${BGPADV_PATH}/${s.bgpAdv}` });
      for (const [name, ip] of s.before) expect(ips(await e.getService(name)), name).toEqual([ip]);
    });
  });
});

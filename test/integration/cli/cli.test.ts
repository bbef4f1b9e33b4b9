// `portico status` and `portico why` as a user runs them: the CLI as a child process
// (`node cli/main.ts …`) against the shared envtest apiserver. No controller or speaker runs here:
// their writes are made directly, in the shapes they write them (status through the status
// subresource, conditions from the components' own pure functions, Events through lib/kube's
// EventRecorder, Leases from the speaker's leaseBody), so the subject is the CLI's reading of a real
// apiserver: list/get paths, field and label selectors, status subresources, error answers.
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { StatusReport } from '../../../cli/status/report.ts';
import type { Diagnosis } from '../../../cli/why/diagnose.ts';
import { poolStatusIntent } from '../../../controllers/pool-state.ts';
import { desiredState, ingressOf } from '../../../controllers/service-state.ts';
import { sessionStateBody, sessionStateStatusBody } from '../../../lib/api/bgp.ts';
import { API_VERSION, FIELD_MANAGERS } from '../../../lib/api/group.ts';
import {
  APPLY_PATCH,
  EventRecorder,
  isNotFound,
  KubeClient,
  type KubeObject,
  Resources,
} from '../../../lib/kube/index.ts';
import { leaseBody, microTime } from '../../../speaker/kube/peers.ts';
import { announcedCondition } from '../../../speaker/kube/status.ts';
import { installCrdFiles } from '../../envtest/crds.ts';
import { type ControlPlane, REPO_ROOT, startControlPlane } from '../../envtest/index.ts';
import { cachedKubectl } from '../../envtest/provision.ts';
import { strictPrereqs } from '../../support/require.ts';

const run = promisify(execFile);
const MAIN = join(REPO_ROOT, 'cli', 'main.ts');

const id = `cli-${Date.now().toString(36)}-${process.pid % 1000}`;
const ns = id; // the Services' namespace
const sys = `${id}-sys`; // where "Portico runs": its Leases
const n1 = `${id}-n1`;
const n2 = `${id}-n2`;
const poolName = `${id}-lan`;
const zoneName = `${id}-zone`;
const apex = `${id}.k8s.test`;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const torA = `${id}-tor-a`;
const torB = `${id}-tor-b`;
const advName = `${id}-bgp`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('portico status / why against a real apiserver', () => {
  // A private control plane, not the shared one: the pool status this test writes (as the
  // controller would) is cluster-scoped, and the real controllers other test files run on the
  // shared plane write the status of every pool they see.
  let plane: ControlPlane;
  let client: KubeClient;
  let events: EventRecorder;
  const kc = () => ['--kubeconfig', plane.kubeconfigPath];

  async function service(
    name: string,
    spec: Record<string, unknown>,
    status: { ips?: string[]; conditions?: unknown[] },
    annotations: Record<string, string> = {},
  ): Promise<KubeObject> {
    const created = await client.create<KubeObject>(Resources.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, annotations },
      spec: { ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name }, ...spec },
    } as KubeObject);
    if (status.ips || status.conditions) {
      await client.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns}/services/${name}/status`,
        contentType: 'application/merge-patch+json',
        body: {
          status: {
            loadBalancer: { ingress: ingressOf(status.ips ?? []) },
            conditions: status.conditions ?? [],
          },
        },
      });
    }
    return created;
  }

  const allocated = (ips: string[]) => ({
    ...desiredState({ ok: true, ips, pool: poolName, released: [], changed: true }, 1).condition,
    lastTransitionTime: now(),
  });

  beforeAll(async () => {
    plane = await startControlPlane();
    client = new KubeClient(plane.kubeConfig());
    events = new EventRecorder(client, {
      reportingController: 'portico.dev/speaker',
      reportingInstance: 'test',
    });
    for (const name of [ns, sys])
      await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

    // A pool with its status as the controller writes it (1 of 11 IPv4 addresses used).
    await client.request({
      method: 'POST',
      path: `/apis/${API_VERSION}/ipaddresspools`,
      body: {
        apiVersion: API_VERSION,
        kind: 'IPAddressPool',
        metadata: { name: poolName },
        spec: { addresses: ['198.18.7.10-198.18.7.20'] },
      },
    });
    const intent = poolStatusIntent(
      {
        name: poolName,
        valid: true,
        errors: [],
        warnings: [],
        overlaps: [],
        IPv4: { total: 11n, assigned: 2n, available: 9n },
        IPv6: null,
        outOfPool: 0,
      },
      1,
    );
    await client.request({
      method: 'PATCH',
      path: `/apis/${API_VERSION}/ipaddresspools/${poolName}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          ...intent,
          conditions: intent.conditions.map((c) => ({ ...c, lastTransitionTime: now() })),
        },
      },
    });

    await client.request({
      method: 'POST',
      path: `/apis/${API_VERSION}/dnszones`,
      body: { apiVersion: API_VERSION, kind: 'DNSZone', metadata: { name: zoneName }, spec: { zone: apex } },
    });
    await client.request({
      method: 'PATCH',
      path: `/apis/${API_VERSION}/dnszones/${zoneName}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          records: 5,
          serial: 2026120301,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Serving',
              message: 'serving 5 records',
              lastTransitionTime: now(),
            },
            {
              type: 'Conflict',
              status: 'False',
              reason: 'NoConflict',
              message: 'none',
              lastTransitionTime: now(),
            },
          ],
        },
      },
    });

    // Two Nodes; n1's speaker renews, n2's stopped five minutes ago.
    for (const name of [n1, n2]) {
      await client.create(Resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
      await client.request({
        method: 'PATCH',
        path: `/api/v1/nodes/${name}/status`,
        contentType: 'application/merge-patch+json',
        body: {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'ok',
                lastHeartbeatTime: now(),
                lastTransitionTime: now(),
              },
            ],
          },
        },
      });
    }
    await client.create(
      Resources.leases,
      leaseBody({
        node: n1,
        namespace: sys,
        address: '10.77.0.1',
        durationMs: 60_000,
        now: Date.now(),
      }) as never,
    );
    await client.create(
      Resources.leases,
      leaseBody({
        node: n2,
        namespace: sys,
        address: '10.77.0.2',
        durationMs: 60_000,
        now: Date.now() - 300_000,
      }) as never,
    );
    await client.create(Resources.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'portico-controller', namespace: sys },
      spec: {
        holderIdentity: `${id}-controller-0`,
        leaseDurationSeconds: 3600,
        renewTime: microTime(Date.now()),
      },
    } as never);

    // web: allocated and announced by n1 (since the condition's transition; moved there 1 s ago).
    const webIp = '198.18.7.10';
    const web = await service(
      'web',
      { type: 'LoadBalancer', loadBalancerClass: 'portico.dev/lb' },
      {
        ips: [webIp],
        conditions: [
          allocated([webIp]),
          {
            ...announcedCondition(
              [webIp],
              new Map([
                [webIp, { ip: webIp, owner: n1, candidates: [n1], interfaces: ['eth0'], services: [] }],
              ]),
            ),
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
      { 'portico.dev/allocated-from-pool': poolName },
    );
    events.normal(web, 'OwnerChanged', `${webIp} announced by node ${n1} on eth0`, 'Announce');

    // dark: allocated, but no L2Advertisement covers the pool.
    const darkIp = '198.18.7.11';
    const dark = await service(
      'dark',
      { type: 'LoadBalancer' },
      {
        ips: [darkIp],
        conditions: [
          allocated([darkIp]),
          {
            ...announcedCondition(
              [darkIp],
              new Map([
                [
                  darkIp,
                  {
                    ip: darkIp,
                    owner: undefined,
                    reason: 'no-l2advertisement' as const,
                    message: `no L2Advertisement covers pool ${poolName}`,
                    services: [],
                  },
                ],
              ]),
            ),
            lastTransitionTime: now(),
          },
        ],
      },
      { 'portico.dev/allocated-from-pool': poolName },
    );
    events.warning(
      dark,
      'NotAnnounced',
      `${darkIp}: not announced (no L2Advertisement covers pool ${poolName})`,
      'Announce',
    );

    // pending: the pool is full.
    await service(
      'pending',
      { type: 'LoadBalancer' },
      {
        conditions: [
          {
            ...desiredState(
              {
                ok: false,
                reason: 'PoolExhausted',
                message: `no free IPv4 address in eligible pools (${poolName})`,
                ips: [],
                pool: null,
              },
              1,
            ).condition,
            lastTransitionTime: now(),
          },
        ],
      },
    );
    // Someone else's.
    await service('theirs', { type: 'LoadBalancer', loadBalancerClass: 'example.com/other' }, {});
    await events.flush();
  }, 120_000);

  afterAll(async () => {
    await events.close();
    const del = async (path: string) => {
      try {
        await client.request({ method: 'DELETE', path });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };
    await del(`/apis/${API_VERSION}/ipaddresspools/${poolName}`);
    await del(`/apis/${API_VERSION}/dnszones/${zoneName}`);
    for (const p of [torA, torB]) await del(`/apis/${API_VERSION}/bgppeers/${p}`);
    await del(`/apis/${API_VERSION}/bgpadvertisements/${advName}`);
    for (const n of [n1, n2]) await del(`/api/v1/nodes/${n}`);
    for (const n of [ns, sys]) await del(`/api/v1/namespaces/${n}`);
    client.close();
    await plane.stop();
  });

  test('migrate metallb --from-cluster: MetalLB BGP objects become Portico ones the apiserver accepts; the password is printed nowhere', async () => {
    // MetalLB's objects in their own namespace; Portico "runs" in `sys`.
    await installCrdFiles(plane.kubeConfig(), [join(REPO_ROOT, 'test', 'fixtures', 'metallb', 'crds.yaml')]);
    const mlb = `${id}-mlb`;
    const secret = 'cli-plaintext-md5';
    await client.create(Resources.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: mlb },
    });
    const post = async (version: string, plural: string, body: Record<string, unknown>) => {
      // A CRD just installed may take a moment to be served.
      for (let i = 0; ; i++) {
        try {
          return await client.request({
            method: 'POST',
            path: `/apis/metallb.io/${version}/namespaces/${mlb}/${plural}`,
            body,
          });
        } catch (err) {
          if (!isNotFound(err) || i > 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const peerName = `${id}-tor`;
    await post('v1beta2', 'bgppeers', {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: peerName },
      spec: {
        myASN: 64512,
        dynamicASN: 'external',
        peerAddress: '192.0.2.1',
        password: secret,
        bfdProfile: 'fast',
      },
    });
    const securedName = `${id}-tor-md5`;
    await post('v1beta2', 'bgppeers', {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: securedName },
      spec: {
        myASN: 64512,
        peerASN: 64600,
        peerAddress: '192.0.2.2',
        passwordSecret: { name: 'md5', namespace: mlb },
      },
    });
    await post('v1beta1', 'communities', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'Community',
      metadata: { name: `${id}-aliases` },
      spec: { communities: [{ name: 'edge', value: '64512:10' }] },
    });
    const advName = `${id}-routes`;
    await post('v1beta1', 'bgpadvertisements', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'BGPAdvertisement',
      metadata: { name: advName },
      spec: {
        ipAddressPools: [poolName],
        communities: ['edge'],
        localPref: 150,
        peers: [peerName, securedName],
      },
    });

    const res = await cli([
      'migrate',
      'metallb',
      '--from-cluster',
      '-n',
      mlb,
      '--portico-namespace',
      sys,
      '-o',
      'json',
      ...kc(),
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toContain(secret);
    expect(res.stderr).toContain(
      `warning: BGPPeer/${peerName} spec.password: the plain-text password is not carried`,
    );
    expect(res.stderr).toContain(`warning: BGPPeer/${peerName} spec.bfdProfile: "fast": Portico has no BFD`);
    expect(res.stderr).toContain(
      `warning: BGPPeer/${securedName} spec.passwordSecret: MetalLB reads Secret md5 in ${mlb}; Portico's speaker reads Secrets only in ${sys}: copy it there`,
    );
    const list = JSON.parse(res.stdout) as {
      items: Array<{ kind: string; metadata: { name: string }; spec: Record<string, unknown> }>;
    };
    const byName = new Map(list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    expect([...byName.keys()].sort()).toEqual([
      `BGPAdvertisement/${advName}`,
      `BGPPeer/${peerName}`,
      `BGPPeer/${securedName}`,
    ]);
    expect(byName.get(`BGPPeer/${peerName}`)?.spec.passwordSecret).toEqual({
      name: `${peerName}-bgp-password`,
    });
    expect(byName.get(`BGPAdvertisement/${advName}`)?.spec).toEqual({
      localPref: 150,
      communities: ['64512:10'],
      ipAddressPools: [poolName],
      peers: [peerName, securedName],
    });
    // `kubectl apply`: Portico's CRDs (schemas, CEL rules) accept every object printed.
    for (const o of list.items) {
      const plural = o.kind === 'BGPPeer' ? 'bgppeers' : 'bgpadvertisements';
      await client.request({ method: 'POST', path: `/apis/${API_VERSION}/${plural}`, body: o });
      await client.request({ method: 'DELETE', path: `/apis/${API_VERSION}/${plural}/${o.metadata.name}` });
    }
    await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${mlb}` });
  });

  test('status -o json: pools, VIPs with node and since, pending, zones, speakers, problems', async () => {
    // The recorder's Events were flushed in beforeAll.
    const res = await cli(['status', '-o', 'json', ...kc()]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const r = JSON.parse(res.stdout) as StatusReport;
    expect(r.pools.find((p) => p.name === poolName)).toEqual({
      name: poolName,
      addresses: ['198.18.7.10-198.18.7.20'],
      autoAssign: true,
      ready: 'True',
      message: 'usable for allocation',
      ipv4: { assigned: '2', available: '9' },
      services: 2,
    });
    const web = r.vips.find((v) => v.ip === '198.18.7.10')!;
    expect(web).toMatchObject({
      services: [`${ns}/web`],
      pool: poolName,
      announced: 'True',
      node: n1,
      interfaces: ['eth0'],
    });
    // Dated by the OwnerChanged Event (listed with fieldSelector reason=OwnerChanged), not the
    // condition's 2026-01-01 transition.
    expect(Date.parse(web.since!)).toBeGreaterThan(Date.now() - 120_000);
    expect(r.vips.find((v) => v.ip === '198.18.7.11')).toMatchObject({
      services: [`${ns}/dark`],
      announced: 'False',
      reason: 'NoL2Advertisement',
      node: null,
    });
    expect(r.pending.filter((p) => p.service.startsWith(`${ns}/`))).toEqual([
      {
        service: `${ns}/pending`,
        reason: 'PoolExhausted',
        message: `no free IPv4 address in eligible pools (${poolName})`,
        since: expect.any(String),
      },
    ]);
    expect(JSON.stringify(r)).not.toContain(`${ns}/theirs`);
    expect(r.zones.find((z) => z.name === zoneName)).toEqual({
      name: zoneName,
      zone: apex,
      records: 5,
      serial: 2026120301,
      ready: 'True',
      message: 'serving 5 records',
      conflict: false,
    });
    expect(r.speakers.filter((s) => s.node.startsWith(id))).toEqual([
      {
        node: n1,
        address: '10.77.0.1',
        namespace: sys,
        live: true,
        renewed: expect.any(String),
        nodeReady: 'True',
        excluded: false,
        vips: 1,
      },
      {
        node: n2,
        address: '10.77.0.2',
        namespace: sys,
        live: false,
        renewed: expect.any(String),
        nodeReady: 'True',
        excluded: false,
        vips: 0,
      },
    ]);
    expect(r.problems).toEqual(
      expect.arrayContaining([
        `198.18.7.11 (${ns}/dark) is not announced (NoL2Advertisement): no L2Advertisement covers pool ${poolName}`,
        `${ns}/pending has no IP (PoolExhausted): no free IPv4 address in eligible pools (${poolName})`,
        expect.stringMatching(new RegExp(`^speaker on node ${n2} stopped renewing its Lease`)),
      ]),
    );
    expect(r.controller).not.toBeNull();
    expect(r.notes).toEqual([]);
  });

  test("status -n NS -o yaml: the same report, only that namespace's Services", async () => {
    const res = await cli(['-o', 'yaml', 'status', '-n', ns, ...kc()]);
    expect(res.code).toBe(0);
    const r = parseYaml(res.stdout) as StatusReport;
    expect(r.vips.map((v) => v.ip).sort()).toEqual(['198.18.7.10', '198.18.7.11']);
    expect(r.pending.map((p) => p.service)).toEqual([`${ns}/pending`]);
  });

  test('status (table), with the kubeconfig from KUBECONFIG', async () => {
    const res = await cli(['status', '-n', ns], { KUBECONFIG: plane.kubeconfigPath });
    expect(res.code).toBe(0);
    const t = res.stdout;
    expect(t).toMatch(
      new RegExp(`^${poolName} +2/9 +- +2 +yes +True +198\\.18\\.7\\.10-198\\.18\\.7\\.20$`, 'm'),
    );
    expect(t).toMatch(
      new RegExp(`^198\\.18\\.7\\.10 +${ns}/web +${poolName} +True +${n1} +eth0 +\\d+s$`, 'm'),
    );
    expect(t).toMatch(
      new RegExp(`^198\\.18\\.7\\.11 +${ns}/dark +${poolName} +False \\(NoL2Advertisement\\) +- +- +-$`, 'm'),
    );
    expect(t).toMatch(new RegExp(`^${ns}/pending +PoolExhausted +\\d+s +no free IPv4`, 'm'));
    expect(t).toMatch(
      new RegExp(`^${apex.replace(/\./g, '\\.')} +${zoneName} +5 +2026120301 +True +no$`, 'm'),
    );
    expect(t).toMatch(new RegExp(`^${n1} +10\\.77\\.0\\.1 +yes +\\d+s ago +True +1 +-$`, 'm'));
    expect(t).toMatch(new RegExp(`^${n2} +10\\.77\\.0\\.2 +no +\\d+m ago +True +0 +-$`, 'm'));
    expect(t).toContain('PROBLEMS (');
  });

  test('why (fine): verdict ok, evidence from the conditions and the OwnerChanged Event', async () => {
    const res = await cli(['why', `${ns}/web`, ...kc()]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(
      `Verdict: OK: ${ns}/web is fine: 198.18.7.10 from pool ${poolName}, announced (198.18.7.10 on node ${n1})`,
    );
    expect(res.stdout).toMatch(
      new RegExp(
        `^\\d+s +Normal +OwnerChanged +1 +portico\\.dev/speaker +198\\.18\\.7\\.10 announced by node ${n1} on eth0$`,
        'm',
      ),
    );
  });

  test('why -o json: not announced, with the Warning Event (regarding.* field selector)', async () => {
    const res = await cli(['why', 'dark', '-n', ns, '-o', 'json', ...kc()]);
    expect(res.code).toBe(0);
    const d = JSON.parse(res.stdout) as Diagnosis;
    expect(d.verdict).toBe('problem');
    expect(d.findings.filter((f) => f.level === 'problem').map((f) => f.code)).toEqual(['NoL2Advertisement']);
    expect(d.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'NotAnnounced']]);
    expect(d.notes).toEqual([]);
  });

  test('why -o yaml: no IP, pool exhausted, with the pool usage', async () => {
    const res = await cli(['why', 'pending', '--namespace', ns, '-o', 'yaml', ...kc()]);
    expect(res.code).toBe(0);
    const d = parseYaml(res.stdout) as Diagnosis;
    expect(d.findings).toEqual([
      {
        level: 'problem',
        code: 'PoolExhausted',
        message: `no free IPv4 address in eligible pools (${poolName})`,
        hint: `usage: ${poolName} [198.18.7.10-198.18.7.20] IPv4 2 used/9 free. Add addresses to a pool, or delete a LoadBalancer Service you no longer need`,
      },
    ]);
  });

  test('why: another class is ignored; a missing Service is exit 1', async () => {
    const theirs = await cli(['why', 'theirs', '-n', ns, '-o', 'json', ...kc()]);
    expect(theirs.code).toBe(0);
    expect((JSON.parse(theirs.stdout) as Diagnosis).findings.map((f) => f.code)).toEqual([
      'OtherLoadBalancerClass',
    ]);
    const missing = await cli(['why', 'nope', '-n', ns, ...kc()]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: `portico: Service ${ns}/nope not found\n` });
  });

  test('a kubeconfig whose user is an exec plugin (as on cloud clusters) works', async () => {
    const admin = parseYaml(await readFile(plane.kubeconfigPath, 'utf8')) as {
      users: Array<{ user: { token?: string } }>;
    };
    const token = admin.users[0]?.user.token;
    expect(token).toBeTruthy();
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token },
    });
    const dir = await mkdtemp(join(tmpdir(), 'portico-exec-'));
    try {
      const file = join(dir, 'kubeconfig');
      const doc = parseYaml(await readFile(plane.kubeconfigPath, 'utf8')) as {
        users: Array<{ name: string; user: Record<string, unknown> }>;
      };
      doc.users = doc.users.map((u) => ({
        name: u.name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: process.execPath,
            args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
            interactiveMode: 'Never',
          },
        },
      }));
      await writeFile(file, stringifyYaml(doc));
      const res = await cli(['why', `${ns}/web`, '--kubeconfig', file]);
      expect(res.stderr).toBe('');
      expect(res.stdout).toContain(`Verdict: OK: ${ns}/web is fine`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('kubectl portico: kubectl finds kubectl-portico on PATH and passes the arguments', async () => {
    const assets = process.env.KUBEBUILDER_ASSETS;
    let kubectl = assets ? join(assets, 'kubectl') : undefined;
    if (
      kubectl &&
      (await access(kubectl).then(
        () => false,
        () => true,
      ))
    )
      kubectl = undefined;
    kubectl ??= await cachedKubectl();
    if (!kubectl) {
      if (strictPrereqs())
        throw new Error('CI=true and no kubectl in KUBEBUILDER_ASSETS or the envtest cache');
      console.warn('skipping the kubectl plugin check: no kubectl built');
      return;
    }
    const bin = await mkdtemp(join(tmpdir(), 'portico-plugin-'));
    try {
      await symlink(MAIN, join(bin, 'kubectl-portico'));
      const { stdout } = await run(kubectl, ['portico', 'why', `${ns}/web`, ...kc()], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        timeout: 60_000,
      });
      expect(stdout).toContain(`Verdict: OK: ${ns}/web is fine`);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  // Last: BGP objects change the VIP rows the tests above check. Written as the speaker writes them
  // (speaker/kube/bgp.ts): the object by server-side apply, then its status through /status.
  test('BGP mode: sessions from BGPSessionStates, a peer without any, the VIP carried over BGP; why explains it', async () => {
    const post = (plural: string, body: unknown) =>
      client.request<KubeObject>({ method: 'POST', path: `/apis/${API_VERSION}/${plural}`, body });
    const peerA = await post('bgppeers', {
      apiVersion: API_VERSION,
      kind: 'BGPPeer',
      metadata: { name: torA },
      spec: { myASN: 64512, peerASN: 64500, peerAddress: '198.18.0.1' },
    });
    await post('bgppeers', {
      apiVersion: API_VERSION,
      kind: 'BGPPeer',
      metadata: { name: torB },
      spec: {
        myASN: 64512,
        dynamicASN: 'external',
        peerAddress: '198.18.0.2',
        nodeSelectors: [{ matchLabels: { 'example.com/rack': 'none' } }],
      },
    });
    await post('bgpadvertisements', {
      apiVersion: API_VERSION,
      kind: 'BGPAdvertisement',
      metadata: { name: advName },
      spec: { ipAddressPools: [poolName], peers: [torA] },
    });
    const apply = (path: string, body: unknown) =>
      client.request({
        method: 'PATCH',
        path,
        query: { fieldManager: FIELD_MANAGERS.speaker, force: true },
        contentType: APPLY_PATCH,
        body,
      });
    const since = new Date(Date.now() - 7_200_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const states = [
      {
        node: n1,
        peer: torA,
        peerAddress: '198.18.0.1',
        state: 'Established' as const,
        prefixesSent: 2,
        establishedSince: since,
        lastTransition: since,
        // Kept by the speaker after recovery; not shown while Established.
        lastError: 'hold timer expired',
      },
      {
        node: n2,
        peer: torA,
        peerAddress: '198.18.0.1',
        state: 'Active' as const,
        prefixesSent: 0,
        lastTransition: now(),
        lastError: 'connect ECONNREFUSED 198.18.0.1:179',
      },
    ];
    for (const st of states) {
      const nodeObj = await client.get<KubeObject>(Resources.nodes, undefined, st.node);
      const body = sessionStateBody(
        { name: st.node, uid: nodeObj.metadata?.uid ?? '' },
        { name: torA, uid: peerA.metadata?.uid ?? '' },
      );
      const name = body.metadata.name!;
      await apply(`/apis/${API_VERSION}/bgpsessionstates/${name}`, body);
      await apply(`/apis/${API_VERSION}/bgpsessionstates/${name}/status`, sessionStateStatusBody(name, st));
    }

    const res = await cli(['status', '-o', 'json', '-n', ns, ...kc()]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const r = JSON.parse(res.stdout) as StatusReport;
    expect(r.notes).toEqual([]);
    expect(r.bgp).toEqual({
      peers: [
        { name: torA, address: '198.18.0.1', myASN: 64512, peerASN: '64500', sessions: 2, established: 1 },
        { name: torB, address: '198.18.0.2', myASN: 64512, peerASN: 'external', sessions: 0, established: 0 },
      ],
      sessions: [
        {
          name: `${n1}-${torA}`,
          node: n1,
          peer: torA,
          address: '198.18.0.1',
          state: 'Established',
          prefixes: 2,
          since,
          lastError: null,
          speakerLive: true,
        },
        {
          name: `${n2}-${torA}`,
          node: n2,
          peer: torA,
          address: '198.18.0.1',
          state: 'Active',
          prefixes: 0,
          since: expect.any(String),
          lastError: 'connect ECONNREFUSED 198.18.0.1:179',
          // n2's speaker stopped renewing its Lease five minutes ago (beforeAll).
          speakerLive: false,
        },
      ],
      established: 1,
      peersWithoutSession: [torB],
    });
    // dark has no L2Advertisement, but n1's Established session carries its pool: no problem.
    expect(r.vips.find((v) => v.ip === '198.18.7.11')?.bgp).toEqual({
      advertisements: [advName],
      nodes: [n1],
    });
    expect(r.problems.filter((p) => p.includes('198.18.7.11'))).toEqual([]);
    expect(r.problems).toEqual(
      expect.arrayContaining([
        `BGP session of node ${n2} to peer ${torA} (198.18.0.1) is Active: connect ECONNREFUSED 198.18.0.1:179`,
        expect.stringMatching(new RegExp(`^BGPPeer ${torB} has no session state on any node`)),
      ]),
    );
    // The kind e2e's fields are still there.
    const web = r.vips.find((v) => v.ip === '198.18.7.10')!;
    expect(web).toMatchObject({ announced: 'True', node: n1, services: [`${ns}/web`] });

    const table = await cli(['status', '-n', ns, ...kc()]);
    expect(table.code).toBe(0);
    const t = table.stdout;
    expect(t).toContain('\nBGP SESSIONS (');
    expect(t).toMatch(new RegExp(`^${n1} +${torA} +198\\.18\\.0\\.1 +Established +2 +2h +-$`, 'm'));
    expect(t).toMatch(
      new RegExp(
        `^${n2} +${torA} +198\\.18\\.0\\.1 +Active +0 +\\d+s +connect ECONNREFUSED 198\\.18\\.0\\.1:179$`,
        'm',
      ),
    );
    expect(t).toContain(`No session state on any node for BGPPeer ${torB}\n`);
    expect(t).toContain('BGP: 1/2 sessions Established (2 BGPPeers)\n');
    expect(t).toMatch(
      new RegExp(
        `^198\\.18\\.7\\.11 +${ns}/dark +${poolName} +False \\(NoL2Advertisement\\) +- +- +- +1 node$`,
        'm',
      ),
    );

    const why = await cli(['why', `${ns}/dark`, ...kc()]);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(
      `Verdict: OK: ${ns}/dark is fine: 198.18.7.11 from pool ${poolName}, advertised over BGP by 1 node\n`,
    );
    expect(why.stdout).toContain(
      `[ok]      BGPAdvertised: 198.18.7.11 is advertised over BGP (BGPAdvertisement ${advName}) by node ${n1} → ${torA}\n`,
    );
    expect(why.stdout).toContain(
      `[info]    BGPSessionDown: not Established, so not advertising: node ${n2} → ${torA} is Active (connect ECONNREFUSED 198.18.0.1:179)\n`,
    );
    const whyJson = JSON.parse((await cli(['why', `${ns}/dark`, '-o', 'json', ...kc()])).stdout) as Diagnosis;
    expect(whyJson.bgp).toMatchObject({
      advertisements: [advName],
      externalTrafficPolicy: 'Cluster',
      advertisedBy: [{ node: n1, peer: torA, address: '198.18.0.1', advertisements: [advName] }],
      withoutLocalEndpoint: [],
      sessionsDown: [{ node: n2, peer: torA, state: 'Active' }],
    });
  });
});

describe('portico status on a cluster without Portico', () => {
  test("CRDs not installed: exit 1 and the chart's install command", async () => {
    const cp = await startControlPlane({ installCrds: false });
    try {
      const res = await cli(['status', '--kubeconfig', cp.kubeconfigPath]);
      expect(res.code).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(
        /^portico: Portico's CRDs are not installed in the cluster at https:\/\/127\.0\.0\.1:\d+ \(ipaddresspools\.portico\.dev not found\): install the chart first, e\.g\. helm install portico charts\/portico -n portico-system --create-namespace\n$/,
      );
    } finally {
      await cp.stop();
    }
  }, 120_000);
});

// Kubernetes mode on a private control plane that starts WITHOUT any CRDs:
//  1. no DNSZone CRD yet → the caches cannot sync → SERVFAIL and /readyz 503 (never an empty zone);
//  2. Portico CRDs installed, Gateway API still absent → static and Service records are served;
//  3. Gateway API CRDs installed later → discovered and route hostnames served;
//  4. the HTTPRoute CRD removed → its kind is dropped, everything else keeps serving.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type KubernetesProcess, runKubernetes } from '../../../dns/kubernetes.ts';
import { KubeClient } from '../../../lib/kube/client.ts';
import { installCrdFiles } from '../../envtest/crds.ts';
import { type ControlPlane, PORTICO_CRD_DIR, startControlPlane } from '../../envtest/index.ts';
import { skipUnless } from '../../support/require.ts';
import {
  addresses,
  createGateway,
  createHTTPRoute,
  createLBService,
  createZone,
  freshNamespace,
  query,
  setGatewayAddresses,
  setRouteParents,
  until,
} from './support.ts';

const WAIT = 30_000;
const zone = 'bare.k8s.home.arpa';

async function yamlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

describe.skipIf(skipUnless({ binaries: ['dig', 'kdig'] }))(
  'DNS Kubernetes mode without Gateway API CRDs',
  () => {
    let cp: ControlPlane;
    let client: KubeClient;
    let dns: KubernetesProcess;

    beforeAll(async () => {
      cp = await startControlPlane({ installCrds: false });
      client = new KubeClient(cp.kubeConfig());
      dns = await runKubernetes({
        kubeConfig: cp.kubeConfig(),
        port: 0,
        observe: '127.0.0.1:0',
        debounceMs: 20,
        rediscoverMs: 300,
        logLevel: 'silent',
      });
    });

    afterAll(async () => {
      await dns?.close();
      await client?.close();
      await cp?.stop();
    });

    test('not synced (no DNSZone CRD): SERVFAIL and /readyz 503', async () => {
      expect(dns.ready()).toBe(false);
      const r = await query('dig', dns.server.port, `x.${zone}`, 'A', false);
      expect(r.status).toBe('SERVFAIL');
      const res = await fetch(`http://127.0.0.1:${dns.observePort}/readyz`);
      expect(res.status).toBe(503);
    });

    test('Portico CRDs only: static and Service records are served', async () => {
      await installCrdFiles(cp.kubeConfig(), await yamlFiles(PORTICO_CRD_DIR));
      const ns = await freshNamespace(client, 'bare');
      await createZone(client, 'bare', {
        zone,
        records: [{ name: 'static', type: 'A', values: ['198.51.100.1'] }],
      });
      await createLBService(client, ns, 'svc', { 'portico.dev/hostname': `svc.${zone}` }, ['203.0.113.1']);
      await dns.sources.whenSynced(WAIT);
      expect(dns.ready()).toBe(true);
      for (const tool of ['dig', 'kdig'] as const) {
        for (const tcp of [false, true]) {
          const s = await until(
            () => query(tool, dns.server.port, `svc.${zone}`, 'A', tcp),
            (x) => x.answer.length > 0,
            WAIT,
            'Service record',
          );
          expect(addresses(s)).toEqual(['203.0.113.1']);
          expect(addresses(await query(tool, dns.server.port, `static.${zone}`, 'A', tcp))).toEqual([
            '198.51.100.1',
          ]);
        }
      }
      expect(dns.sources.watchedKinds()).toEqual([]);
    });

    test('Gateway API CRDs installed later are discovered; routes are then served', async () => {
      await installCrdFiles(cp.kubeConfig(), await yamlFiles(cp.assets.gatewayApiCrdDir));
      await until(
        () => dns.sources.watchedKinds(),
        (k) => ['Gateway', 'GRPCRoute', 'HTTPRoute', 'ListenerSet', 'TLSRoute'].every((x) => k.includes(x)),
        WAIT,
        'Gateway API kinds watched',
      );
      const ns = await freshNamespace(client, 'late');
      await createGateway(client, ns, 'gw', [{ name: 'http', hostname: `*.${zone}` }]);
      await setGatewayAddresses(client, ns, 'gw', [{ value: '192.0.2.50' }]);
      await createHTTPRoute(client, ns, 'r', [{ name: 'gw' }], [`late.${zone}`]);
      await setRouteParents(client, ns, 'r', [{ ref: { name: 'gw', namespace: ns }, accepted: true }]);
      const r = await until(
        () => query('kdig', dns.server.port, `late.${zone}`, 'A', false),
        (x) => x.answer.length > 0,
        WAIT,
        'route served after CRDs appeared',
      );
      expect(addresses(r)).toEqual(['192.0.2.50']);
    });

    test('a Gateway API CRD removed: its kind is dropped, the rest keeps serving', async () => {
      await client.request({
        method: 'DELETE',
        path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/httproutes.gateway.networking.k8s.io',
      });
      await until(
        () => dns.sources.watchedKinds(),
        (k) => !k.includes('HTTPRoute') && k.includes('Gateway'),
        WAIT,
        'HTTPRoute no longer watched',
      );
      const gone = await until(
        () => query('dig', dns.server.port, `late.${zone}`, 'A', false),
        (x) => x.status === 'NXDOMAIN',
        WAIT,
        'route name withdrawn',
      );
      expect(gone.authority.some((f) => f[3] === 'SOA')).toBe(true);
      expect(addresses(await query('dig', dns.server.port, `svc.${zone}`, 'A', true))).toEqual([
        '203.0.113.1',
      ]);
      expect(addresses(await query('kdig', dns.server.port, `static.${zone}`, 'A', false))).toEqual([
        '198.51.100.1',
      ]);
      expect(dns.ready()).toBe(true);
    });
  },
);

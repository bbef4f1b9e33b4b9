// Kubernetes mode end to end on the shared control plane: Gateway + HTTPRoute (with the status a
// Gateway implementation would write) + annotated LoadBalancer Service + DNSZone → answers over
// real UDP and TCP sockets to dig, kdig and Node's resolver; DNSZone status; Events.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type KubernetesProcess, runKubernetes } from '../../../dns/kubernetes.ts';
import { KubeClient } from '../../../lib/kube/client.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { skipUnless } from '../../support/require.ts';
import {
  addresses,
  createAcceptedListenerSet,
  createGateway,
  createHTTPRoute,
  createLBService,
  createZone,
  deleteObject,
  freshNamespace,
  getZone,
  nodeResolver,
  patchRouteSpec,
  query,
  setGatewayAddresses,
  setRouteParents,
  suffix,
  until,
  zoneRes,
} from './support.ts';

const WAIT = 20_000;

describe.skipIf(skipUnless({ binaries: ['dig', 'kdig'] }))(
  'DNS Kubernetes mode (shared control plane)',
  () => {
    let client: KubeClient;
    let dns: KubernetesProcess;
    let ns: string;
    let zone: string;
    let zoneName: string;

    beforeAll(async () => {
      client = new KubeClient(sharedKubeConfig());
      ns = await freshNamespace(client, 'dns');
      const id = suffix();
      zone = `it-${id}.k8s.home.arpa`;
      zoneName = `it-${id}`;
      await createZone(client, zoneName, {
        zone,
        ttl: 60,
        soa: { minimum: 5 },
        records: [{ name: 'static', type: 'A', values: ['198.51.100.7'] }],
      });
      await createGateway(client, ns, 'gw-a', [{ name: 'http', hostname: `*.${zone}` }]);
      await createGateway(client, ns, 'gw-b', [{ name: 'web', hostname: `*.${zone}` }]);
      await setGatewayAddresses(client, ns, 'gw-a', [{ value: '192.0.2.10' }, { value: '2001:db8::10' }]);
      await setGatewayAddresses(client, ns, 'gw-b', [{ value: '192.0.2.20' }]);
      await createHTTPRoute(client, ns, 'app', [{ name: 'gw-a' }], [`app.${zone}`]);
      await setRouteParents(client, ns, 'app', [{ ref: { name: 'gw-a', namespace: ns }, accepted: true }]);
      await createLBService(client, ns, 'web', { 'portico.dev/hostname': `web.${zone}, www.${zone}` }, [
        '203.0.113.5',
      ]);
      dns = await runKubernetes({
        kubeConfig: sharedKubeConfig(),
        port: 0,
        observe: '127.0.0.1:0',
        debounceMs: 20,
        logLevel: 'warn',
      });
      await dns.sources.whenSynced(WAIT);
    });

    afterAll(async () => {
      await dns?.close();
      if (client) {
        await deleteObject(client, zoneRes, undefined, zoneName);
        await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }).catch(() => {});
        await client.close();
      }
    });

    test('ready only once synced; /readyz says so', async () => {
      expect(dns.ready()).toBe(true);
      const res = await fetch(`http://127.0.0.1:${dns.observePort}/readyz`);
      expect(res.status).toBe(200);
    });

    test('route, Service and static names answer over UDP and TCP with dig and kdig', async () => {
      const port = dns.server.port;
      for (const tool of ['dig', 'kdig'] as const) {
        for (const tcp of [false, true]) {
          const app = await until(
            () => query(tool, port, `app.${zone}`, 'A', tcp),
            (r) => r.status === 'NOERROR' && r.answer.length > 0,
            WAIT,
            `${tool} app A`,
          );
          expect(app.flags.split(' ')).toContain('aa');
          expect(addresses(app)).toEqual(['192.0.2.10']);
          expect(app.answer[0]![1]).toBe('60');
          const app6 = await query(tool, port, `app.${zone}`, 'AAAA', tcp);
          expect(addresses(app6, 'AAAA')).toEqual(['2001:db8::10']);
          const web = await until(
            () => query(tool, port, `www.${zone}`, 'A', tcp),
            (r) => r.answer.length > 0,
            WAIT,
            `${tool} www A`,
          );
          expect(addresses(web)).toEqual(['203.0.113.5']);
          expect(addresses(await query(tool, port, `web.${zone}`, 'A', tcp))).toEqual(['203.0.113.5']);
          expect(addresses(await query(tool, port, `static.${zone}`, 'A', tcp))).toEqual(['198.51.100.7']);
        }
      }
    });

    test("Node's resolver gets the same answers", async () => {
      const r = nodeResolver(dns.server.port);
      expect(await r.resolve4(`app.${zone}`)).toEqual(['192.0.2.10']);
      expect(await r.resolve6(`app.${zone}`)).toEqual(['2001:db8::10']);
      expect(await r.resolve4(`web.${zone}`)).toEqual(['203.0.113.5']);
      await expect(r.resolve4(`nothing.${zone}`)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    });

    test('a route that is not Accepted publishes nothing: NXDOMAIN with the SOA', async () => {
      await createHTTPRoute(client, ns, 'rejected', [{ name: 'gw-a' }], [`rejected.${zone}`]);
      await setRouteParents(client, ns, 'rejected', [
        { ref: { name: 'gw-a', namespace: ns }, accepted: false },
      ]);
      // A route created after it, Accepted, shows the server has seen both changes.
      await createHTTPRoute(client, ns, 'later', [{ name: 'gw-a' }], [`later.${zone}`]);
      await setRouteParents(client, ns, 'later', [{ ref: { name: 'gw-a', namespace: ns }, accepted: true }]);
      await until(
        () => query('dig', dns.server.port, `later.${zone}`, 'A', false),
        (r) => r.answer.length > 0,
        WAIT,
        'later.<zone> published',
      );
      for (const tool of ['dig', 'kdig'] as const) {
        const r = await query(tool, dns.server.port, `rejected.${zone}`, 'A', false);
        expect(r.status).toBe('NXDOMAIN');
        expect(r.answer).toEqual([]);
        const soa = r.authority.find((f) => f[3] === 'SOA');
        expect(soa?.[0]).toBe(`${zone}.`);
        expect(soa?.[1]).toBe('5'); // min(zone TTL 60, SOA minimum 5), RFC 2308
      }
      // Accepted now → published.
      await setRouteParents(client, ns, 'rejected', [
        { ref: { name: 'gw-a', namespace: ns }, accepted: true },
      ]);
      const r = await until(
        () => query('kdig', dns.server.port, `rejected.${zone}`, 'A', true),
        (x) => x.status === 'NOERROR' && x.answer.length > 0,
        WAIT,
        'rejected.<zone> published once Accepted',
      );
      expect(addresses(r)).toEqual(['192.0.2.10']);
    });

    test('moving a route to another Gateway changes the answer', async () => {
      await createHTTPRoute(client, ns, 'mover', [{ name: 'gw-a' }], [`mover.${zone}`]);
      await setRouteParents(client, ns, 'mover', [{ ref: { name: 'gw-a', namespace: ns }, accepted: true }]);
      await until(
        () => query('dig', dns.server.port, `mover.${zone}`, 'A', false),
        (r) => addresses(r).join() === '192.0.2.10',
        WAIT,
        'mover on gw-a',
      );
      // The user repoints the route; the implementation then reports the new parent.
      await patchRouteSpec(client, ns, 'mover', { parentRefs: [{ name: 'gw-b' }] });
      await setRouteParents(client, ns, 'mover', [{ ref: { name: 'gw-b', namespace: ns }, accepted: true }]);
      const r = await until(
        () => query('dig', dns.server.port, `mover.${zone}`, 'A', true),
        (x) => addresses(x).join() === '192.0.2.20',
        WAIT,
        'mover on gw-b',
      );
      expect(addresses(r)).toEqual(['192.0.2.20']);
      expect(await nodeResolver(dns.server.port).resolve4(`mover.${zone}`)).toEqual(['192.0.2.20']);
    });

    test('a route attached to a ListenerSet of a Gateway resolves to that Gateway', async () => {
      await createAcceptedListenerSet(client, ns, 'team-ls', { name: 'gw-b', namespace: ns }, [
        { name: 'team', hostname: `*.ls.${zone}` },
      ]);
      await createHTTPRoute(
        client,
        ns,
        'via-ls',
        [{ kind: 'ListenerSet', name: 'team-ls' }],
        [`svc.ls.${zone}`],
      );
      await setRouteParents(client, ns, 'via-ls', [
        { ref: { kind: 'ListenerSet', name: 'team-ls', namespace: ns }, accepted: true },
      ]);
      const r = await until(
        () => query('kdig', dns.server.port, `svc.ls.${zone}`, 'A', true),
        (x) => x.answer.length > 0,
        WAIT,
        'ListenerSet route served',
      );
      expect(addresses(r)).toEqual(['192.0.2.20']);
    });

    test('DNSZone status: record count, serial, Ready; a conflict is served and named', async () => {
      const st = await until(
        () => getZone(client, zoneName),
        (z) => z.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
        WAIT,
        'DNSZone Ready',
      );
      const snap = dns.sources.last()?.update.set.list.find((z) => z.name === zone);
      expect(snap).toBeDefined();
      expect(st.status?.records).toBeGreaterThan(0);
      expect(st.status?.serial).toBeGreaterThan(0);
      expect(st.status?.observedGeneration).toBe(st.metadata.generation);

      // The SOA the server serves carries the serial the status reports (once both settle).
      await until(
        async () => {
          const z = await getZone(client, zoneName);
          const soa = await query('dig', dns.server.port, zone, 'SOA', false);
          return { status: z.status?.serial, served: Number(soa.answer[0]?.[6]) };
        },
        (v) => v.status === v.served,
        WAIT,
        'status serial = served SOA serial',
      );

      // A Service claims app.<zone> with another address: both are served, Conflict names both.
      await createLBService(client, ns, 'clash', { 'portico.dev/hostname': `app.${zone}` }, ['203.0.113.99']);
      const r = await until(
        () => query('dig', dns.server.port, `app.${zone}`, 'A', false),
        (x) => addresses(x).length === 2,
        WAIT,
        'both addresses served',
      );
      expect(addresses(r)).toEqual(['192.0.2.10', '203.0.113.99']);
      const z = await until(
        () => getZone(client, zoneName),
        (x) => x.status?.conditions?.some((c) => c.type === 'Conflict' && c.status === 'True') === true,
        WAIT,
        'Conflict=True',
      );
      const conflict = z.status?.conditions?.find((c) => c.type === 'Conflict');
      expect(conflict?.reason).toBe('ConflictingSources');
      expect(conflict?.message).toContain(`Service ${ns}/clash`);
      expect(conflict?.message).toContain(`HTTPRoute ${ns}/app via Gateway ${ns}/gw-a`);

      await deleteObject(
        client,
        { group: '', version: 'v1', plural: 'services', namespaced: true },
        ns,
        'clash',
      );
      await until(
        () => getZone(client, zoneName),
        (x) => x.status?.conditions?.some((c) => c.type === 'Conflict' && c.status === 'False') === true,
        WAIT,
        'Conflict=False after the clash is gone',
      );
    });

    test('PTR for a VIP once a reverse zone is configured', async () => {
      const rev = `rev-${suffix()}`;
      await createZone(client, rev, { zone: '5.113.0.203.in-addr.arpa' });
      try {
        for (const tool of ['dig', 'kdig'] as const) {
          const r = await until(
            () => query(tool, dns.server.port, '5.113.0.203.in-addr.arpa', 'PTR', false),
            (x) => x.answer.length >= 2,
            WAIT,
            `${tool} PTR`,
          );
          expect(r.answer.map((f) => f[4]).sort()).toEqual([`web.${zone}.`, `www.${zone}.`]);
        }
        expect((await nodeResolver(dns.server.port).reverse('203.0.113.5')).sort()).toEqual([
          `web.${zone}`,
          `www.${zone}`,
        ]);
      } finally {
        await deleteObject(client, zoneRes, undefined, rev);
      }
    });

    test('an ExternalDNS annotation is honoured and a Warning Event names the native key', async () => {
      await createLBService(
        client,
        ns,
        'legacy',
        { 'external-dns.alpha.kubernetes.io/hostname': `legacy.${zone}.` },
        ['203.0.113.6'],
      );
      const r = await until(
        () => query('kdig', dns.server.port, `legacy.${zone}`, 'A', false),
        (x) => x.answer.length > 0,
        WAIT,
        'legacy published',
      );
      expect(addresses(r)).toEqual(['203.0.113.6']);
      const ev = await until(
        () =>
          client.request<{
            items: Array<{ reason?: string; note?: string; type?: string; regarding?: { name?: string } }>;
          }>({
            path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
          }),
        (l) => l.items.some((e) => e.regarding?.name === 'legacy' && e.reason === 'DeprecatedAnnotation'),
        WAIT,
        'DeprecatedAnnotation Event',
      );
      const e = ev.items.find((x) => x.regarding?.name === 'legacy')!;
      expect(e.type).toBe('Warning');
      expect(e.note).toContain('portico.dev/hostname');
    });
  },
);

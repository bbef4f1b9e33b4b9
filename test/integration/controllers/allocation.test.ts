// The IPAM controller in-process against the shared real kube-apiserver: allocation, every failure
// reason (condition AND Event), sharing, requested IPs, pool growth, pool deletion (OutOfPool),
// releases, foreign classes, garbage input, pool status.
import { afterEach, describe, expect, test } from 'vitest';
import type { RunningController } from '../../../controllers/index.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';
import { condition, ips, sleep, TestEnv, until } from './support.ts';

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

async function setup(prefix: string): Promise<TestEnv> {
  env = await TestEnv.create(sharedKubeConfig(), prefix);
  return env;
}

function counter(ctl: RunningController, name: string, labels: Record<string, string>): Promise<number> {
  return ctl.metrics.registry
    .getSingleMetric(name)
    ?.get()
    .then((m) => {
      let sum = 0;
      for (const v of m.values) {
        if (Object.entries(labels).every(([k, want]) => v.labels[k] === want)) sum += v.value;
      }
      return sum;
    }) as Promise<number>;
}

describe('IPAM controller: allocation', () => {
  test('pools + Services → lowest free IPs with ipMode VIP, condition, annotation, Event; pool status counts; no write when nothing changed', async () => {
    const e = await setup('alloc');
    const pool = await e.createPool('basic', { addresses: ['198.51.100.16/29'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    for (const n of ['a', 'b', 'c']) await e.createService(n);
    expect(await e.waitIPs('a')).toEqual(['198.51.100.16']);
    expect(await e.waitIPs('b')).toEqual(['198.51.100.17']);
    expect(await e.waitIPs('c')).toEqual(['198.51.100.18']);
    // The allocated-from-pool annotation is applied right after the status.
    const a = await e.waitService(
      'a',
      (x) => x.metadata?.annotations?.['portico.dev/allocated-from-pool'] !== undefined,
      'annotation',
    );
    expect(a?.status?.loadBalancer?.ingress).toEqual([{ ip: '198.51.100.16', ipMode: 'VIP' }]);
    expect(condition(a)).toMatchObject({ status: 'True', reason: 'Allocated' });
    expect(condition(a)?.message).toContain(pool);
    expect(a?.metadata?.annotations?.['portico.dev/allocated-from-pool']).toBe(pool);
    await e.waitEvent('a', 'IPAllocated', '198.51.100.16');

    const st = await until(
      async () => {
        const p = await e.getPool(pool);
        return p.status?.assignedIPv4 === '3' ? p.status : undefined;
      },
      15_000,
      'pool status assigned=3',
    );
    expect(st.availableIPv4).toBe('5');
    expect(st.assignedIPv6).toBeUndefined();
    expect(st.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(st.conditions?.find((c) => c.type === 'Invalid')).toMatchObject({ status: 'False' });
    expect(st.conditions?.find((c) => c.type === 'Overlapping')).toMatchObject({ status: 'False' });

    // A change that does not concern allocation is reconciled but writes nothing (no status churn).
    const writes = await counter(ctl, 'portico_controller_writes_total', {});
    const reconciles = await counter(ctl, 'controller_reconcile_total', { controller: 'service' });
    const rv = a?.metadata?.resourceVersion;
    await e.patchService('a', { metadata: { labels: { touched: 'yes' } } });
    await until(
      async () => (await counter(ctl, 'controller_reconcile_total', { controller: 'service' })) > reconciles,
      10_000,
      'a reconcile after the label change',
    );
    await sleep(300);
    expect(await counter(ctl, 'portico_controller_writes_total', {})).toBe(writes);
    const after = await e.getService('a');
    expect(after?.status).toEqual(a?.status);
    expect(after?.metadata?.resourceVersion).not.toBe(rv); // the label patch itself
  });

  test('each failure reason shows up in the condition and in an Event', async () => {
    const e = await setup('fail');
    const tiny = await e.createPool('tiny', { addresses: ['203.0.113.40/32'] });
    const ctl = await e.start();
    await ctl.whenLeading();

    await e.createService('holder');
    expect(await e.waitIPs('holder')).toEqual(['203.0.113.40']);

    await e.createService('exhausted');
    const ex = await e.waitReason('exhausted', 'PoolExhausted');
    expect(ips(ex)).toEqual([]);
    await e.waitEvent('exhausted', 'AllocationFailed', 'PoolExhausted');

    await e.createService('in-use', { annotations: { 'portico.dev/load-balancer-ips': '203.0.113.40' } });
    const iu = await e.waitReason('in-use', 'RequestedIPInUse');
    expect(condition(iu)?.message).toContain(`${e.ns}/holder`);
    await e.waitEvent('in-use', 'AllocationFailed', 'RequestedIPInUse');

    await e.createService('not-in-pool', { annotations: { 'portico.dev/load-balancer-ips': '192.0.2.250' } });
    await e.waitReason('not-in-pool', 'RequestedIPNotInPool');
    await e.waitEvent('not-in-pool', 'AllocationFailed', 'RequestedIPNotInPool');

    await e.createService('no-pool', { annotations: { 'portico.dev/address-pool': `missing-${e.id}` } });
    const np = await e.waitReason('no-pool', 'NoMatchingPool');
    expect(condition(np)?.message).toContain(`missing-${e.id}`);
    await e.waitEvent('no-pool', 'AllocationFailed', 'NoMatchingPool');

    await e.createService('garbage', { annotations: { 'portico.dev/load-balancer-ips': 'not-an-ip' } });
    await e.waitReason('garbage', 'InvalidAnnotation');
    await e.waitEvent('garbage', 'AllocationFailed', 'InvalidAnnotation');

    // OutOfPool: the pool goes away, the holder keeps its IP and is told why.
    await e.deletePool(tiny);
    const oop = await e.waitReason('holder', 'OutOfPool');
    expect(ips(oop)).toEqual(['203.0.113.40']);
    await e.waitEvent('holder', 'OutOfPool', '203.0.113.40');
    // DualStackUnavailable needs a dual-stack apiserver: see dualstack.test.ts.
  });

  test('a namespace no pool admits gets NoMatchingPool', async () => {
    const e = await setup('nomatch');
    // A pool exists, but only for another namespace.
    await e.createPool('elsewhere', {
      addresses: ['203.0.113.48/30'],
      allocation: { namespaces: ['not-this-one'] },
    });
    const ctl = await e.start();
    await ctl.whenLeading();
    await e.createService('svc');
    await e.waitReason('svc', 'NoMatchingPool');
    await e.waitEvent('svc', 'AllocationFailed', 'NoMatchingPool');
  });

  test('requested IPs: native annotation, MetalLB alias (DeprecatedAnnotation), spec.loadBalancerIP; change moves and releases', async () => {
    const e = await setup('req');
    await e.createPool('req', { addresses: ['198.51.100.32/28'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    await e.createService('native', { annotations: { 'portico.dev/load-balancer-ips': '198.51.100.40' } });
    await e.createService('metallb', {
      annotations: { 'metallb.universe.tf/loadBalancerIPs': '198.51.100.41' },
    });
    await e.createService('field', { loadBalancerIP: '198.51.100.42' });
    expect(await e.waitIPs('native')).toEqual(['198.51.100.40']);
    expect(await e.waitIPs('metallb')).toEqual(['198.51.100.41']);
    expect(await e.waitIPs('field')).toEqual(['198.51.100.42']);
    await e.waitEvent('metallb', 'DeprecatedAnnotation', 'portico.dev/load-balancer-ips');
    expect((await e.events('native')).filter((x) => x.reason === 'DeprecatedAnnotation')).toEqual([]);

    // Changing the requested IP moves the Service and frees the old address for others.
    await e.patchService('native', {
      metadata: { annotations: { 'portico.dev/load-balancer-ips': '198.51.100.45' } },
    });
    await e.waitService('native', (s) => ips(s)[0] === '198.51.100.45', 'moved to .45');
    await e.waitEvent('native', 'IPReleased', '198.51.100.40');
    await e.createService('takes-old', { annotations: { 'portico.dev/load-balancer-ips': '198.51.100.40' } });
    expect(await e.waitIPs('takes-old')).toEqual(['198.51.100.40']);
  });

  test('sharing: same key and disjoint ports share one IP; clashing ports, other keys or other backends are refused', async () => {
    const e = await setup('share');
    await e.createPool('share', { addresses: ['198.51.100.48/29'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    const key = { 'portico.dev/allow-shared-ip': 'web' };
    await e.createService('http', { annotations: key, ports: [{ port: 80 }] });
    const [ip] = await e.waitIPs('http');
    await e.createService('https', { annotations: key, ports: [{ port: 443 }] });
    expect(await e.waitIPs('https')).toEqual([ip]);
    // MetalLB's key means the same thing.
    await e.createService('dns', {
      annotations: { 'metallb.io/allow-shared-ip': 'web' },
      ports: [{ port: 53, protocol: 'UDP' }],
    });
    expect(await e.waitIPs('dns')).toEqual([ip]);
    await e.waitEvent('dns', 'DeprecatedAnnotation', 'portico.dev/allow-shared-ip');

    const want = { 'portico.dev/load-balancer-ips': ip as string };
    await e.createService('clash', { annotations: { ...key, ...want }, ports: [{ port: 80 }] });
    const c1 = await e.waitReason('clash', 'RequestedIPInUse');
    expect(condition(c1)?.message).toContain('port');
    await e.createService('otherkey', {
      annotations: { 'portico.dev/allow-shared-ip': 'other', ...want },
      ports: [{ port: 8080 }],
    });
    await e.waitReason('otherkey', 'RequestedIPInUse');
    await e.createService('nokey', { annotations: want, ports: [{ port: 8081 }] });
    await e.waitReason('nokey', 'RequestedIPInUse');
    await e.createService('local', {
      annotations: { ...key, ...want },
      ports: [{ port: 8082 }],
      externalTrafficPolicy: 'Local',
    });
    const c4 = await e.waitReason('local', 'RequestedIPInUse');
    expect(condition(c4)?.message).toContain('backends');
    await e.waitEvent('local', 'AllocationFailed', 'RequestedIPInUse');
    // Same key, clashing port, no requested IP: it simply gets its own address.
    await e.createService('http2', { annotations: key, ports: [{ port: 80 }] });
    const [own] = await e.waitIPs('http2');
    expect(own).not.toBe(ip);
  });

  test('pool exhausted, then grown → the pending Service gets an IP promptly; a freed IP goes to a pending Service', async () => {
    const e = await setup('grow');
    const pool = await e.createPool('grow', { addresses: ['203.0.113.60/32'] });
    // Resync off: only the pool change and the release may wake the pending Services.
    const ctl = await e.start({ resyncPeriodMs: 0 });
    await ctl.whenLeading();
    await e.createService('first');
    await e.waitIPs('first');
    await e.createService('second');
    await e.waitReason('second', 'PoolExhausted');
    const t0 = Date.now();
    await e.patchPool(pool, { addresses: ['203.0.113.60/31'] });
    expect(await e.waitIPs('second', 1, 5_000)).toEqual(['203.0.113.61']);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await until(
      async () => (await e.getPool(pool)).status?.availableIPv4 === '0',
      10_000,
      'pool status 0 free',
    );

    await e.createService('third');
    await e.waitReason('third', 'PoolExhausted');
    await e.deleteService('first');
    expect(await e.waitIPs('third', 1, 5_000)).toEqual(['203.0.113.60']);
    await e.waitEvent('first', 'IPReleased', '203.0.113.60');
  });

  test('pool deleted → IPs kept with OutOfPool, never handed to another Service; a pool covering them again heals the condition', async () => {
    const e = await setup('gone');
    const a = await e.createPool('a', { addresses: ['203.0.113.64/31'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    await e.createService('keeper');
    expect(await e.waitIPs('keeper')).toEqual(['203.0.113.64']);
    await e.deletePool(a);
    const s = await e.waitReason('keeper', 'OutOfPool');
    expect(ips(s)).toEqual(['203.0.113.64']);
    expect(condition(s)?.message).toContain('203.0.113.64');
    // A new pool over the same range must skip the held address.
    const b = await e.createPool('b', { addresses: ['203.0.113.64/31'] });
    await e.createService('newcomer');
    expect(await e.waitIPs('newcomer')).toEqual(['203.0.113.65']);
    // ...and the keeper, whose IP now lies in pool b again, is healthy again without moving.
    const healed = await e.waitService(
      'keeper',
      (x) =>
        condition(x)?.status === 'True' && x.metadata?.annotations?.['portico.dev/allocated-from-pool'] === b,
      'IPAllocated=True again, recorded against pool b',
    );
    expect(ips(healed)).toEqual(['203.0.113.64']);
    expect(healed.metadata?.annotations?.['portico.dev/allocated-from-pool']).toBe(b);
  });

  test('release on delete, on type change away from LoadBalancer (owned status and annotation cleared), pending Services retried', async () => {
    const e = await setup('release');
    await e.createPool('rel', { addresses: ['203.0.113.72/31'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    await e.createService('one');
    await e.createService('two');
    await e.waitIPs('one');
    await e.waitIPs('two');
    await e.createService('waiting');
    await e.waitReason('waiting', 'PoolExhausted');

    await e.patchService('two', { spec: { type: 'ClusterIP', loadBalancerClass: null } });
    await e.waitService(
      'two',
      (s) =>
        ips(s).length === 0 &&
        condition(s) === undefined &&
        !('portico.dev/allocated-from-pool' in (s.metadata?.annotations ?? {})),
      'status and annotation cleared',
    );
    await e.waitEvent('two', 'IPReleased');
    expect(await e.waitIPs('waiting')).toEqual(['203.0.113.73']);
  });

  test('a Service of another loadBalancerClass is never touched', async () => {
    const e = await setup('foreign');
    await e.createPool('foreign', { addresses: ['203.0.113.80/30'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    await e.createService('theirs', { loadBalancerClass: 'other.example.com/lb' });
    await e.createService('unclassed', { loadBalancerClass: null }); // handleUnclassed is off in this test
    await e.createService('ours');
    await e.waitIPs('ours');
    // The controller has processed events after those Services were created: they would be done too.
    await sleep(500);
    for (const n of ['theirs', 'unclassed']) {
      const s = (await e.getService(n)) as { status?: unknown; metadata?: Record<string, unknown> };
      expect(s.status).toEqual({ loadBalancer: {} });
      expect((s.metadata?.annotations as Record<string, string> | undefined) ?? {}).toEqual({});
      const managers = ((s.metadata?.managedFields as Array<{ manager?: string }>) ?? []).map(
        (m) => m.manager,
      );
      expect(managers.filter((m) => m?.startsWith('portico-controller'))).toEqual([]);
      expect(await e.events(n)).toEqual([]);
    }
  });

  test('two controllers of different classes never clear each other: status stays, no write churn', async () => {
    const e = await setup('twocls');
    await e.createPool('twocls', { addresses: ['203.0.113.88/29'] });
    const otherCls = `b-${e.cls}`;
    const a = await e.start({ leaseName: 'ctl-a' });
    const b = await e.start({ lbClass: otherCls, leaseName: 'ctl-b' });
    await Promise.all([a.whenLeading(), b.whenLeading()]);
    await e.createService('a-svc');
    await e.createService('b-svc', { loadBalancerClass: otherCls });
    const ipA = await e.waitIPs('a-svc');
    const ipB = await e.waitIPs('b-svc');
    // Each saw the other's Service carrying a Portico condition and cleaned up "its" fields: with a
    // shared field manager that removed the other's status, which then wrote it back, forever.
    await sleep(1500);
    const before = await e.getService('b-svc');
    await sleep(2000);
    const after = await e.getService('b-svc');
    expect(ips(after)).toEqual(ipB);
    expect(condition(after)).toMatchObject({ status: 'True', reason: 'Allocated' });
    expect(after?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
    expect(ips(await e.getService('a-svc'))).toEqual(ipA);
    const managers = (
      (after?.metadata as { managedFields?: Array<{ manager?: string }> } | undefined)?.managedFields ?? []
    ).map((m) => m.manager);
    expect(managers).toContain(`portico-controller:${otherCls}`);
  });

  test('garbage annotations → InvalidAnnotation, no crash; a Service holding an IP keeps it', async () => {
    const e = await setup('garbage');
    await e.createPool('garbage', { addresses: ['198.51.100.64/28'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    const bad: Array<Record<string, string>> = [
      { 'portico.dev/load-balancer-ips': '198.51.100.65,,198.51.100.66' },
      { 'portico.dev/load-balancer-ips': '198.51.100.65,198.51.100.66' },
      { 'portico.dev/load-balancer-ips': '999.1.1.1' },
      { 'portico.dev/load-balancer-ips': '198.51.100.65/32' },
      { 'portico.dev/load-balancer-ips': '\u0000\u00ff💥' },
      { 'metallb.io/loadBalancerIPs': 'x'.repeat(5000) },
      { 'portico.dev/address-pool': 'Not_A_Name!' },
    ];
    for (const [i, ann] of bad.entries()) await e.createService(`bad-${i}`, { annotations: ann });
    for (const i of bad.keys()) {
      const s = await e.waitReason(`bad-${i}`, 'InvalidAnnotation');
      expect(ips(s)).toEqual([]);
    }
    await e.createService('holder');
    const [ip] = await e.waitIPs('holder');
    await e.patchService('holder', {
      metadata: { annotations: { 'portico.dev/load-balancer-ips': 'garbage' } },
    });
    const s = await e.waitReason('holder', 'InvalidAnnotation');
    expect(ips(s)).toEqual([ip]);
    // Still alive and allocating.
    expect(ctl.isLeader()).toBe(true);
    await e.createService('after');
    expect((await e.waitIPs('after')).length).toBe(1);
  });

  test('malformed pools are rejected by the CRD or reported Invalid; they never disturb held IPs', async () => {
    const e = await setup('badpool');
    const good = await e.createPool('good', { addresses: ['198.51.100.80/30'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    await e.createService('held');
    const [ip] = await e.waitIPs('held');
    const specs: unknown[] = [
      { addresses: [] },
      { addresses: ['not-a-cidr'] },
      { addresses: ['198.51.100.0/33'] },
      { addresses: ['198.51.100.90-198.51.100.85'] },
      { addresses: ['198.51.100.1/24'] },
      { addresses: ['198.51.100.1-2001:db8::1'] },
      { addresses: ['198.51.100.88/30'], allocation: { priority: -1 } },
      {
        addresses: ['198.51.100.88/30'],
        allocation: { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } },
      },
      {
        addresses: ['198.51.100.88/30'],
        allocation: {
          serviceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
        },
      },
      { addresses: 'not-a-list' },
    ];
    let rejected = 0;
    const accepted: string[] = [];
    for (const [i, spec] of specs.entries()) {
      const name = e.poolName(`bad-${i}`);
      try {
        await e.client.request({
          method: 'POST',
          path: '/apis/portico.dev/v1alpha1/ipaddresspools',
          body: { apiVersion: 'portico.dev/v1alpha1', kind: 'IPAddressPool', metadata: { name }, spec },
        });
        accepted.push(name);
        e.onCleanup(() => e.deletePool(name));
      } catch (err) {
        expect((err as { statusCode?: number }).statusCode).toBe(422);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
    for (const name of accepted) {
      const st = await until(
        async () => {
          const p = await e.getPool(name);
          return p.status?.conditions?.find((c) => c.type === 'Invalid') ? p.status : undefined;
        },
        15_000,
        `${name} status`,
      );
      expect(st.conditions?.find((c) => c.type === 'Invalid')).toMatchObject({ status: 'True' });
      expect(st.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    }
    // The held IP did not move, the good pool still works.
    expect(ips(await e.getService('held'))).toEqual([ip]);
    await e.createService('more');
    expect((await e.waitIPs('more')).length).toBe(1);
    expect((await e.getPool(good)).status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  test('pool status: overlapping pools name each other; a /64 IPv6 pool reports exact string counts', async () => {
    const e = await setup('poolstat');
    const p1 = await e.createPool('one', { addresses: ['198.51.100.96/29', '2001:db8:0:77::/64'] });
    const p2 = await e.createPool('two', { addresses: ['198.51.100.100/30'] });
    const ctl = await e.start();
    await ctl.whenLeading();
    const st1 = await until(
      async () => {
        const p = await e.getPool(p1);
        return p.status?.conditions?.find((c) => c.type === 'Overlapping') ? p.status : undefined;
      },
      15_000,
      'pool one status',
    );
    expect(st1.availableIPv6).toBe('18446744073709551616');
    expect(st1.assignedIPv6).toBe('0');
    expect(st1.availableIPv4).toBe('8');
    const ov = st1.conditions?.find((c) => c.type === 'Overlapping');
    expect(ov?.status).toBe('True');
    expect(ov?.message).toContain(p2);
    const st2 = await until(async () => (await e.getPool(p2)).status, 15_000, 'pool two status');
    expect(st2.conditions?.find((c) => c.type === 'Overlapping')?.message).toContain(p1);
  });

  test('namespace labels feed namespaceSelector: labelling the namespace lets a pending Service allocate', async () => {
    const e = await setup('nslabel');
    await e.createPool('gold', {
      addresses: ['203.0.113.88/30'],
      allocation: { namespaceSelector: { matchLabels: { [`tier-${e.id}`]: 'gold' } } },
    });
    const ctl = await e.start({ resyncPeriodMs: 0 });
    await ctl.whenLeading();
    await e.createService('svc');
    await e.waitReason('svc', 'NoMatchingPool');
    await e.client.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${e.ns}`,
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { [`tier-${e.id}`]: 'gold' } } },
    });
    expect(await e.waitIPs('svc', 1, 5_000)).toEqual(['203.0.113.88']);
  });

  test('--reclaim-out-of-pool: a Service whose pool is gone gets a new address from a pool that serves it', async () => {
    const e = await setup('reclaim');
    const old = await e.createPool('old', { addresses: ['203.0.113.120/31'] });
    const ctl = await e.start({ reclaimOutOfPool: true });
    await ctl.whenLeading();
    await e.createService('svc');
    expect(await e.waitIPs('svc')).toEqual(['203.0.113.120']);
    await e.createPool('new', { addresses: ['203.0.113.124/31'] });
    await e.deletePool(old);
    const s = await e.waitService(
      'svc',
      (x) => ips(x)[0] === '203.0.113.124' && condition(x)?.status === 'True',
      'moved',
    );
    expect(ips(s)).toEqual(['203.0.113.124']);
    await e.waitEvent('svc', 'IPReleased', '203.0.113.120');
  });
});

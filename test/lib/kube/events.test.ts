import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { EventRecorder } from '../../../lib/kube/events.ts';
import { api, Capture, fakeClient, svc } from './support.ts';

const EVENTS = '/apis/events.k8s.io/v1/namespaces/default/events';
const pool = {
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'IPAddressPool',
  metadata: { name: 'pool-a', uid: 'p1' },
};

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

function recorder(extra = {}) {
  let t = Date.UTC(2026, 0, 1);
  const r = new EventRecorder(fakeClient(), {
    reportingController: 'portico.dev/controller',
    reportingInstance: 'ctl-0',
    now: () => t,
    ...extra,
  });
  return { r, tick: (ms: number) => (t += ms) };
}

describe('EventRecorder', () => {
  test('first occurrence creates an events.k8s.io/v1 Event with the required fields', async () => {
    const post = new Capture<Record<string, unknown>>();
    api()
      .post(EVENTS, post.match)
      .reply(201, { metadata: { name: 'web.1' } });
    const { r } = recorder();
    r.warning(svc('web', '3'), 'AllocationFailed', 'no pool matches', 'Allocate');
    await r.flush();
    expect(post.last).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'default' },
      reportingController: 'portico.dev/controller',
      reportingInstance: 'ctl-0',
      action: 'Allocate',
      reason: 'AllocationFailed',
      note: 'no pool matches',
      type: 'Warning',
      regarding: { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'default', uid: 'uid-web' },
    });
    expect(post.last?.eventTime).toMatch(/^2026-01-01T00:00:00\.000000Z$/);
    expect(post.last?.series).toBeUndefined();
    expect((post.last?.metadata as { name?: string } | undefined)?.name).toMatch(/^web\.[0-9a-f]+$/);
  });

  test('repeats within the window bump series.count on the same Event instead of creating new ones', async () => {
    const post = new Capture();
    const patch = new Capture<{ series: { count: number } }>();
    api()
      .post(EVENTS, post.match)
      .reply(201, { metadata: { name: 'web.1' } });
    api().patch(`${EVENTS}/web.1`, patch.match).times(10).reply(200, {});
    const { r, tick } = recorder();
    r.normal(svc('web', '3'), 'IPAllocated', '192.0.2.10 from pool-a');
    await r.flush();
    tick(1_000);
    r.normal(svc('web', '4'), 'IPAllocated', '192.0.2.10 from pool-a');
    await r.flush();
    tick(1_000);
    r.normal(svc('web', '5'), 'IPAllocated', '192.0.2.10 from pool-a');
    await r.flush();
    expect(post.all).toHaveLength(1);
    expect(patch.all.map((p) => p.series.count)).toEqual([2, 3]);
  });

  test('a burst of repeats is coalesced into few writes carrying the final count', async () => {
    const post = new Capture();
    const patch = new Capture<{ series: { count: number } }>();
    api()
      .post(EVENTS, post.match)
      .delay(50)
      .reply(201, { metadata: { name: 'web.1' } });
    api().patch(`${EVENTS}/web.1`, patch.match).times(10).reply(200, {});
    const { r } = recorder();
    for (let i = 0; i < 50; i++) r.normal(svc('web', '3'), 'Synced', 'same');
    await r.flush();
    expect(post.all).toHaveLength(1);
    expect(patch.all.length).toBeLessThanOrEqual(2);
    expect(patch.all.at(-1)?.series.count).toBe(50);
  });

  test('after the window, or with a different note, a new Event is created; cluster-scoped objects go to default', async () => {
    const post = new Capture<{ note: string; regarding: { kind: string } }>();
    api()
      .post(EVENTS, post.match)
      .times(3)
      .reply(201, () => ({ metadata: { name: `e${post.all.length}` } }));
    const { r, tick } = recorder({ windowMs: 10_000 });
    r.warning(pool, 'Overlapping', 'overlaps pool-b');
    await r.flush();
    r.warning(pool, 'Overlapping', 'overlaps pool-c');
    await r.flush();
    tick(11_000);
    r.warning(pool, 'Overlapping', 'overlaps pool-b');
    await r.flush();
    expect(post.all.map((p) => p.note)).toEqual(['overlaps pool-b', 'overlaps pool-c', 'overlaps pool-b']);
    expect(post.all[0]?.regarding.kind).toBe('IPAddressPool');
  });

  test('never throws: API failures and bad input are logged; the next occurrence retries', async () => {
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_o: object, m?: string) => warnings.push(m ?? ''),
    };
    api().post(EVENTS).reply(403, { kind: 'Status', code: 403, message: 'forbidden' });
    const post = new Capture();
    api()
      .post(EVENTS, post.match)
      .reply(201, { metadata: { name: 'x' } });
    const { r } = recorder({ logger });
    expect(() => r.normal(svc('web', '1'), 'A', 'b')).not.toThrow();
    await r.flush();
    expect(() => r.normal({ metadata: { name: 'no-kind' } }, 'A', 'b')).not.toThrow();
    r.normal(svc('web', '1'), 'A', 'b');
    await r.flush();
    expect(post.all).toHaveLength(1);
    expect(warnings).toEqual(['writing event failed', 'event not recorded']);
  });

  test('a series whose Event expired (404 on patch) starts a new Event', async () => {
    const post = new Capture<{ series?: { count: number } }>(
      (b) => (b as { kind?: string }).kind === 'Event',
    );
    api()
      .post(EVENTS, post.match)
      .times(2)
      .reply(201, () => ({ metadata: { name: `e${post.all.length}` } }));
    api().patch(`${EVENTS}/e1`).reply(404, { kind: 'Status', code: 404 });
    const { r } = recorder();
    r.normal(svc('web', '1'), 'A', 'b');
    await r.flush();
    r.normal(svc('web', '1'), 'A', 'b');
    await r.flush();
    expect(post.all).toHaveLength(2);
    expect(post.all[1]?.series?.count).toBe(2);
  });

  test('creation is rate limited; an Event that would wait past maxWaitMs is dropped, not queued forever', async () => {
    const post = new Capture();
    api()
      .post(EVENTS, post.match)
      .times(10)
      .reply(201, () => ({ metadata: { name: `e${post.all.length}` } }));
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_o: object, m?: string) => warnings.push(m ?? ''),
    };
    const r = new EventRecorder(fakeClient(), {
      reportingController: 'c',
      reportingInstance: 'i',
      qps: 10,
      burst: 2,
      maxWaitMs: 150,
      logger,
    });
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) r.normal(svc(`s${i}`, '1'), 'R', 'n');
    await r.flush();
    // burst 2 at once, then 100 ms and 200 ms waits; the rest would wait > 150 ms and are dropped.
    expect(post.all).toHaveLength(3);
    expect(warnings.filter((w) => w === 'event dropped: rate limit')).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });

  test('long notes and reasons are truncated to the API limits', async () => {
    const post = new Capture<{ note: string; reason: string }>();
    api()
      .post(EVENTS, post.match)
      .reply(201, { metadata: { name: 'x' } });
    const { r } = recorder();
    r.normal(svc('web', '1'), 'R'.repeat(300), 'n'.repeat(5_000));
    await r.flush();
    expect(post.last?.note.length).toBeLessThanOrEqual(1024);
    expect(post.last?.reason.length).toBeLessThanOrEqual(128);
  });
});

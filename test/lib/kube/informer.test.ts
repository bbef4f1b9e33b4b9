import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { KubeObject } from '../../../lib/kube/cache.ts';
import { Resources } from '../../../lib/kube/client.ts';
import { Informer, type InformerOptions } from '../../../lib/kube/informer.ts';
import { api, fakeClient, svc, until, WatchFeed } from './support.ts';

const LIST = '/api/v1/namespaces/default/services';
const isWatch = (q: Record<string, unknown>) => q.watch === 'true';
const isList = (q: Record<string, unknown>) => q.watch === undefined;

type Svc = KubeObject & { spec?: { x?: number } };

function record(inf: Informer<Svc>): string[] {
  const log: string[] = [];
  inf.addHandlers({
    add: (o) => log.push(`add ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
    update: (old, o) =>
      log.push(`update ${o.metadata?.name}@${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`),
    delete: (o) => log.push(`delete ${o.metadata?.name}`),
  });
  return log;
}

function informer(extra: Partial<InformerOptions> = {}): Informer<Svc> {
  return new Informer<Svc>(fakeClient(), {
    resource: Resources.services,
    namespace: 'default',
    backoff: { baseMs: 20, maxMs: 200, jitter: 0 },
    random: () => 0,
    ...extra,
  });
}

let inf: Informer<Svc> | undefined;
beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(async () => {
  await inf?.stop();
  inf = undefined;
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('Informer against a scripted apiserver (nock)', () => {
  test('lists, then applies watch events in order, tracking resourceVersion and bookmarks', async () => {
    const feed = new WatchFeed();
    let watchQuery: Record<string, unknown> = {};
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [svc('a', '5')] });
    api()
      .get(LIST)
      .query((q) => {
        watchQuery = q;
        return isWatch(q);
      })
      .reply(200, () => feed.stream);
    inf = informer();
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    expect(inf.hasSynced()).toBe(true);
    // List items carry no kind/apiVersion on the wire; the informer fills them in.
    expect(inf.get('default/a')).toMatchObject({ kind: 'Service', apiVersion: 'v1' });
    feed.send('ADDED', svc('b', '11'));
    feed.send('MODIFIED', svc('a', '12'));
    feed.send('BOOKMARK', { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '15' } });
    feed.send('DELETED', svc('b', '16'));
    await until(() => log.length === 4, 2_000, 'four events');
    expect(log).toEqual(['add a@5', 'add b@11', 'update a@5->12', 'delete b']);
    expect(watchQuery).toMatchObject({ watch: 'true', resourceVersion: '10', allowWatchBookmarks: 'true' });
    expect(Number(watchQuery.timeoutSeconds)).toBeGreaterThan(0);
    expect(inf.keys()).toEqual(['default/a']);
    expect(inf.resourceVersion).toBe('16');
  });

  test('410 Gone in the watch stream → relist; the diff delivers the gap (delete, update, add) and the watch resumes from the new rv', async () => {
    const feed1 = new WatchFeed();
    const feed2 = new WatchFeed();
    const watchRvs: unknown[] = [];
    api()
      .get(LIST)
      .query(isList)
      .reply(200, {
        metadata: { resourceVersion: '10' },
        items: [svc('a', '5'), svc('b', '6'), svc('c', '7')],
      });
    api()
      .get(LIST)
      .query((q) => isWatch(q) && q.resourceVersion === '10' && watchRvs.push(q.resourceVersion) > 0)
      .reply(200, () => feed1.stream);
    // During the gap: a deleted, b updated, d created, c unchanged.
    api()
      .get(LIST)
      .query(isList)
      .reply(200, {
        metadata: { resourceVersion: '50' },
        items: [svc('b', '40'), svc('c', '7'), svc('d', '45')],
      });
    api()
      .get(LIST)
      .query((q) => isWatch(q) && q.resourceVersion === '50' && watchRvs.push(q.resourceVersion) > 0)
      .reply(200, () => feed2.stream);
    inf = informer();
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    feed1.send('ERROR', {
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version',
    });
    await until(() => log.length === 6, 2_000, 'relist diff');
    expect(log.slice(3).sort()).toEqual(['add d@45', 'delete a', 'update b@6->40']);
    await until(() => watchRvs.length === 2, 2_000, 'second watch');
    expect(watchRvs).toEqual(['10', '50']);
    expect(inf.stats.relistsAfterGone).toBe(1);
    feed2.send('ADDED', svc('e', '51'));
    await until(() => log.length === 7, 2_000, 'event after relist');
    expect(inf.keys().sort()).toEqual(['default/b', 'default/c', 'default/d', 'default/e']);
  });

  test('410 as the HTTP status of the watch request also relists', async () => {
    const feed = new WatchFeed();
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [svc('a', '5')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(410, { kind: 'Status', code: 410, reason: 'Gone', message: 'too old' });
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '20' }, items: [] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => feed.stream);
    inf = informer();
    const log = record(inf);
    inf.start();
    await until(() => log.length === 2, 2_000, 'relist');
    expect(log).toEqual(['add a@5', 'delete a']);
    expect(inf.stats.lists).toBe(2);
  });

  test('410 straight after every fresh list backs off instead of spinning', async () => {
    const lists: number[] = [];
    api()
      .get(LIST)
      .query((q) => isList(q) && lists.push(Date.now()) > 0)
      .times(4)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [] });
    api().get(LIST).query(isWatch).times(3).reply(410, { kind: 'Status', code: 410, reason: 'Expired' });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    inf = informer({ backoff: { baseMs: 50, maxMs: 1_000, jitter: 0 } });
    inf.start();
    await until(() => lists.length === 4 && inf?.stats.watchesStarted === 4, 3_000, 'four rounds');
    const gaps = lists.slice(1).map((t, i) => t - (lists[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
  });

  test('500 on list → retried with exponential backoff; synced only after success', async () => {
    const times: number[] = [];
    const stamp = () => {
      times.push(Date.now());
      return true;
    };
    api()
      .get(LIST)
      .query(isList)
      .times(3)
      .reply(() => (stamp() ? [500, { kind: 'Status', code: 500, message: 'etcd down' }] : [0]));
    api()
      .get(LIST)
      .query((q) => isList(q) && stamp())
      .reply(200, { metadata: { resourceVersion: '10' }, items: [] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    inf = informer({ backoff: { baseMs: 40, maxMs: 1_000, jitter: 0 } });
    inf.start();
    expect(inf.hasSynced()).toBe(false);
    await inf.waitForSync(3_000);
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // 40, 80, 160 ms (timer slack allowed upwards only).
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
  });

  test('a clean end of the watch stream reconnects at once from the last resourceVersion (bookmark), without relisting', async () => {
    const feed1 = new WatchFeed();
    const feed2 = new WatchFeed();
    let second: Record<string, unknown> | undefined;
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [] });
    api()
      .get(LIST)
      .query((q) => isWatch(q) && q.resourceVersion === '10')
      .reply(200, () => feed1.stream);
    api()
      .get(LIST)
      .query((q) => {
        if (isWatch(q) && q.resourceVersion === '30') second = q;
        return second !== undefined;
      })
      .reply(200, () => feed2.stream);
    inf = informer();
    inf.start();
    await inf.waitForSync(2_000);
    feed1.send('BOOKMARK', { metadata: { resourceVersion: '30' } });
    feed1.end();
    await until(() => second !== undefined, 2_000, 'reconnect');
    expect(inf.stats.lists).toBe(1);
    expect(inf.stats.watchesStarted).toBe(2);
  });

  test('a quiet watch that the server ends cleanly after a while reconnects at once, even after earlier failures', async () => {
    const quiet = new WatchFeed();
    const starts: number[] = [];
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [] });
    api().get(LIST).query(isWatch).reply(503, { kind: 'Status', code: 503 });
    api()
      .get(LIST)
      .query((q) => isWatch(q) && starts.push(Date.now()) > 0)
      .reply(200, () => quiet.stream);
    api()
      .get(LIST)
      .query((q) => isWatch(q) && starts.push(Date.now()) > 0)
      .reply(200, () => new WatchFeed().stream);
    inf = informer({ backoff: { baseMs: 600, maxMs: 5_000, jitter: 0 } });
    inf.start();
    await until(() => starts.length === 1, 3_000, 'watch after the 503');
    await new Promise((r) => setTimeout(r, 1_100));
    const endedAt = Date.now();
    quiet.end();
    await until(() => starts.length === 2, 2_000, 'reconnect');
    // Backoff would be 1.2 s (second failure); a healthy close reconnects without it.
    expect((starts[1] as number) - endedAt).toBeLessThan(800);
    expect(inf.stats.lists).toBe(1);
  });

  test('watch errors (500, broken stream) reconnect with backoff and keep the cache', async () => {
    const feed = new WatchFeed();
    const feed3 = new WatchFeed();
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [svc('a', '5')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => feed.stream);
    api().get(LIST).query(isWatch).reply(500, { kind: 'Status', code: 500, message: 'boom' });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => feed3.stream);
    inf = informer();
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    feed.send('MODIFIED', svc('a', '11'));
    await until(() => log.length === 2);
    feed.stream.destroy(new Error('connection reset'));
    await until(() => inf?.stats.watchesStarted === 3, 2_000, 'third watch');
    expect(inf.stats.watchErrors).toBeGreaterThanOrEqual(1);
    expect(inf.stats.lists).toBe(1);
    feed3.send('DELETED', svc('a', '12'));
    await until(() => log.length === 3);
    expect(log).toEqual(['add a@5', 'update a@5->11', 'delete a']);
  });

  test('an ERROR event other than 410 reconnects without relisting', async () => {
    const feed = new WatchFeed();
    let again = false;
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => feed.stream);
    api()
      .get(LIST)
      .query((q) => {
        again = isWatch(q) && q.resourceVersion === '10';
        return again;
      })
      .reply(200, () => new WatchFeed().stream);
    inf = informer();
    inf.start();
    await inf.waitForSync(2_000);
    feed.send('ERROR', { kind: 'Status', code: 500, message: 'internal' });
    await until(() => again, 2_000, 'reconnect');
    expect(inf.stats.lists).toBe(1);
  });

  test('watchdog: a watch that stays open but silent is abandoned and the informer relists', async () => {
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [svc('a', '5')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '20' }, items: [svc('a', '19')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    inf = informer({ silenceTimeoutMs: 150 });
    const log = record(inf);
    inf.start();
    await until(() => log.length === 2, 3_000, 'relist after silence');
    expect(log).toEqual(['add a@5', 'update a@5->19']);
    expect(inf.stats.watchdogRelists).toBeGreaterThanOrEqual(1);
  });

  test('a list that hangs past requestTimeoutMs is abandoned and retried', async () => {
    // Headers arrive, the body never completes (a stuck apiserver or proxy).
    api()
      .get(LIST)
      .query(isList)
      .reply(200, () => new WatchFeed().stream);
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '2' }, items: [svc('x', '2')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    inf = informer({ requestTimeoutMs: 150 });
    const t0 = Date.now();
    inf.start();
    await inf.waitForSync(3_000);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(inf.resourceVersion).toBe('2');
    expect(inf.keys()).toEqual(['default/x']);
  });

  test('paginates with limit/continue; an expired continue token restarts the list', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const q = (pred: (x: Record<string, unknown>) => boolean) => (x: Record<string, unknown>) => {
      if (!isList(x) || !pred(x)) return false;
      seen.push(x);
      return true;
    };
    api()
      .get(LIST)
      .query(q((x) => x.continue === undefined))
      .reply(200, { metadata: { continue: 'c1' }, items: [svc('a', '1')] });
    api()
      .get(LIST)
      .query(q((x) => x.continue === 'c1'))
      .reply(410, { kind: 'Status', code: 410, reason: 'Expired' });
    api()
      .get(LIST)
      .query(q((x) => x.continue === undefined))
      .reply(200, { metadata: { continue: 'c2' }, items: [svc('a', '1')] });
    api()
      .get(LIST)
      .query(q((x) => x.continue === 'c2'))
      .reply(200, { metadata: { resourceVersion: '9' }, items: [svc('b', '2')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    inf = informer({ pageSize: 1 });
    inf.start();
    await inf.waitForSync(2_000);
    expect(seen.map((x) => x.limit)).toEqual(['1', '1', '1', '1']);
    expect(inf.keys().sort()).toEqual(['default/a', 'default/b']);
    expect(inf.resourceVersion).toBe('9');
  });

  test('periodic resync re-delivers every object as update(old === new)', async () => {
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [svc('a', '5'), svc('b', '6')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    inf = informer({ resyncPeriodMs: 60 });
    const same: boolean[] = [];
    inf.addHandlers({ update: (old, o) => same.push(old === o) });
    inf.start();
    await until(() => same.length >= 4, 2_000, 'two resyncs');
    expect(same.every(Boolean)).toBe(true);
  });

  test('a throwing handler neither stops the informer nor starves other handlers; late handlers get a replay', async () => {
    const feed = new WatchFeed();
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [svc('a', '5')] });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => feed.stream);
    inf = informer();
    inf.addHandlers({
      add: () => {
        throw new Error('bad handler');
      },
    });
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    feed.send('ADDED', svc('b', '11'));
    await until(() => log.length === 2);
    const late: string[] = [];
    inf.addHandlers({ add: (o) => late.push(o.metadata?.name ?? '') });
    expect(late.sort()).toEqual(['a', 'b']);
  });

  test('indexes follow updates and deletes', async () => {
    const feed = new WatchFeed();
    api()
      .get(LIST)
      .query(isList)
      .reply(200, {
        metadata: { resourceVersion: '10' },
        items: [svc('a', '5', { spec: { x: 1 } }), svc('b', '6', { spec: { x: 1 } })],
      });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => feed.stream);
    inf = informer();
    inf.addIndex('x', (o) => [String(o.spec?.x)]);
    inf.start();
    await inf.waitForSync(2_000);
    expect(
      inf
        .byIndex('x', '1')
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(['a', 'b']);
    feed.send('MODIFIED', svc('a', '11', { spec: { x: 2 } }));
    feed.send('DELETED', svc('b', '12', { spec: { x: 1 } }));
    await until(() => inf?.resourceVersion === '12');
    expect(inf.byIndex('x', '1')).toEqual([]);
    expect(inf.byIndex('x', '2').map((o) => o.metadata?.name)).toEqual(['a']);
  });

  test('transform: list items and every watch event are cached and delivered transformed; a throwing transform caches the whole object', async () => {
    const feed = new WatchFeed();
    api()
      .get(LIST)
      .query(isList)
      .reply(200, {
        metadata: { resourceVersion: '10' },
        items: [svc('a', '5', { spec: { x: 1 }, bulk: 'x'.repeat(100) })],
      });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => feed.stream);
    const seen: Array<[string, Svc]> = [];
    inf = informer({
      transform: (o: Svc) => {
        if (o.metadata?.name === 'bad') throw new Error('cannot trim');
        return { kind: o.kind, apiVersion: o.apiVersion, metadata: o.metadata, spec: o.spec } as Svc;
      },
    });
    inf.addHandlers({
      add: (o) => seen.push(['add', o]),
      update: (_old, o) => seen.push(['update', o]),
      delete: (o) => seen.push(['delete', o]),
    });
    inf.start();
    await inf.waitForSync(2_000);
    // kind/apiVersion filled in before the transform sees a list item.
    expect(inf.get('default/a')).toEqual({ ...svc('a', '5'), spec: { x: 1 } });
    feed.send('ADDED', svc('b', '11', { spec: { x: 2 }, bulk: 'y' }));
    feed.send('MODIFIED', svc('a', '12', { spec: { x: 3 }, bulk: 'z' }));
    feed.send('DELETED', svc('b', '13', { spec: { x: 2 }, bulk: 'y' }));
    feed.send('ADDED', svc('bad', '14', { bulk: 'kept' }));
    await until(() => inf?.resourceVersion === '14');
    expect(seen.map(([t, o]) => `${t} ${o.metadata?.name} ${'bulk' in o}`)).toEqual([
      'add a false',
      'add b false',
      'update a false',
      'delete b false',
      'add bad true',
    ]);
    expect(inf.get('default/a')).toEqual({ ...svc('a', '12'), spec: { x: 3 } });
    expect(inf.get('default/bad')).toMatchObject({ bulk: 'kept' });
  });

  test('stop() during backoff returns promptly and makes no further requests; waitForSync rejects', async () => {
    let lists = 0;
    api()
      .get(LIST)
      .query(isList)
      .times(100)
      .reply(() => {
        lists++;
        return [503, { kind: 'Status', code: 503 }];
      });
    inf = informer({ backoff: { baseMs: 5_000, maxMs: 5_000, jitter: 0 } });
    const sync = inf.waitForSync();
    inf.start();
    await until(() => lists === 1);
    const t0 = Date.now();
    await inf.stop();
    expect(Date.now() - t0).toBeLessThan(500);
    await expect(sync).rejects.toThrow(/stopped/);
    await new Promise((r) => setTimeout(r, 100));
    expect(lists).toBe(1);
  });

  test('after stop() no timer fires any more: no resync deliveries, no watchdog, no requests', async () => {
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [svc('a', '5')] });
    api().get(LIST).query(isWatch).reply(503, { kind: 'Status', code: 503 });
    api()
      .get(LIST)
      .query(isWatch)
      .reply(200, () => new WatchFeed().stream);
    const setI = vi.spyOn(globalThis, 'setInterval');
    const clearI = vi.spyOn(globalThis, 'clearInterval');
    inf = informer({
      resyncPeriodMs: 40,
      silenceTimeoutMs: 120,
      backoff: { baseMs: 50, maxMs: 50, jitter: 0 },
    });
    let resyncs = 0;
    inf.addHandlers({ update: (old, o) => old === o && resyncs++ });
    inf.start();
    await until(() => inf?.stats.watchesStarted === 2 && resyncs > 0, 2_000, 'second watch and a resync');
    const stopped = inf;
    await stopped.stop();
    inf = undefined;
    const snapshot = { ...stopped.stats, resyncs };
    // Longer than resync, watchdog and backoff periods together.
    await new Promise((r) => setTimeout(r, 400));
    expect({ ...stopped.stats, resyncs }).toEqual(snapshot);
    expect(nock.pendingMocks()).toEqual([]);
    // The resync interval itself is cleared (a live interval would keep the process from exiting).
    const intervals = setI.mock.results.map((r) => r.value);
    expect(intervals.length).toBeGreaterThan(0);
    for (const h of intervals) expect(clearI.mock.calls.some(([c]) => c === h)).toBe(true);
    setI.mockRestore();
    clearI.mockRestore();
  });

  test('stop() while a watch is open closes it and the loop exits', async () => {
    const feed = new WatchFeed();
    let watches = 0;
    api()
      .get(LIST)
      .query(isList)
      .reply(200, { metadata: { resourceVersion: '10' }, items: [] });
    api()
      .get(LIST)
      .query(isWatch)
      .times(10)
      .reply(() => {
        watches++;
        return [200, feed.stream];
      });
    inf = informer();
    inf.start();
    await until(() => watches === 1);
    await inf.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(watches).toBe(1);
    expect(
      feed.stream.destroyed || feed.stream.writableEnded || feed.stream.listenerCount('data') === 0,
    ).toBe(true);
  });
});

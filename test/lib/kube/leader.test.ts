import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type Lease, LeaseElector, leaseState, microTime } from '../../../lib/kube/leader.ts';
import { api, Capture, fakeClient, until } from './support.ts';

const PATH = '/apis/coordination.k8s.io/v1/namespaces/ns/leases/portico';

describe('leaseState (pure)', () => {
  const rec = (holder: string, dur = 10) => ({ holderIdentity: holder, leaseDurationSeconds: dur });
  test.each([
    ['no record', undefined, 0, 0, 'free'],
    ['empty holder (released)', rec(''), 0, 0, 'free'],
    ['mine', rec('me'), 0, 999_999, 'mine'],
    ['other, fresh', rec('other'), 1_000, 10_999, 'held'],
    ['other, exactly at expiry', rec('other'), 1_000, 11_000, 'expired'],
    ['other, long gone', rec('other'), 1_000, 60_000, 'expired'],
  ] as const)('%s', (_n, record, observedAt, now, want) => {
    expect(leaseState(record, observedAt, now, 'me')).toBe(want);
  });
  test('MicroTime has six fractional digits', () => {
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05.678000Z');
  });
});

describe('LeaseElector against a scripted apiserver (nock)', () => {
  let el: LeaseElector | undefined;
  beforeEach(() => nock.disableNetConnect());
  afterEach(async () => {
    await el?.stop({ release: false });
    el = undefined;
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const opts = {
    namespace: 'ns',
    name: 'portico',
    leaseDurationMs: 1_000,
    renewDeadlineMs: 600,
    retryPeriodMs: 100,
  };

  test('creates a missing lease and leads; a 409 on create means someone else won', async () => {
    const post = new Capture<Lease>();
    const put = new Capture<Lease>();
    api().get(PATH).reply(404, { kind: 'Status', code: 404 });
    api()
      .post('/apis/coordination.k8s.io/v1/namespaces/ns/leases', post.match)
      .reply(201, () => ({
        ...post.last,
        metadata: { name: 'portico', namespace: 'ns', resourceVersion: '1' },
      }));
    api()
      .get(PATH)
      .times(100)
      .reply(200, () => ({ metadata: { resourceVersion: '1' }, spec: (put.last ?? post.last)?.spec }));
    api()
      .put(PATH, put.match)
      .times(100)
      .reply(200, () => put.last as object);
    const started: boolean[] = [];
    el = new LeaseElector(fakeClient(), {
      ...opts,
      identity: 'me',
      onStartedLeading: () => started.push(true),
    });
    el.start();
    await until(() => el?.isLeader() === true, 2_000, 'leading');
    expect(started).toEqual([true]);
    const created = post.last;
    expect(created?.spec).toMatchObject({
      holderIdentity: 'me',
      leaseDurationSeconds: 1,
      leaseTransitions: 0,
    });
    expect(created?.spec?.renewTime).toMatch(/\.\d{6}Z$/);
  });

  test('409 on the update → not leader this round; retries next period with the fresh resourceVersion', async () => {
    const puts: Array<string | undefined> = [];
    api()
      .get(PATH)
      .reply(200, { metadata: { resourceVersion: '5' }, spec: { holderIdentity: '' } });
    api()
      .put(PATH, (b: Lease) => {
        puts.push(b.metadata?.resourceVersion);
        return true;
      })
      .reply(409, { kind: 'Status', code: 409, reason: 'Conflict' });
    api()
      .get(PATH)
      .reply(200, { metadata: { resourceVersion: '6' }, spec: { holderIdentity: '' } });
    const put = new Capture<Lease>();
    api()
      .put(PATH, (b: Lease) => {
        puts.push(b.metadata?.resourceVersion);
        return put.match(b);
      })
      .reply(200, () => ({ ...put.last, metadata: { resourceVersion: '7' } }));
    api()
      .get(PATH)
      .times(100)
      .reply(200, {
        metadata: { resourceVersion: '7' },
        spec: { holderIdentity: 'me', leaseDurationSeconds: 1 },
      });
    api()
      .put(PATH, put.match)
      .times(100)
      .reply(200, () => put.last as object);
    el = new LeaseElector(fakeClient(), { ...opts, identity: 'me' });
    el.start();
    await until(() => el?.isLeader() === true, 2_000, 'leading');
    expect(puts).toEqual(['5', '6']);
  });

  test('a lease held by another is respected until leaseDuration passes without a change, then taken over', async () => {
    const rec = {
      holderIdentity: 'other',
      leaseDurationSeconds: 1,
      renewTime: microTime(Date.now()),
      leaseTransitions: 3,
    };
    const put = new Capture<Lease>();
    api()
      .get(PATH)
      .times(100)
      .reply(200, () =>
        put.last
          ? { ...put.last, metadata: { resourceVersion: '9' } }
          : { metadata: { resourceVersion: '8' }, spec: rec },
      );
    api()
      .put(PATH, put.match)
      .times(100)
      .reply(200, () => put.last as object);
    const leaders: string[] = [];
    const t0 = Date.now();
    el = new LeaseElector(fakeClient(), { ...opts, identity: 'me', onNewLeader: (id) => leaders.push(id) });
    el.start();
    await until(() => el?.isLeader() === true, 3_000, 'takeover');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(leaders).toEqual(['other', 'me']);
    expect(put.last?.spec).toMatchObject({ holderIdentity: 'me', leaseTransitions: 4 });
  });

  test('leader that cannot renew steps down after renewDeadline (500s), and its signal aborts', async () => {
    let failing = false;
    const put = new Capture<Lease>();
    api()
      .get(PATH)
      .times(200)
      .reply(() =>
        failing
          ? [500, { code: 500 }]
          : [200, { metadata: { resourceVersion: '1' }, spec: put.last?.spec ?? { holderIdentity: '' } }],
      );
    api()
      .put(PATH, put.match)
      .times(200)
      .reply(200, () => put.last as object);
    let signal: AbortSignal | undefined;
    let stoppedAt = 0;
    el = new LeaseElector(fakeClient(), {
      ...opts,
      identity: 'me',
      onStartedLeading: (s) => {
        signal = s;
      },
      onStoppedLeading: () => {
        stoppedAt = Date.now();
      },
    });
    el.start();
    await until(() => el?.isLeader() === true, 2_000, 'leading');
    const failFrom = Date.now();
    failing = true;
    await until(() => stoppedAt > 0, 3_000, 'step down');
    expect(stoppedAt - failFrom).toBeGreaterThanOrEqual(500);
    expect(stoppedAt - failFrom).toBeLessThan(opts.leaseDurationMs);
    expect(signal?.aborted).toBe(true);
    expect(el.isLeader()).toBe(false);
  });

  test('stop() releases: holder emptied, leaseDuration 1 s, with our resourceVersion', async () => {
    let lease: Lease = { metadata: { resourceVersion: '1' }, spec: { holderIdentity: '' } };
    let rv = 1;
    const put = new Capture<Lease>();
    const bodies = put.all;
    api()
      .get(PATH)
      .times(100)
      .reply(200, () => lease);
    api()
      .put(PATH, put.match)
      .times(100)
      .reply(200, () => {
        lease = { ...(put.last as Lease), metadata: { resourceVersion: String(++rv) } };
        return lease;
      });
    let stopped = 0;
    el = new LeaseElector(fakeClient(), { ...opts, identity: 'me', onStoppedLeading: () => stopped++ });
    el.start();
    await until(() => el?.isLeader() === true, 2_000, 'leading');
    await el.stop();
    const last = bodies.at(-1);
    expect(last?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(last?.metadata?.resourceVersion).toBe(String(rv - 1));
    expect(stopped).toBe(1);
    expect(el.isLeader()).toBe(false);
    el = undefined;
  });

  test('stop(): a 409 on the release (our aborted renew landed) re-reads and releases the fresh version if still ours', async () => {
    let lease: Lease = { metadata: { resourceVersion: '1' }, spec: { holderIdentity: '' } };
    let rv = 1;
    let leading = false;
    const put = new Capture<Lease>();
    api()
      .get(PATH)
      .times(100)
      .reply(200, () => lease);
    api()
      .put(PATH, put.match)
      .times(100)
      .reply(() => {
        const body = put.last as Lease;
        if (body.metadata?.resourceVersion !== lease.metadata?.resourceVersion) {
          return [409, { kind: 'Status', code: 409, reason: 'Conflict' }];
        }
        lease = { ...body, metadata: { resourceVersion: String(++rv) } };
        return [200, lease];
      });
    el = new LeaseElector(fakeClient(), {
      ...opts,
      identity: 'me',
      onStoppedLeading: () => (leading = false),
    });
    el.start();
    await until(() => el?.isLeader() === true, 2_000, 'leading');
    leading = true;
    // A renew the elector never saw the answer to: the server moved the resourceVersion on.
    lease = { ...lease, metadata: { resourceVersion: String(++rv) } };
    await el.stop();
    expect(lease.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(put.all.filter((b) => b.spec?.holderIdentity === '').length).toBe(2);
    expect(leading).toBe(false);
    el = undefined;
  });

  test('a leader that finds the lease held by someone else steps down at once, not at its renew deadline', async () => {
    const put = new Capture<Lease>();
    let stolen = false;
    api()
      .get(PATH)
      .times(200)
      .reply(200, () =>
        stolen
          ? {
              metadata: { resourceVersion: '99' },
              spec: { holderIdentity: 'thief', leaseDurationSeconds: 1, renewTime: 'x' },
            }
          : { metadata: { resourceVersion: '1' }, spec: put.last?.spec ?? { holderIdentity: '' } },
      );
    api()
      .put(PATH, put.match)
      .times(200)
      .reply(200, () => put.last as object);
    let stoppedAt = 0;
    el = new LeaseElector(fakeClient(), {
      ...opts,
      identity: 'me',
      onStoppedLeading: () => (stoppedAt = Date.now()),
    });
    el.start();
    await until(() => el?.isLeader() === true, 2_000, 'leading');
    const t0 = Date.now();
    stolen = true;
    await until(() => stoppedAt > 0, 2_000, 'step down');
    expect(stoppedAt - t0).toBeLessThan(opts.renewDeadlineMs);
    expect(el.leader()).toBe('thief');
  });

  test('release() stops campaigning: the freed lease is not re-acquired by the releaser', async () => {
    let lease: Lease = { metadata: { resourceVersion: '1' }, spec: { holderIdentity: '' } };
    let rv = 1;
    const put = new Capture<Lease>();
    api()
      .get(PATH)
      .times(100)
      .reply(200, () => lease);
    api()
      .put(PATH, put.match)
      .times(100)
      .reply(200, () => {
        lease = { ...(put.last as Lease), metadata: { resourceVersion: String(++rv) } };
        return lease;
      });
    el = new LeaseElector(fakeClient(), { ...opts, identity: 'me' });
    el.start();
    await until(() => el?.isLeader() === true, 2_000, 'leading');
    await el.release();
    const writes = put.all.length;
    await new Promise((r) => setTimeout(r, 4 * opts.retryPeriodMs));
    expect(put.all.length).toBe(writes);
    expect(lease.spec?.holderIdentity).toBe('');
    expect(el.isLeader()).toBe(false);
  });

  test('rejects unsafe timing', () => {
    const c = fakeClient();
    expect(() => new LeaseElector(c, { ...opts, identity: 'x', renewDeadlineMs: 1_000 })).toThrow(
      /renewDeadline/,
    );
    expect(() => new LeaseElector(c, { ...opts, identity: 'x', retryPeriodMs: 600 })).toThrow(/retryPeriod/);
    expect(() => new LeaseElector(c, { ...opts, identity: '' })).toThrow(/identity/);
  });
});

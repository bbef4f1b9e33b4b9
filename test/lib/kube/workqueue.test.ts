import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { WorkQueue } from '../../../lib/kube/workqueue.ts';

afterEach(() => {
  vi.useRealTimers();
});

const noJitter = { baseMs: 10, maxMs: 1_000, jitter: 0 };

describe('WorkQueue', () => {
  test('de-duplicates waiting keys and keeps FIFO order', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
  });

  test('a key added while processing is not handed out twice, and is processed again after done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0); // held back while 'a' is processing
    let second: string | undefined;
    void q.get().then((x) => {
      second = x;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(k as string);
    await vi.waitFor(() => expect(second).toBe('a'));
  });

  test('property: at most one holder per key; every add after the last get is eventually processed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('add', 'get', 'done'), fc.constantFrom('a', 'b', 'c')), {
          maxLength: 60,
        }),
        async (ops) => {
          const q = new WorkQueue();
          const held = new Set<string>();
          const pendingSince = new Set<string>(); // keys added since they were last handed out
          for (const [op, key] of ops) {
            if (op === 'add') {
              q.add(key);
              pendingSince.add(key);
            } else if (op === 'get' && q.length > 0) {
              const k = (await q.get()) as string;
              expect(held.has(k)).toBe(false);
              held.add(k);
              pendingSince.delete(k);
            } else if (op === 'done' && held.has(key)) {
              held.delete(key);
              q.done(key);
            }
          }
          for (const k of held) q.done(k);
          const drained = new Set<string>();
          while (q.length > 0) {
            const k = (await q.get()) as string;
            drained.add(k);
            q.done(k);
          }
          for (const k of pendingSince) expect(drained.has(k)).toBe(true);
        },
      ),
    );
  });

  test('get() waits for an add; shutDown resolves waiters with undefined and drops later adds', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
    const waiting = q.get();
    const stopped = q.shutDown();
    expect(await waiting).toBeUndefined();
    q.done('x');
    await stopped;
    q.add('y');
    expect(await q.get()).toBeUndefined();
  });

  test('shutDown waits for keys in flight', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    let finished = false;
    const s = q.shutDown().then(() => {
      finished = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(finished).toBe(false);
    q.done('a');
    await s;
    expect(finished).toBe(true);
  });

  test('addAfter keeps only the earliest deadline per key', () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ now: () => Date.now() });
    q.addAfter('a', 1_000);
    q.addAfter('a', 5_000); // later: ignored
    q.addAfter('a', 200); // earlier: wins
    expect(q.pendingDelayed).toBe(1);
    vi.advanceTimersByTime(199);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(q.length).toBe(1);
  });

  test('addRateLimited: per-key exponential backoff with a cap, forget() resets', () => {
    vi.useFakeTimers();
    const q = new WorkQueue({
      backoff: { baseMs: 10, maxMs: 50, jitter: 0 },
      qps: 1_000,
      burst: 1_000,
      now: () => Date.now(),
    });
    expect([
      q.addRateLimited('a'),
      q.addRateLimited('a'),
      q.addRateLimited('a'),
      q.addRateLimited('a'),
    ]).toEqual([10, 20, 40, 50]);
    expect(q.numRequeues('a')).toBe(4);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(10);
    expect(q.addRateLimited('b')).toBe(10);
  });

  test('addRateLimited: the overall token bucket bounds retries across keys', () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ backoff: noJitter, qps: 10, burst: 2, now: () => Date.now() });
    const delays = ['a', 'b', 'c', 'd'].map((k) => q.addRateLimited(k));
    expect(delays.slice(0, 2)).toEqual([10, 10]);
    expect(delays[2]).toBeCloseTo(100);
    expect(delays[3]).toBeCloseTo(200);
  });

  test('metrics hooks: depth, adds, latency, duration, retries', async () => {
    let t = 1_000;
    const depths: number[] = [];
    const lat: number[] = [];
    const dur: number[] = [];
    let adds = 0;
    let retries = 0;
    const q = new WorkQueue({
      now: () => t,
      metrics: {
        depth: (d) => depths.push(d),
        added: () => adds++,
        queueLatency: (s) => lat.push(s),
        workDuration: (s) => dur.push(s),
        retried: () => retries++,
      },
    });
    q.add('a');
    q.add('a');
    q.add('b');
    t += 500;
    const k = (await q.get()) as string;
    t += 250;
    q.done(k);
    q.addRateLimited('z');
    await q.shutDown();
    expect(adds).toBe(2);
    expect(lat).toEqual([0.5]);
    expect(dur).toEqual([0.25]);
    expect(retries).toBe(1);
    expect(depths).toEqual([1, 2, 1, 0]);
  });
});

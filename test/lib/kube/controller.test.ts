import { Registry } from 'prom-client';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { Controller, TerminalError } from '../../../lib/kube/controller.ts';

let ctl: Controller | undefined;
afterEach(async () => {
  await ctl?.stop();
  ctl = undefined;
});

describe('Controller', () => {
  test('errors requeue with growing backoff until success, then forget', async () => {
    const calls: number[] = [];
    let fails = 3;
    ctl = new Controller({
      name: 't',
      backoff: { baseMs: 20, maxMs: 1_000, jitter: 0 },
      reconcile: async () => {
        calls.push(Date.now());
        if (fails-- > 0) throw new Error('transient');
      },
    });
    ctl.enqueue('ns/a');
    ctl.start();
    await vi.waitFor(() => expect(calls.length).toBe(4), { timeout: 2_000 });
    const gaps = calls.slice(1).map((t, i) => t - (calls[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
    expect(ctl.queue.numRequeues('ns/a')).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.length).toBe(4);
  });

  test('requeueAfter re-runs the key later; TerminalError does not requeue', async () => {
    const seen: string[] = [];
    let n = 0;
    ctl = new Controller({
      name: 't',
      reconcile: async (key) => {
        seen.push(key);
        if (key === 'bad') throw new TerminalError('invalid spec');
        if (key === 'poll' && n++ < 2) return { requeueAfter: 30 };
        return undefined;
      },
    });
    ctl.start();
    ctl.enqueue('bad');
    ctl.enqueue('poll');
    await vi.waitFor(() => expect(seen.filter((k) => k === 'poll').length).toBe(3), { timeout: 2_000 });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.filter((k) => k === 'bad').length).toBe(1);
    expect(seen.filter((k) => k === 'poll').length).toBe(3);
  });

  test('concurrency: different keys in parallel, one key never twice at once, a change during reconcile is not lost', async () => {
    const running = new Set<string>();
    let maxParallel = 0;
    const done: string[] = [];
    let overlap = false;
    ctl = new Controller({
      name: 't',
      concurrency: 3,
      reconcile: async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        maxParallel = Math.max(maxParallel, running.size);
        await new Promise((r) => setTimeout(r, 30));
        running.delete(key);
        done.push(key);
      },
    });
    ctl.start();
    ctl.enqueue('a');
    ctl.enqueue('b');
    ctl.enqueue('c');
    await new Promise((r) => setTimeout(r, 5));
    ctl.enqueue('a'); // 'a' is running: must run again afterwards, not concurrently
    await vi.waitFor(() => expect(done.length).toBe(4), { timeout: 2_000 });
    expect(overlap).toBe(false);
    expect(maxParallel).toBe(3);
    expect(done.filter((k) => k === 'a').length).toBe(2);
  });

  test('stop() aborts the signal of running reconciles and waits for them', async () => {
    let aborted = false;
    let finished = false;
    ctl = new Controller({
      name: 't',
      reconcile: async (_key, signal) => {
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
        aborted = signal.aborted;
        await new Promise((r) => setTimeout(r, 20));
        finished = true;
      },
    });
    ctl.start();
    ctl.enqueue('a');
    await new Promise((r) => setTimeout(r, 10));
    await ctl.stop();
    expect(aborted).toBe(true);
    expect(finished).toBe(true);
    ctl = undefined;
  });

  test('registers queue and reconcile metrics in a prom-client Registry (shared across controllers)', async () => {
    const registry = new Registry();
    let fail = true;
    ctl = new Controller({
      name: 'svc',
      registry,
      backoff: { baseMs: 5, maxMs: 5, jitter: 0 },
      reconcile: async () => {
        if (fail) {
          fail = false;
          throw new Error('x');
        }
      },
    });
    const other = new Controller({ name: 'pool', registry, reconcile: async () => undefined });
    ctl.start();
    ctl.enqueue('k');
    await vi.waitFor(async () => {
      const text = await registry.metrics();
      expect(text).toMatch(/controller_reconcile_total\{controller="svc",result="success"\} 1/);
    });
    const text = await registry.metrics();
    expect(text).toMatch(/controller_reconcile_total\{controller="svc",result="error"\} 1/);
    expect(text).toMatch(/workqueue_adds_total\{name="svc"\} 2/);
    expect(text).toMatch(/workqueue_retries_total\{name="svc"\} 1/);
    expect(text).toMatch(/workqueue_work_duration_seconds_count\{name="svc"\} 2/);
    await other.stop();
  });
});

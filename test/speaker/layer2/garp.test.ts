import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_GARP_SCHEDULE,
  GarpTimers,
  garpTime,
  parseBurst,
  planGarp,
  validateGarpSchedule,
} from '../../../speaker/layer2/garp.ts';

const S = DEFAULT_GARP_SCHEDULE;

/** Runs the plan with a timer that fires exactly on time, until `until`; returns send times. */
function simulate(schedule: typeof S, until: number, lateBy = 0): number[] {
  const sends: number[] = [];
  let sent = 0;
  let now = 0;
  for (;;) {
    const step = planGarp(schedule, 0, sent, now);
    if (step.send) sends.push(now);
    sent = step.sent;
    if (step.nextAt === undefined || step.nextAt + lateBy > until) return sends;
    now = step.nextAt + lateBy;
  }
}

describe('GARP plan', () => {
  it('default: burst at 0, 100, 500, 1000, 2000 ms then every 60 s', () => {
    expect(simulate(S, 200_000)).toEqual([0, 100, 500, 1000, 2000, 62_000, 122_000, 182_000]);
  });

  it('is configurable, and refresh 0 ends the plan after the burst', () => {
    expect(simulate({ burstMs: [0, 50], refreshMs: 0 }, 1e9)).toEqual([0, 50]);
    expect(simulate({ burstMs: [10], refreshMs: 5000 }, 16_000)).toEqual([10, 5010, 10_010, 15_010]);
  });

  it('collapses slots a late timer missed into one send', () => {
    // Woken at 700 ms: slots 0, 100, 500 are past → one send, next slot 1000.
    expect(planGarp(S, 0, 0, 700)).toEqual({ send: true, sent: 3, nextAt: 1000 });
    expect(planGarp(S, 0, 3, 999)).toEqual({ send: false, sent: 3, nextAt: 1000 });
  });

  it('property: sends are strictly increasing and never more than the slots elapsed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 300_000 }), (late, until) => {
        const sends = simulate(S, until, late);
        for (let i = 1; i < sends.length; i++) expect(sends[i]!).toBeGreaterThan(sends[i - 1]!);
        let slots = 0;
        while ((garpTime(S, 0, slots) ?? Number.POSITIVE_INFINITY) <= until) slots++;
        expect(sends.length).toBeLessThanOrEqual(slots);
      }),
    );
  });

  it('validates schedules with clear errors', () => {
    expect(() => validateGarpSchedule({ burstMs: [], refreshMs: 0 })).toThrow(/at least one/);
    expect(() => validateGarpSchedule({ burstMs: [0, 100, 50], refreshMs: 0 })).toThrow(/ascending/);
    expect(() => validateGarpSchedule({ burstMs: [-1], refreshMs: 0 })).toThrow(/≥ 0/);
    expect(() => validateGarpSchedule({ burstMs: [0], refreshMs: 10 })).toThrow(/flood/);
    expect(parseBurst('0, 100,500')).toEqual([0, 100, 500]);
    expect(() => parseBurst('0,abc')).toThrow(/abc/);
  });
});

describe('GARP timers (shell)', () => {
  afterEach(() => vi.useRealTimers());

  it('follows the plan on the clock, restarts on a new takeover, stops on withdraw', () => {
    vi.useFakeTimers();
    const timers = new GarpTimers({ burstMs: [0, 100, 500], refreshMs: 1000 }, () => Date.now());
    const t0 = Date.now();
    const sent: number[] = [];
    timers.start('eth0|192.0.2.10', () => sent.push(Date.now() - t0));
    expect(sent).toEqual([0]);
    vi.advanceTimersByTime(2600);
    expect(sent).toEqual([0, 100, 500, 1500, 2500]);
    timers.start('eth0|192.0.2.10', () => sent.push(-(Date.now() - t0)));
    expect(sent.at(-1)).toBe(-2600);
    timers.stop('eth0|192.0.2.10');
    expect(timers.has('eth0|192.0.2.10')).toBe(false);
    const before = sent.length;
    vi.advanceTimersByTime(10_000);
    expect(sent.length).toBe(before);
  });
});

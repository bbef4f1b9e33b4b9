/**
 * When to announce a VIP after taking it over: a burst (default at 0, 100 ms, 500 ms, 1 s, 2 s
 * after takeover — several because a single frame can be lost or arrive while a switch is still
 * learning) and then a slow periodic refresh (default 60 s) so switch MAC tables and client
 * caches never age out. The same schedule drives gratuitous ARP (IPv4) and unsolicited NA (IPv6).
 *
 * The plan is pure: `planGarp` maps (schedule, takeover time, sends done, now) to "send now?" and
 * the next wake-up. GarpTimers is the thin setTimeout shell around it.
 */
export interface GarpSchedule {
  /** Offsets from takeover, ms, ascending, ≥ 0. */
  burstMs: readonly number[];
  /** Period after the burst, ms; 0 disables the refresh. */
  refreshMs: number;
}

export const DEFAULT_GARP_SCHEDULE: GarpSchedule = Object.freeze({
  burstMs: Object.freeze([0, 100, 500, 1000, 2000]),
  refreshMs: 60_000,
});

/** Throws a clear error for a schedule that cannot be followed. */
export function validateGarpSchedule(s: GarpSchedule): GarpSchedule {
  if (!Array.isArray(s.burstMs) || s.burstMs.length === 0)
    throw new Error('GARP burst needs at least one offset');
  let prev = -1;
  for (const ms of s.burstMs) {
    if (!Number.isFinite(ms) || ms < 0 || ms <= prev) {
      throw new Error(
        `GARP burst offsets must be finite, ≥ 0 and strictly ascending (got ${s.burstMs.join(',')})`,
      );
    }
    prev = ms;
  }
  if (!Number.isFinite(s.refreshMs) || s.refreshMs < 0) throw new Error('GARP refresh must be ≥ 0 ms');
  if (s.refreshMs > 0 && s.refreshMs < 1000)
    throw new Error('GARP refresh below 1 s would flood the segment');
  return s;
}

/** Parses "0,100,500,1000,2000" (ms) for a flag. */
export function parseBurst(text: string): number[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const n = Number(t);
      if (!Number.isFinite(n)) throw new Error(`GARP burst: "${t}" is not a number of milliseconds`);
      return n;
    });
}

/** Time of announcement number `index` (0-based) after a takeover at `startedAt`; undefined = never. */
export function garpTime(s: GarpSchedule, startedAt: number, index: number): number | undefined {
  const burst = s.burstMs;
  if (index < burst.length) return startedAt + burst[index]!;
  if (s.refreshMs === 0) return undefined;
  return startedAt + burst[burst.length - 1]! + (index - burst.length + 1) * s.refreshMs;
}

export interface GarpStep {
  /** Send one announcement now. */
  send: boolean;
  /** Announcements accounted for after this step (pass back as `sent`). */
  sent: number;
  /** When to call again; undefined = the plan is finished. */
  nextAt: number | undefined;
}

/**
 * One step of the plan. If the timer fired late and several slots have passed, they collapse
 * into one send (a late burst of identical frames helps nobody) and the plan skips ahead.
 */
export function planGarp(s: GarpSchedule, startedAt: number, sent: number, now: number): GarpStep {
  let index = sent;
  let due = garpTime(s, startedAt, index);
  if (due === undefined) return { send: false, sent, nextAt: undefined };
  if (due > now) return { send: false, sent, nextAt: due };
  while (due !== undefined && due <= now) {
    index++;
    due = garpTime(s, startedAt, index);
  }
  return { send: true, sent: index, nextAt: due };
}

/** Thin timer shell: one plan per key (e.g. "eth0|192.0.2.10"). `send` must not throw. */
export class GarpTimers {
  private readonly plans = new Map<
    string,
    { timer: NodeJS.Timeout | undefined; startedAt: number; sent: number }
  >();

  private readonly schedule: GarpSchedule;
  private readonly now: () => number;

  constructor(schedule: GarpSchedule, now: () => number = () => performance.now()) {
    this.schedule = validateGarpSchedule(schedule);
    this.now = now;
  }

  /** Starts (or restarts, on a new takeover) the plan for `key`; the first send happens now. */
  start(key: string, send: () => void): void {
    this.stop(key);
    const plan = { timer: undefined as NodeJS.Timeout | undefined, startedAt: this.now(), sent: 0 };
    this.plans.set(key, plan);
    const step = (): void => {
      if (this.plans.get(key) !== plan) return;
      const r = planGarp(this.schedule, plan.startedAt, plan.sent, this.now());
      plan.sent = r.sent;
      if (r.send) send();
      if (r.nextAt === undefined) {
        this.plans.delete(key);
        return;
      }
      plan.timer = setTimeout(step, Math.max(0, r.nextAt - this.now()));
      plan.timer.unref();
    };
    step();
  }

  has(key: string): boolean {
    return this.plans.has(key);
  }

  stop(key: string): void {
    const p = this.plans.get(key);
    if (p?.timer) clearTimeout(p.timer);
    this.plans.delete(key);
  }

  stopAll(): void {
    for (const key of [...this.plans.keys()]) this.stop(key);
  }
}

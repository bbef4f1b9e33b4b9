// Pure: the status an IPAddressPool should carry, from the allocator's report. Counts are decimal
// strings (a /64 holds 2^64 addresses: a JSON number would round, int64 overflows past a /65).

import { POOL_CONDITIONS, POOL_REASONS } from '../lib/api/conditions.ts';
import type { PoolReport } from './ipam/index.ts';

export interface PoolConditionIntent {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration?: number;
}

export interface PoolStatusIntent {
  assignedIPv4?: string;
  availableIPv4?: string;
  assignedIPv6?: string;
  availableIPv6?: string;
  observedGeneration?: number;
  conditions: PoolConditionIntent[];
}

/** Longest condition message we write (the apiserver allows 32 KiB; kubectl output does not). */
const MAX_MESSAGE = 1024;

function clip(s: string): string {
  return s.length <= MAX_MESSAGE ? s : `${s.slice(0, MAX_MESSAGE - 1)}…`;
}

export function poolStatusIntent(report: PoolReport, generation: number | undefined): PoolStatusIntent {
  const out: PoolStatusIntent = { conditions: [] };
  if (report.IPv4) {
    out.assignedIPv4 = report.IPv4.assigned.toString();
    out.availableIPv4 = report.IPv4.available.toString();
  }
  if (report.IPv6) {
    out.assignedIPv6 = report.IPv6.assigned.toString();
    out.availableIPv6 = report.IPv6.available.toString();
  }
  if (generation !== undefined) out.observedGeneration = generation;
  const gen = generation !== undefined ? { observedGeneration: generation } : {};
  const invalid: PoolConditionIntent = report.valid
    ? {
        type: POOL_CONDITIONS.Invalid,
        status: 'False',
        reason: POOL_REASONS.Valid,
        message: 'spec is valid',
        ...gen,
      }
    : {
        type: POOL_CONDITIONS.Invalid,
        status: 'True',
        reason: POOL_REASONS.InvalidAddresses,
        message: clip(report.errors.join('; ') || 'spec is invalid'),
        ...gen,
      };
  const overlapping: PoolConditionIntent =
    report.overlaps.length === 0
      ? {
          type: POOL_CONDITIONS.Overlapping,
          status: 'False',
          reason: POOL_REASONS.NoOverlap,
          message: 'shares no address with another pool',
          ...gen,
        }
      : {
          type: POOL_CONDITIONS.Overlapping,
          status: 'True',
          reason: POOL_REASONS.OverlapsPool,
          message: clip(
            `shares addresses with ${report.overlaps.map((o) => `pool ${o.pool} (${o.range})`).join(', ')}; ` +
              'an address held through either pool is never handed out by the other',
          ),
          ...gen,
        };
  // Overlap is a warning, not a failure: the allocator marks shared addresses used in both pools.
  const ready: PoolConditionIntent = report.valid
    ? {
        type: POOL_CONDITIONS.Ready,
        status: 'True',
        reason: POOL_REASONS.Valid,
        message:
          report.warnings.length > 0
            ? clip(`usable; note: ${report.warnings.join('; ')}`)
            : 'usable for allocation',
        ...gen,
      }
    : {
        type: POOL_CONDITIONS.Ready,
        status: 'False',
        reason: POOL_REASONS.NotUsable,
        message: 'the pool is Invalid; Services keep the addresses they hold, no new ones are handed out',
        ...gen,
      };
  out.conditions = [ready, invalid, overlapping];
  return out;
}

interface PoolStatusSeen {
  assignedIPv4?: string;
  availableIPv4?: string;
  assignedIPv6?: string;
  availableIPv6?: string;
  observedGeneration?: number;
  conditions?: Array<{
    type: string;
    status: string;
    reason: string;
    message: string;
    observedGeneration?: number;
  }>;
}

/** Does the pool's current status already say what `want` says? */
export function poolStatusUpToDate(current: PoolStatusSeen | undefined, want: PoolStatusIntent): boolean {
  const c = current ?? {};
  const fields = [
    'assignedIPv4',
    'availableIPv4',
    'assignedIPv6',
    'availableIPv6',
    'observedGeneration',
  ] as const;
  for (const f of fields) if (c[f] !== want[f]) return false;
  for (const w of want.conditions) {
    const h = (c.conditions ?? []).find((x) => x.type === w.type);
    if (
      !h ||
      h.status !== w.status ||
      h.reason !== w.reason ||
      h.message !== w.message ||
      h.observedGeneration !== w.observedGeneration
    ) {
      return false;
    }
  }
  return true;
}

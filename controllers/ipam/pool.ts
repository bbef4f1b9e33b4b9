// An IPAddressPool spec compiled for allocation: parsed entries, per-family spaces, the selection
// rules, and what is wrong with it. A pool with any error is Invalid and serves no new allocation
// (half-applying a pool the user got wrong would hand out addresses they did not mean to give).

import { type Labels, matchesSelector } from '../../lib/api/selector.ts';
import {
  formatInterval,
  type IPInterval,
  intersection,
  mergeIntervals,
  overlaps,
  parseAddressEntry,
} from '../../lib/net/index.ts';
import { type LabelSelector, selectorErrors } from './selector.ts';
import { FamilySpace } from './space.ts';
import type { PoolInput } from './types.ts';

export interface CompiledPool {
  name: string;
  valid: boolean;
  errors: string[];
  warnings: string[];
  /** Merged intervals of all valid entries, both families. */
  intervals: IPInterval[];
  v4: FamilySpace | null;
  v6: FamilySpace | null;
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  /** Lower first; Infinity when unset. */
  priority: number;
  /** True when the pool restricts who may use it (namespaces or selectors). */
  hasRules: boolean;
  namespaces: Set<string> | null;
  namespaceSelector: LabelSelector | null;
  serviceSelector: LabelSelector | null;
  overlaps: Array<{ pool: string; range: string }>;
}

export function compilePool(input: PoolInput): CompiledPool {
  const name = input.name;
  const spec = (input.spec ?? {}) as Partial<PoolInput['spec']>;
  const errors: string[] = [];
  const warnings: string[] = [];
  const intervals: IPInterval[] = [];

  const addresses = Array.isArray(spec.addresses) ? spec.addresses : null;
  if (addresses === null || addresses.length === 0)
    errors.push('spec.addresses: at least one entry is required');
  for (const [i, entry] of (addresses ?? []).entries()) {
    const r = parseAddressEntry(entry);
    if (!r.ok) {
      errors.push(`spec.addresses[${i}]: ${r.error}`);
      continue;
    }
    if (r.value.warning) warnings.push(`spec.addresses[${i}]: ${r.value.warning}`);
    for (const prev of intervals) {
      if (overlaps(prev, r.value.interval)) {
        warnings.push(`spec.addresses[${i}]: ${r.value.canonical} overlaps another entry of this pool`);
        break;
      }
    }
    intervals.push(r.value.interval);
  }

  const alloc = spec.allocation ?? {};
  let priority = Number.POSITIVE_INFINITY;
  if (alloc.priority !== undefined && alloc.priority !== null) {
    if (typeof alloc.priority !== 'number' || !Number.isInteger(alloc.priority)) {
      errors.push('spec.allocation.priority: must be an integer');
    } else {
      priority = alloc.priority;
    }
  }
  let namespaces: Set<string> | null = null;
  if (alloc.namespaces !== undefined && alloc.namespaces !== null) {
    if (!Array.isArray(alloc.namespaces) || alloc.namespaces.some((n) => typeof n !== 'string')) {
      errors.push('spec.allocation.namespaces: must be a list of namespace names');
    } else if (alloc.namespaces.length > 0) {
      namespaces = new Set(alloc.namespaces);
    }
  }
  errors.push(...selectorErrors(alloc.namespaceSelector, 'spec.allocation.namespaceSelector'));
  errors.push(...selectorErrors(alloc.serviceSelector, 'spec.allocation.serviceSelector'));
  const namespaceSelector = alloc.namespaceSelector ?? null;
  const serviceSelector = alloc.serviceSelector ?? null;

  const merged = mergeIntervals(intervals);
  const avoidBuggyIPs = spec.avoidBuggyIPs === true;
  const valid = errors.length === 0;
  const v4 =
    valid && merged.some((iv) => iv.family === 4) ? new FamilySpace(name, 4, merged, avoidBuggyIPs) : null;
  const v6 =
    valid && merged.some((iv) => iv.family === 6) ? new FamilySpace(name, 6, merged, avoidBuggyIPs) : null;
  if (valid && (v4?.total ?? 0n) + (v6?.total ?? 0n) === 0n) {
    warnings.push('no allocatable address: avoidBuggyIPs excludes every address of this pool');
  }
  return {
    name,
    valid,
    errors,
    warnings,
    intervals: merged,
    v4,
    v6,
    autoAssign: spec.autoAssign !== false,
    avoidBuggyIPs,
    priority,
    hasRules: namespaces !== null || namespaceSelector !== null || serviceSelector !== null,
    namespaces,
    namespaceSelector,
    serviceSelector,
    overlaps: [],
  };
}

/**
 * Fill `overlaps` on every pool (other pools by name, with the first shared range in address order)
 * and link the family spaces that share addresses. A sweep over all intervals sorted by start, so
 * many pools with many entries cost O(N log N + overlapping pairs), not O(N^2).
 */
export function linkOverlaps(pools: readonly CompiledPool[]): void {
  for (const p of pools) p.overlaps = [];
  const all: Array<{ pool: CompiledPool; iv: IPInterval }> = [];
  for (const pool of pools) for (const iv of pool.intervals) all.push({ pool, iv });
  all.sort((a, b) =>
    a.iv.family !== b.iv.family
      ? a.iv.family - b.iv.family
      : a.iv.start < b.iv.start
        ? -1
        : a.iv.start > b.iv.start
          ? 1
          : 0,
  );
  const seen = new Map<string, { a: CompiledPool; b: CompiledPool; range: string; families: Set<4 | 6> }>();
  let active: Array<{ pool: CompiledPool; iv: IPInterval }> = [];
  for (const cur of all) {
    active = active.filter((x) => x.iv.family === cur.iv.family && x.iv.end >= cur.iv.start);
    for (const x of active) {
      if (x.pool === cur.pool) continue;
      const [a, b] = x.pool.name < cur.pool.name ? [x.pool, cur.pool] : [cur.pool, x.pool];
      const pairKey = JSON.stringify([a.name, b.name]);
      let pair = seen.get(pairKey);
      if (!pair) {
        // Sorted by start: the first meeting of two pools is their lowest shared range.
        const shared = intersection(x.iv, cur.iv)!;
        pair = { a, b, range: formatInterval(shared), families: new Set() };
        seen.set(pairKey, pair);
      }
      pair.families.add(cur.iv.family);
    }
    active.push(cur);
  }
  for (const { a, b, range, families } of seen.values()) {
    a.overlaps.push({ pool: b.name, range });
    b.overlaps.push({ pool: a.name, range });
    for (const fam of families) {
      const sa = fam === 4 ? a.v4 : a.v6;
      const sb = fam === 4 ? b.v4 : b.v6;
      if (sa && sb) {
        sa.overlapping.push(sb);
        sb.overlapping.push(sa);
      }
    }
  }
  for (const p of pools) p.overlaps.sort((x, y) => (x.pool < y.pool ? -1 : x.pool > y.pool ? 1 : 0));
}

/**
 * Do the pool's allocation rules admit this Service? A pool without rules admits everyone. The
 * namespace rules (the `namespaces` list and `namespaceSelector`) are alternatives: either one
 * admitting the namespace is enough (MetalLB merges both into one namespace set the same way);
 * `serviceSelector`, when set, must match as well.
 */
export function rulesAdmit(
  pool: CompiledPool,
  namespace: string,
  serviceLabels: Labels | undefined,
  namespaceLabels: Labels | undefined,
): boolean {
  return namespaceAdmitted(pool, namespace, namespaceLabels) && serviceAdmitted(pool, serviceLabels);
}

function namespaceAdmitted(
  pool: CompiledPool,
  namespace: string,
  namespaceLabels: Labels | undefined,
): boolean {
  if (pool.namespaces === null && pool.namespaceSelector === null) return true;
  if (pool.namespaces?.has(namespace)) return true;
  return pool.namespaceSelector !== null && matchesSelector(pool.namespaceSelector, namespaceLabels);
}

function serviceAdmitted(pool: CompiledPool, serviceLabels: Labels | undefined): boolean {
  return pool.serviceSelector === null || matchesSelector(pool.serviceSelector, serviceLabels);
}

/** Why the rules refuse (for messages). */
export function rulesRefusal(
  pool: CompiledPool,
  namespace: string,
  serviceLabels: Labels | undefined,
  namespaceLabels: Labels | undefined,
): string {
  if (!namespaceAdmitted(pool, namespace, namespaceLabels)) {
    const parts: string[] = [];
    if (pool.namespaces !== null) parts.push(`namespaces ${[...pool.namespaces].sort().join(', ')}`);
    if (pool.namespaceSelector !== null) parts.push('namespaces matching its namespaceSelector');
    return `pool ${pool.name} only serves ${parts.join(' and ')}, not ${namespace}`;
  }
  if (!serviceAdmitted(pool, serviceLabels)) {
    return `pool ${pool.name}'s serviceSelector does not match this Service`;
  }
  return `pool ${pool.name} admits this Service`;
}

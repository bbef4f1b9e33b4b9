// An IPAddressPool spec compiled for allocation: parsed entries, per-family spaces, the selection
// rules, and what is wrong with it. A pool with any error is Invalid and serves no new allocation
// (half-applying a pool the user got wrong would hand out addresses they did not mean to give).
import {
  formatInterval,
  type IPInterval,
  intersection,
  mergeIntervals,
  overlaps,
  parseAddressEntry,
} from '../../lib/net/index.ts';
import { type LabelSelector, type Labels, matchesSelector, selectorErrors } from './selector.ts';
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

/** Fill `overlaps` on every pool and link overlapping family spaces (pools given sorted by name). */
export function linkOverlaps(pools: readonly CompiledPool[]): void {
  for (const p of pools) p.overlaps = [];
  for (let i = 0; i < pools.length; i++) {
    for (let j = i + 1; j < pools.length; j++) {
      const a = pools[i]!;
      const b = pools[j]!;
      let shared: IPInterval | null = null;
      for (const x of a.intervals) {
        for (const y of b.intervals) {
          shared = intersection(x, y);
          if (shared) break;
        }
        if (shared) break;
      }
      if (!shared) continue;
      const range = formatInterval(shared);
      a.overlaps.push({ pool: b.name, range });
      b.overlaps.push({ pool: a.name, range });
      for (const f of ['v4', 'v6'] as const) {
        const sa = a[f];
        const sb = b[f];
        const fam = f === 'v4' ? 4 : 6;
        if (
          sa &&
          sb &&
          a.intervals.some((x) => x.family === fam && b.intervals.some((y) => overlaps(x, y)))
        ) {
          sa.overlapping.push(sb);
          sb.overlapping.push(sa);
        }
      }
    }
  }
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

// The allocation policy of Portico, pure: which addresses a LoadBalancer Service gets, keeps, shares
// and gives back. No Kubernetes client, no I/O, no clock: the reconciler feeds it pools and Services
// and writes back what it answers. Same calls in the same order → same answers.
//
// State: the compiled pools (each with one FamilySpace per family holding the used indexes), the
// Services' records, and one Holding per address in use listing the Services on it (several only
// when they share it through allow-shared-ip). An address held by anyone is marked used in every
// pool space that contains it, so overlapping pools never hand it out twice, and it stays marked as
// long as it is held, whatever happens to the pools (no IP churn: see docs/decisions/030-*.md).
import { type Family, formatIP, parseIP } from '../../lib/net/index.ts';
import { type CompiledPool, compilePool, linkOverlaps, rulesAdmit, rulesRefusal } from './pool.ts';
import type { FamilySpace, Index } from './space.ts';
import type {
  AllocationResult,
  AllocatorOptions,
  Assignment,
  FailureReason,
  FamilyStats,
  PoolInput,
  PoolReport,
  RestoreEntry,
  RestoreReport,
  ServiceRequest,
  SetPoolsReport,
} from './types.ts';

type Mode = 'single' | 'prefer' | 'require';

interface Requested {
  text: string;
  value: bigint;
}

/** What decides whether two Services may share an address. */
interface SharingParams {
  key: string;
  sharingKey: string;
  backendKey: string;
  ports: readonly string[];
}

/** The parts of a request that never fail to parse. */
interface BaseParams extends SharingParams {
  namespace: string;
  createdAt: number;
  labels: Record<string, string> | undefined;
  namespaceLabels: Record<string, string> | undefined;
}

interface Params extends BaseParams {
  /** Wanted families, primary first. */
  families: Family[];
  mode: Mode;
  requested: ReadonlyMap<Family, Requested>;
  pool: string | null;
}

interface Holding {
  text: string;
  family: Family;
  value: bigint | null;
  /** The Services on this address (several only when shared). */
  users: ServiceRecord[];
  /** The first pool space this address is marked in and its index there (null: in no pool)... */
  space: FamilySpace | null;
  index: Index;
  /** ...and further spaces when pools overlap (rare, so not allocated otherwise). */
  more: Array<[FamilySpace, Index]> | null;
  /** The sharing key it is indexed under in sharedByKey ('' = not indexed). */
  indexedKey: string;
}

interface ServiceRecord {
  key: string;
  createdAt: number;
  pool: string | null;
  /** Primary family first. */
  ips: Holding[];
  outOfPool: boolean;
  sharingKey: string;
  backendKey: string;
  ports: readonly string[];
}

type Choice =
  | { ok: true; holding: Holding }
  | { ok: true; holding: null; text: string; value: bigint | null; space: FamilySpace; index: Index }
  | { ok: false; kind: 'missing-family' | 'exhausted' }
  | { ok: false; kind: 'in-use' | 'not-in-pool'; message: string };

type Plan =
  | { ok: true; pool: CompiledPool; picks: Choice[] }
  | { ok: false; reason: FailureReason; message: string };

const FAMILY_NAME: Record<Family, 'IPv4' | 'IPv6'> = { 4: 'IPv4', 6: 'IPv6' };
const NO_REQUESTS: ReadonlyMap<Family, Requested> = new Map();

/** The key the allocator files a Service under (pass it to release, assignment). */
export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function timeOf(t: Date | string | number | undefined): number {
  if (t instanceof Date) return Number.isNaN(t.getTime()) ? Number.POSITIVE_INFINITY : t.getTime();
  if (typeof t === 'number') return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
  }
  return Number.POSITIVE_INFINITY; // unknown age: treated as the newest
}

function canonicalLabels(sel: Record<string, string> | undefined): string {
  return JSON.stringify(Object.entries(sel ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// Most Services expose the same few port sets (TCP/80, TCP/443, …): records share one frozen list
// per set instead of each keeping its own array and strings (bounded, so it cannot grow forever).
const PORT_SETS = new Map<string, readonly string[]>();
const PORT_SETS_MAX = 4096;

function internPorts(ports: string[]): readonly string[] {
  const id = ports.join(',');
  const known = PORT_SETS.get(id);
  if (known) return known;
  if (PORT_SETS.size >= PORT_SETS_MAX) PORT_SETS.clear();
  const frozen = Object.freeze(ports);
  PORT_SETS.set(id, frozen);
  return frozen;
}

function parseBase(req: ServiceRequest): BaseParams {
  const local = req.externalTrafficPolicy === 'Local';
  const list = Array.isArray(req.ports) ? req.ports : [];
  const fresh = list.map((p) => `${String(p?.protocol ?? 'TCP').toUpperCase()}/${p?.port}`);
  if (fresh.length > 1) fresh.sort();
  const ports = internPorts(fresh);
  return {
    key: serviceKey(req.namespace, req.name),
    namespace: req.namespace,
    createdAt: timeOf(req.createdAt),
    labels: req.labels,
    namespaceLabels: req.namespaceLabels,
    sharingKey: typeof req.sharingKey === 'string' ? req.sharingKey.trim() : '',
    // Sharing needs the same backends: Local keeps client IPs and only works when every Service on
    // the IP selects the same pods; Cluster Services can share with any other Cluster Service.
    backendKey: local ? `Local:${canonicalLabels(req.selector)}` : 'Cluster',
    ports,
  };
}

function parseWants(
  req: ServiceRequest,
):
  | { ok: true; families: Family[]; mode: Mode; requested: ReadonlyMap<Family, Requested> }
  | { ok: false; error: string } {
  const reqList = req.requestedIPs ?? [];
  if (!Array.isArray(reqList)) return { ok: false, error: 'requested IPs must be a list' };
  const cleaned = reqList.map((s) => (typeof s === 'string' ? s.trim() : s)).filter((s) => s !== '');
  if (cleaned.length > 2) {
    return { ok: false, error: `at most two requested IPs (one per family), got ${cleaned.length}` };
  }
  // Most Services request nothing: share one empty map instead of allocating one per call.
  const requested: Map<Family, Requested> | ReadonlyMap<Family, Requested> =
    cleaned.length === 0 ? NO_REQUESTS : new Map<Family, Requested>();
  for (const text of cleaned) {
    const p = parseIP(text as string);
    if (!p.ok) return { ok: false, error: `requested IP: ${p.error}` };
    const fam = p.value.family;
    if (requested.has(fam))
      return { ok: false, error: `more than one requested ${FAMILY_NAME[fam]} address` };
    (requested as Map<Family, Requested>).set(fam, {
      text: formatText(fam, p.value.value),
      value: p.value.value,
    });
  }

  const famNames = Array.isArray(req.ipFamilies) ? req.ipFamilies : [];
  const families: Family[] = [];
  for (const f of famNames) {
    const fam: Family | null = f === 'IPv4' ? 4 : f === 'IPv6' ? 6 : null;
    if (fam === null) return { ok: false, error: `spec.ipFamilies: unknown family ${JSON.stringify(f)}` };
    if (families.includes(fam)) return { ok: false, error: `spec.ipFamilies lists ${f} twice` };
    families.push(fam);
  }
  if (families.length === 0) families.push(...(requested.size > 0 ? [...requested.keys()] : [4 as Family]));
  const primary = families[0]!;
  const other: Family = primary === 4 ? 6 : 4;
  const policy = req.ipFamilyPolicy ?? 'SingleStack';
  let mode: Mode;
  let wanted: Family[];
  if (policy === 'SingleStack') {
    mode = 'single';
    wanted = [primary];
  } else if (policy === 'RequireDualStack') {
    mode = 'require';
    wanted = [primary, other];
  } else if (policy === 'PreferDualStack') {
    // Dual only when the Service itself is dual-stack (the apiserver lists both families on a
    // dual-stack cluster): a VIP of a family the cluster does not route would be a dead address.
    mode = families.length === 2 ? 'prefer' : 'single';
    wanted = families.length === 2 ? [primary, other] : [primary];
  } else {
    return { ok: false, error: `spec.ipFamilyPolicy: unknown policy ${JSON.stringify(policy)}` };
  }
  for (const [fam, r] of requested) {
    if (!wanted.includes(fam)) {
      return {
        ok: false,
        error: `requested ${FAMILY_NAME[fam]} address ${r.text} but the Service only wants ${wanted.map((f) => FAMILY_NAME[f]).join(' and ')}`,
      };
    }
  }
  return { ok: true, families: wanted, mode, requested };
}

/** Canonical text of an address: the key of the holdings map, so one address has one spelling. */
function formatText(family: Family, value: bigint): string {
  return formatIP({ family, value });
}

function addMark(h: Holding, space: FamilySpace, index: Index): void {
  if (h.space === null) {
    h.space = space;
    h.index = index;
  } else {
    h.more ??= [];
    h.more.push([space, index]);
  }
}

function indexIn(h: Holding, space: FamilySpace): Index | null {
  if (h.space === space) return h.index;
  for (const [s, i] of h.more ?? []) if (s === space) return i;
  return null;
}

function portsOverlap(a: readonly string[], b: readonly string[]): string | null {
  for (const p of a) if (b.includes(p)) return p;
  return null;
}

function byPriorityThenName(a: CompiledPool, b: CompiledPool): number {
  if (a.priority !== b.priority) return a.priority < b.priority ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function spaceOf(pool: CompiledPool, fam: Family): FamilySpace | null {
  return fam === 4 ? pool.v4 : pool.v6;
}

export class Allocator {
  private readonly reclaimOutOfPool: boolean;
  private pools = new Map<string, CompiledPool>();
  /** Valid pools sorted by name (deterministic iteration). */
  private validPools: CompiledPool[] = [];
  /** autoAssign pools with allocation rules / without, by priority then name. */
  private autoRuled: CompiledPool[] = [];
  private autoOpen: CompiledPool[] = [];
  private readonly services = new Map<string, ServiceRecord>();
  private readonly holdings = new Map<string, Holding>();
  private readonly sharedByKey = new Map<string, Set<Holding>>();

  constructor(opts: AllocatorOptions = {}) {
    this.reclaimOutOfPool = opts.reclaimOutOfPool === true;
  }

  // ---------------------------------------------------------------- pools

  /**
   * Replace the whole set of pools (level-based: pass every IPAddressPool). Held addresses are never
   * released here: they are re-marked in the new pools, Services whose addresses left their pool
   * move to another pool that holds all of them, or are flagged OutOfPool.
   */
  setPools(inputs: readonly PoolInput[]): SetPoolsReport {
    const compiled = inputs
      .map((p) => compilePool(p))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const pools = new Map<string, CompiledPool>();
    for (const p of compiled) {
      const dup = pools.get(p.name);
      if (dup) {
        dup.valid = false;
        dup.errors.push('two pools with the same name');
        continue;
      }
      pools.set(p.name, p);
    }
    this.pools = pools;
    this.validPools = [...pools.values()].filter((p) => p.valid);
    this.autoRuled = this.validPools.filter((x) => x.autoAssign && x.hasRules).sort(byPriorityThenName);
    this.autoOpen = this.validPools.filter((x) => x.autoAssign && !x.hasRules).sort(byPriorityThenName);
    linkOverlaps([...pools.values()]);

    for (const h of this.holdings.values()) {
      this.valueOf(h); // from the old space's arithmetic, cheaper than parsing the text
      h.space = null;
      h.more = null;
      this.markEverywhere(h);
    }
    const changed: string[] = [];
    for (const rec of this.services.values()) {
      const before = `${rec.pool}|${rec.outOfPool}`;
      this.placeRecord(rec, rec.pool);
      if (`${rec.pool}|${rec.outOfPool}` !== before) changed.push(rec.key);
    }
    return { pools: this.poolReports(), changed: changed.sort() };
  }

  poolReports(): PoolReport[] {
    return [...this.pools.keys()].sort().map((n) => this.poolReport(n)!);
  }

  poolReport(name: string): PoolReport | null {
    const p = this.pools.get(name);
    if (!p) return null;
    const stats = (s: FamilySpace | null): FamilyStats | null =>
      s === null
        ? null
        : { total: s.total, assigned: BigInt(s.assigned), available: s.total - BigInt(s.assigned) };
    let outOfPool = 0;
    for (const rec of this.services.values()) if (rec.pool === name && rec.outOfPool) outOfPool++;
    return {
      name,
      valid: p.valid,
      errors: [...p.errors],
      warnings: [...p.warnings],
      overlaps: p.overlaps.map((o) => ({ ...o })),
      IPv4: stats(p.v4),
      IPv6: stats(p.v6),
      outOfPool,
    };
  }

  // ---------------------------------------------------------------- queries

  assignment(key: string): Assignment | null {
    const rec = this.services.get(key);
    return rec ? this.toAssignment(rec) : null;
  }

  /** Every Service holding addresses, sorted by key. */
  assignments(): Assignment[] {
    return [...this.services.keys()].sort().map((k) => this.toAssignment(this.services.get(k)!));
  }

  /** Services holding an address (several when shared), sorted. */
  holdersOf(ip: string): string[] {
    const p = parseIP(ip);
    if (!p.ok) return [];
    const h = this.holdings.get(formatText(p.value.family, p.value.value));
    return h ? h.users.map((u) => u.key).sort() : [];
  }

  // ---------------------------------------------------------------- allocation

  /**
   * Make the Service hold what it asks for, level-based: call it on every reconcile. An existing
   * assignment is kept unless the Service asks for something it does not satisfy (another requested
   * IP or pool, other families, sharing that is no longer compatible) or it is out of pool and
   * reclaimOutOfPool is on. A failed call keeps what the Service held when that is still valid
   * (InvalidAnnotation, OutOfPool, a dual-stack upgrade that cannot be met).
   */
  allocate(req: ServiceRequest): AllocationResult {
    const base = parseBase(req);
    const rec = this.services.get(base.key);
    const before = rec ? this.snapshotOf(rec) : null;
    const wants = parseWants(req);
    if (!wants.ok) return this.result(base.key, before, [], 'InvalidAnnotation', wants.error);
    const p: Params = {
      key: base.key,
      namespace: base.namespace,
      createdAt: base.createdAt,
      labels: base.labels,
      namespaceLabels: base.namespaceLabels,
      sharingKey: base.sharingKey,
      backendKey: base.backendKey,
      ports: base.ports,
      families: wants.families,
      mode: wants.mode,
      requested: wants.requested,
      pool: typeof req.pool === 'string' && req.pool.trim() !== '' ? req.pool.trim() : null,
    };
    if (!rec) return this.allocateFresh(p, null, []);

    // Does the Service explicitly ask for something its assignment does not give?
    let move: string | null = null;
    for (const [fam, r] of p.requested) {
      const held = rec.ips.find((h) => h.family === fam);
      if (held ? held.text !== r.text : rec.outOfPool || !this.poolContains(rec.pool, fam, r.value)) {
        move = 'requested IPs changed';
      }
    }
    if (p.pool !== null && rec.pool !== p.pool) move = 'address-pool annotation changed';
    // New ports or sharing settings that clash with the co-holders of an address: this Service
    // moves (it changed; the others keep what they have).
    if (move === null) {
      for (const h of rec.ips) if (this.conflictWith(h, p) !== null) move = 'sharing no longer compatible';
    }
    if (move === null && rec.outOfPool) {
      if (this.reclaimOutOfPool) {
        move = 'out of pool';
      } else {
        this.applyParams(rec, p);
        return this.result(rec.key, before, [], 'OutOfPool', this.outOfPoolMessage(rec));
      }
    }
    if (move !== null) {
      const released = this.releaseRecord(rec);
      return this.allocateFresh(p, before, released);
    }

    this.applyParams(rec, p);
    const unwanted = rec.ips.filter((h) => !p.families.includes(h.family));
    const missing = p.families.filter((f) => !rec.ips.some((h) => h.family === f));
    if (unwanted.length === 0 && missing.length === 0) {
      this.sortIps(rec, p.families);
      return this.result(rec.key, before, []);
    }

    // Families changed (e.g. SingleStack → PreferDualStack): add from the same pool when possible.
    const pool = rec.pool !== null ? this.pools.get(rec.pool) : undefined;
    const adds: Choice[] = [];
    for (const f of missing) {
      const pick = pool?.valid
        ? this.pickInPool(pool, f, p.requested.get(f) ?? null, p)
        : ({ ok: false, kind: 'missing-family' } as Choice);
      if (pick.ok) adds.push(pick);
    }
    const keptFamilies = rec.ips.filter((h) => p.families.includes(h.family)).map((h) => h.family);
    const got = new Set<Family>([...keptFamilies, ...adds.map((a) => this.familyOfPick(a))]);
    const satisfied =
      [...p.requested.keys()].every((f) => got.has(f)) &&
      (p.mode === 'require' ? got.size === 2 : p.mode === 'single' ? got.has(p.families[0]!) : got.size > 0);
    if (satisfied) {
      const released = this.releaseSome(rec, unwanted);
      for (const a of adds) rec.ips.push(this.commitPick(a, rec));
      this.sortIps(rec, p.families);
      return this.result(rec.key, before, released);
    }
    // Not possible in the current pool: a fresh allocation, planned after letting go of the old
    // addresses (so they count as free for this Service and no plan points at a stale holding);
    // on failure the still-wanted old addresses are taken back, nobody can have taken them since.
    const kept = rec.ips
      .filter((h) => p.families.includes(h.family))
      .map((h): Requested => ({ text: h.text, value: this.valueOf(h) }));
    const oldPool = rec.pool;
    const released = this.releaseRecord(rec);
    const plan = this.plan(p);
    if (plan.ok) return this.commitPlan(p, plan, before, released);
    if (kept.length > 0) {
      const back: ServiceRecord = {
        key: p.key,
        createdAt: p.createdAt,
        pool: null,
        ips: [],
        outOfPool: false,
        sharingKey: p.sharingKey,
        backendKey: p.backendKey,
        ports: p.ports,
      };
      for (const r of kept) back.ips.push(this.holdValue(r, back));
      this.services.set(back.key, back);
      this.sortIps(back, p.families);
      this.placeRecord(back, oldPool);
    }
    return this.result(p.key, before, released, plan.reason, plan.message);
  }

  /** Forget the Service (deleted, no longer LoadBalancer, other class). Returns the IPs it held. */
  release(key: string): string[] {
    const rec = this.services.get(key);
    return rec ? this.releaseRecord(rec) : [];
  }

  /**
   * Take back existing assignments (from Service status and the allocated-from-pool annotation)
   * before anything new is allocated. Older Services first (creationTimestamp, then key), so when two
   * non-sharing Services claim one address the older keeps it and the newer is reported to be
   * reallocated. Restored addresses outside every pool are kept, flagged OutOfPool.
   */
  restore(entries: readonly RestoreEntry[]): RestoreReport {
    const report: RestoreReport = { restored: [], conflicts: [], outOfPool: [], invalid: [] };
    const sorted = entries
      .map((e) => ({ e, base: parseBase(e.service) }))
      .sort((a, b) =>
        a.base.createdAt !== b.base.createdAt
          ? a.base.createdAt < b.base.createdAt
            ? -1
            : 1
          : a.base.key < b.base.key
            ? -1
            : a.base.key > b.base.key
              ? 1
              : 0,
      );
    for (const { e, base } of sorted) {
      const existing = this.services.get(base.key);
      if (existing) this.releaseRecord(existing);
      const ips: Requested[] = [];
      const fams = new Set<Family>();
      for (const text of Array.isArray(e.ips) ? e.ips : []) {
        const p = parseIP(typeof text === 'string' ? text.trim() : text);
        if (!p.ok) {
          report.invalid.push({ key: base.key, ip: String(text), error: p.error });
          continue;
        }
        if (fams.has(p.value.family)) {
          report.invalid.push({
            key: base.key,
            ip: String(text),
            error: 'second address of the same family',
          });
          continue;
        }
        fams.add(p.value.family);
        ips.push({ text: formatText(p.value.family, p.value.value), value: p.value.value });
      }
      if (ips.length === 0) continue;
      let conflict: RestoreReport['conflicts'][number] | null = null;
      for (const r of ips) {
        const h = this.holdings.get(r.text);
        const why = h ? this.conflictWith(h, base) : null;
        if (h && why !== null) {
          conflict = { key: base.key, ip: r.text, heldBy: h.users.map((u) => u.key).sort(), message: why };
          break;
        }
      }
      if (conflict) {
        report.conflicts.push(conflict);
        continue;
      }
      const rec: ServiceRecord = {
        key: base.key,
        createdAt: base.createdAt,
        pool: null,
        ips: [],
        outOfPool: false,
        sharingKey: base.sharingKey,
        backendKey: base.backendKey,
        ports: base.ports,
      };
      for (const r of ips) rec.ips.push(this.holdValue(r, rec));
      this.services.set(rec.key, rec);
      // The order stays as found in the status: restoring must not rewrite it.
      this.placeRecord(rec, typeof e.pool === 'string' && e.pool !== '' ? e.pool : null);
      report.restored.push(rec.key);
      if (rec.outOfPool) report.outOfPool.push(rec.key);
    }
    return report;
  }

  // ---------------------------------------------------------------- internals: choosing

  private allocateFresh(p: Params, before: Snapshot | null, released: string[]): AllocationResult {
    const plan = this.plan(p);
    if (!plan.ok) return this.result(p.key, before, released, plan.reason, plan.message);
    return this.commitPlan(p, plan, before, released);
  }

  private commitPlan(
    p: Params,
    plan: Extract<Plan, { ok: true }>,
    before: Snapshot | null,
    released: string[],
  ): AllocationResult {
    const rec: ServiceRecord = {
      key: p.key,
      createdAt: p.createdAt,
      pool: plan.pool.name,
      ips: [],
      outOfPool: false,
      sharingKey: p.sharingKey,
      backendKey: p.backendKey,
      ports: p.ports,
    };
    for (const pick of plan.picks) rec.ips.push(this.commitPick(pick, rec));
    this.sortIps(rec, p.families);
    this.services.set(rec.key, rec);
    return this.result(rec.key, before, released);
  }

  /** Pools to try, in order, or why there are none. */
  private candidates(
    p: Params,
  ): { ok: true; pools: CompiledPool[] } | { ok: false; reason: FailureReason; message: string } {
    const admits = (pool: CompiledPool) => rulesAdmit(pool, p.namespace, p.labels, p.namespaceLabels);
    const refusal = (pool: CompiledPool) => rulesRefusal(pool, p.namespace, p.labels, p.namespaceLabels);
    if (p.pool !== null) {
      const pool = this.pools.get(p.pool);
      if (!pool)
        return {
          ok: false,
          reason: 'NoMatchingPool',
          message: `pool ${p.pool} (address-pool annotation) does not exist`,
        };
      if (!pool.valid) {
        return {
          ok: false,
          reason: 'NoMatchingPool',
          message: `pool ${p.pool} is invalid: ${pool.errors.join('; ')}`,
        };
      }
      if (!admits(pool)) return { ok: false, reason: 'NoMatchingPool', message: refusal(pool) };
    }
    if (p.requested.size > 0) {
      const reqs = [...p.requested.entries()];
      const containing = this.validPools.filter(
        (pool) =>
          (p.pool === null || pool.name === p.pool) &&
          reqs.every(([fam, r]) => spaceOf(pool, fam)?.indexOf(r.value) != null),
      );
      if (containing.length === 0) {
        return { ok: false, reason: 'RequestedIPNotInPool', message: this.notInPoolMessage(p, reqs) };
      }
      const eligible = containing.filter(admits).sort(byPriorityThenName);
      if (eligible.length === 0) {
        const ips = reqs.map(([, r]) => r.text).join(' and ');
        return {
          ok: false,
          reason: 'RequestedIPNotInPool',
          message: `${ips} lies in pool ${containing[0]!.name}, but ${refusal(containing[0]!)}`,
        };
      }
      return { ok: true, pools: eligible };
    }
    if (p.pool !== null) return { ok: true, pools: [this.pools.get(p.pool)!] };
    // Pools with matching rules first, then open pools; both lists are pre-sorted in setPools.
    const ruled = this.autoRuled.filter(admits);
    const pools = ruled.length === 0 ? this.autoOpen : [...ruled, ...this.autoOpen];
    if (pools.length === 0) {
      return {
        ok: false,
        reason: 'NoMatchingPool',
        message:
          this.validPools.length === 0
            ? 'no valid IPAddressPool exists'
            : `no IPAddressPool serves this Service: no autoAssign pool admits namespace ${p.namespace} (pools with autoAssign: false need the address-pool annotation or a requested IP)`,
      };
    }
    return { ok: true, pools };
  }

  private notInPoolMessage(p: Params, reqs: Array<[Family, Requested]>): string {
    const scope = p.pool !== null ? [this.pools.get(p.pool)!] : this.validPools;
    for (const [fam, r] of reqs) {
      const inSome = scope.filter((pool) => spaceOf(pool, fam)?.indexOf(r.value) != null);
      if (inSome.length === 0) {
        const excluded = scope.find((pool) => spaceOf(pool, fam)?.covers(r.value));
        if (excluded) return `requested IP ${r.text} is excluded by avoidBuggyIPs in pool ${excluded.name}`;
        return p.pool !== null
          ? `requested IP ${r.text} is not in pool ${p.pool}`
          : `requested IP ${r.text} is not in any valid IPAddressPool`;
      }
    }
    return `requested IPs ${reqs.map(([, r]) => r.text).join(' and ')} are not in one pool`;
  }

  /** Choose the pool and the addresses, committing nothing. */
  private plan(p: Params): Plan {
    const cands = this.candidates(p);
    if (!cands.ok) return cands;
    const pools = cands.pools;
    const [primary, secondary] = p.families as [Family, Family | undefined];
    const requestedFams = [...p.requested.keys()];
    const sets: Family[][] = [];
    if (p.mode === 'single') sets.push([primary]);
    else {
      sets.push([primary, secondary!]);
      if (p.mode === 'prefer') {
        if (requestedFams.every((f) => f === primary)) sets.push([primary]);
        if (requestedFams.every((f) => f === secondary)) sets.push([secondary!]);
      }
    }
    let inUse: string | null = null;
    for (const fams of sets) {
      for (const pool of pools) {
        const picks: Choice[] = [];
        let failed = false;
        for (const f of fams) {
          const pick = this.pickInPool(pool, f, p.requested.get(f) ?? null, p);
          if (!pick.ok) {
            if (pick.kind === 'in-use') inUse ??= pick.message;
            failed = true;
            break;
          }
          picks.push(pick);
        }
        if (!failed) return { ok: true, pool, picks };
      }
    }
    const names = pools.map((x) => x.name).join(', ');
    if (inUse !== null) return { ok: false, reason: 'RequestedIPInUse', message: inUse };
    const has = (pool: CompiledPool, f: Family) => (spaceOf(pool, f)?.total ?? 0n) > 0n;
    if (p.mode === 'require') {
      if (!pools.some((x) => has(x, 4) && has(x, 6))) {
        return {
          ok: false,
          reason: 'DualStackUnavailable',
          message: `RequireDualStack needs IPv4 and IPv6 from one pool, and no eligible pool (${names}) has both`,
        };
      }
      return {
        ok: false,
        reason: 'PoolExhausted',
        message: `no eligible pool (${names}) has a free IPv4 and IPv6 pair`,
      };
    }
    const wantedFams = p.mode === 'single' ? [primary] : [primary, secondary!];
    const fnames = wantedFams.map((f) => FAMILY_NAME[f]).join(' or ');
    if (!pools.some((x) => wantedFams.some((f) => has(x, f)))) {
      return {
        ok: false,
        reason: 'NoMatchingPool',
        message: `no eligible pool (${names}) has ${fnames} addresses`,
      };
    }
    return {
      ok: false,
      reason: 'PoolExhausted',
      message: `no free ${fnames} address in eligible pools (${names})`,
    };
  }

  /** One address of family fam in pool: the requested one, a compatible shared one, or the lowest free. */
  private pickInPool(pool: CompiledPool, fam: Family, req: Requested | null, p: BaseParams): Choice {
    const space = spaceOf(pool, fam);
    if (space === null || space.total === 0n) return { ok: false, kind: 'missing-family' };
    if (req !== null) {
      const index = space.indexOf(req.value);
      if (index === null) {
        return {
          ok: false,
          kind: 'not-in-pool',
          message: `requested IP ${req.text} is not in pool ${pool.name}`,
        };
      }
      const h = this.holdings.get(req.text);
      if (h) {
        const why = this.conflictWith(h, p);
        return why === null ? { ok: true, holding: h } : { ok: false, kind: 'in-use', message: why };
      }
      return { ok: true, holding: null, text: req.text, value: req.value, space, index };
    }
    if (p.sharingKey !== '') {
      // Services with the same sharing key gather on one address when they can (MetalLB behaves the
      // same way): the lowest compatible address already shared under this key in this pool.
      let best: Holding | null = null;
      let bestIndex: Index = 0;
      for (const h of this.sharedByKey.get(p.sharingKey) ?? []) {
        if (h.family !== fam) continue;
        const index = indexIn(h, space);
        if (index === null || this.conflictWith(h, p) !== null) continue;
        if (best === null || index < bestIndex) {
          best = h;
          bestIndex = index;
        }
      }
      if (best !== null) return { ok: true, holding: best };
    }
    const index = space.firstFree();
    if (index === null) return { ok: false, kind: 'exhausted' };
    return { ok: true, holding: null, text: space.textAt(index), value: null, space, index };
  }

  /** Why p may not use the address h, or null when it may. */
  private conflictWith(h: Holding, p: SharingParams): string | null {
    for (const u of h.users) {
      const k = u.key;
      if (k === p.key) continue;
      if (p.sharingKey === '')
        return `${h.text} is in use by ${k} and this Service has no allow-shared-ip key`;
      if (u.sharingKey === '') return `${h.text} is in use by ${k}, which does not allow sharing`;
      if (u.sharingKey !== p.sharingKey) {
        return `${h.text} is in use by ${k} with sharing key ${JSON.stringify(u.sharingKey)}, not ${JSON.stringify(p.sharingKey)}`;
      }
      if (u.backendKey !== p.backendKey) {
        return `${h.text} is in use by ${k} with other backends (externalTrafficPolicy Local needs the same selector on both; Cluster shares only with Cluster)`;
      }
      const port = portsOverlap(u.ports, p.ports);
      if (port !== null) return `${h.text} is in use by ${k} on the same port ${port}`;
    }
    return null;
  }

  // ---------------------------------------------------------------- internals: holding

  private familyOfPick(pick: Choice): Family {
    if (!pick.ok) throw new Error('unreachable: failed pick');
    return pick.holding !== null ? pick.holding.family : pick.space.family;
  }

  private commitPick(pick: Choice, rec: ServiceRecord): Holding {
    if (!pick.ok) throw new Error('unreachable: committing a failed pick');
    if (pick.holding !== null) {
      this.addUser(pick.holding, rec);
      return pick.holding;
    }
    const h: Holding = {
      text: pick.text,
      family: pick.space.family,
      value: pick.value,
      users: [],
      space: null,
      index: 0,
      more: null,
      indexedKey: '',
    };
    pick.space.mark(pick.index);
    addMark(h, pick.space, pick.index);
    if (pick.space.overlapping.length > 0) {
      // The same address inside overlapping pools must be used there too.
      h.value ??= pick.space.valueAt(pick.index);
      for (const other of pick.space.overlapping) {
        const i = other.indexOf(h.value);
        if (i !== null && other.mark(i)) addMark(h, other, i);
      }
    }
    this.holdings.set(h.text, h);
    this.addUser(h, rec);
    return h;
  }

  private holdValue(r: Requested, rec: ServiceRecord): Holding {
    let h = this.holdings.get(r.text);
    if (!h) {
      const family: Family = r.text.includes(':') ? 6 : 4;
      h = {
        text: r.text,
        family,
        value: r.value,
        users: [],
        space: null,
        index: 0,
        more: null,
        indexedKey: '',
      };
      this.markEverywhere(h);
      this.holdings.set(h.text, h);
    }
    this.addUser(h, rec);
    return h;
  }

  private valueOf(h: Holding): bigint {
    if (h.value === null) {
      if (h.space !== null) h.value = h.space.valueAt(h.index);
      else {
        const p = parseIP(h.text);
        h.value = p.ok ? p.value.value : 0n;
      }
    }
    return h.value;
  }

  private markEverywhere(h: Holding): void {
    if (h.value === null) {
      const p = parseIP(h.text);
      h.value = p.ok ? p.value.value : 0n;
    }
    for (const pool of this.validPools) {
      const space = spaceOf(pool, h.family);
      const i = space?.indexOf(h.value);
      if (space && i != null && space.mark(i)) addMark(h, space, i);
    }
  }

  private addUser(h: Holding, rec: ServiceRecord): void {
    if (!h.users.includes(rec)) h.users.push(rec);
    this.reindex(h);
  }

  private reindex(h: Holding): void {
    const key = h.users[0]?.sharingKey ?? '';
    if (key === h.indexedKey) return;
    if (h.indexedKey !== '') {
      const set = this.sharedByKey.get(h.indexedKey);
      set?.delete(h);
      if (set?.size === 0) this.sharedByKey.delete(h.indexedKey);
    }
    h.indexedKey = key;
    if (key !== '') {
      const set = this.sharedByKey.get(key);
      if (set) set.add(h);
      else this.sharedByKey.set(key, new Set([h]));
    }
  }

  private dropUser(h: Holding, key: string): boolean {
    h.users = h.users.length === 1 && h.users[0]!.key === key ? [] : h.users.filter((u) => u.key !== key);
    if (h.users.length > 0) {
      this.reindex(h);
      return false;
    }
    if (h.space !== null) h.space.unmark(h.index);
    for (const [space, i] of h.more ?? []) space.unmark(i);
    h.space = null;
    h.more = null;
    this.reindex(h);
    this.holdings.delete(h.text);
    return true;
  }

  private releaseRecord(rec: ServiceRecord): string[] {
    const out = rec.ips.map((h) => h.text);
    for (const h of rec.ips) this.dropUser(h, rec.key);
    rec.ips = [];
    this.services.delete(rec.key);
    return out;
  }

  private releaseSome(rec: ServiceRecord, which: Holding[]): string[] {
    for (const h of which) this.dropUser(h, rec.key);
    rec.ips = rec.ips.filter((h) => !which.includes(h));
    return which.map((h) => h.text);
  }

  private applyParams(rec: ServiceRecord, p: BaseParams): void {
    rec.sharingKey = p.sharingKey;
    rec.backendKey = p.backendKey;
    rec.ports = p.ports;
    rec.createdAt = p.createdAt;
    for (const h of rec.ips) this.reindex(h);
  }

  private sortIps(rec: ServiceRecord, families: Family[]): void {
    const rank = (f: Family) => {
      const i = families.indexOf(f);
      return i < 0 ? 9 : i;
    };
    rec.ips.sort((a, b) => rank(a.family) - rank(b.family) || a.family - b.family);
  }

  /** Is the address in this (valid) pool's allocatable space? */
  private poolContains(pool: string | null, fam: Family, value: bigint): boolean {
    const p = pool !== null ? this.pools.get(pool) : undefined;
    return !!p?.valid && spaceOf(p, fam)?.indexOf(value) != null;
  }

  private inPool(rec: ServiceRecord, pool: CompiledPool): boolean {
    return rec.ips.every((h) => {
      const s = h.family === 4 ? pool.v4 : pool.v6;
      return s !== null && indexIn(h, s) !== null;
    });
  }

  /** Settle rec.pool / rec.outOfPool: keep the preferred pool if it holds all IPs, else the first that does. */
  private placeRecord(rec: ServiceRecord, preferred: string | null): void {
    const pref = preferred !== null ? this.pools.get(preferred) : undefined;
    if (pref?.valid && this.inPool(rec, pref)) {
      rec.pool = pref.name;
      rec.outOfPool = false;
      return;
    }
    const home = this.validPools.find((p) => this.inPool(rec, p));
    if (home) {
      rec.pool = home.name;
      rec.outOfPool = false;
      return;
    }
    rec.pool = preferred;
    rec.outOfPool = true;
  }

  private outOfPoolMessage(rec: ServiceRecord): string {
    const ips = rec.ips.map((h) => h.text).join(', ');
    const many = rec.ips.length > 1;
    const pool = rec.pool !== null ? this.pools.get(rec.pool) : undefined;
    const where =
      rec.pool === null
        ? `${ips} ${many ? 'are' : 'is'} in no pool`
        : pool === undefined
          ? `pool ${rec.pool} no longer exists`
          : !pool.valid
            ? `pool ${rec.pool} is invalid (${pool.errors[0] ?? 'see its status'})`
            : `${ips} no longer ${many ? 'lie' : 'lies'} in pool ${rec.pool}`;
    const it = many ? 'them' : 'it';
    return `${where}; the Service keeps ${ips} and no other Service gets ${it} (enable reclaim-out-of-pool to reassign)`;
  }

  // ---------------------------------------------------------------- internals: results

  private snapshotOf(rec: ServiceRecord): Snapshot {
    return { ips: rec.ips.map((h) => h.text), pool: rec.pool };
  }

  private toAssignment(rec: ServiceRecord): Assignment {
    return { key: rec.key, ips: rec.ips.map((h) => h.text), pool: rec.pool, outOfPool: rec.outOfPool };
  }

  private result(
    key: string,
    before: Snapshot | null,
    released: string[],
    reason?: FailureReason,
    message?: string,
  ): AllocationResult {
    const rec = this.services.get(key);
    const ips = rec ? rec.ips.map((h) => h.text) : [];
    const pool = rec ? rec.pool : null;
    const changed =
      before === null
        ? ips.length > 0
        : before.pool !== pool ||
          before.ips.length !== ips.length ||
          before.ips.some((ip, i) => ip !== ips[i]);
    const releasedNow = released.length === 0 ? released : released.filter((ip) => !ips.includes(ip));
    if (reason === undefined) return { ok: true, ips, pool, released: releasedNow, changed };
    return { ok: false, reason, message: message ?? reason, ips, pool, released: releasedNow, changed };
  }
}

interface Snapshot {
  ips: string[];
  pool: string | null;
}

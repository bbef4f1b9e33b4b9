// The projection: cluster state (Gateways, routes, Services, Namespaces, DNSZones) → one ZoneSpec
// per DNSZone, plus what each zone's status and Events should say. Pure and deterministic: the
// same state in any order gives the same specs (the zone table then keeps the serial when nothing
// changed).
//
// Which zone a name lands in: the deepest served zone whose apex contains it, and only if that
// DNSZone selects the source. The server answers a query from the deepest zone too, so a name
// placed in a parent zone would never be seen.

import { matchesSelector } from '../../lib/api/selector.ts';
import type { DNSRecord, DNSZone, LabelSelector } from '../../lib/api/types.ts';
import type { RecordInput, ZoneSpec } from '../zone/spec.ts';
import type { Claim, ClaimOrigin } from './claims.ts';
import { gatewayClaims } from './gateway.ts';
import { isInZone, normalizeHostname } from './hostname.ts';
import { type ServiceNotice, serviceClaims } from './services.ts';
import type { ClusterState } from './types.ts';

export interface ConflictReport {
  /** The contested owner name (absolute, no trailing dot). */
  name: string;
  /** Every source's claim on it; all of them are served. */
  claims: Array<{ source: string; records: string }>;
  message: string;
}

export interface ZoneProjection {
  dnsZone: DNSZone;
  /** Normalized apex. */
  zone: string;
  /** What to serve; undefined when the DNSZone cannot be served (see `invalid`). */
  spec: ZoneSpec | undefined;
  conflicts: ConflictReport[];
  /** Spec problems found here (duplicate zone, bad apex). Record problems come from the builder. */
  invalid: string[];
  /** Names published from each source kind. */
  published: { gateway: number; service: number; static: number };
}

export interface Projection {
  zones: ZoneProjection[];
  /** The specs of every servable zone, in `zones` order: what ZoneTable.update takes. */
  specs: ZoneSpec[];
  serviceNotices: ServiceNotice[];
  /** Gateway / route problems worth logging (e.g. a Gateway address that is not an IP). */
  problems: Array<{ object: string; message: string }>;
}

/** DNSZones in precedence order: oldest first, then by name (two zones with one apex: the first wins). */
function byAge(a: DNSZone, b: DNSZone): number {
  const ta = a.metadata?.creationTimestamp ? String(a.metadata.creationTimestamp) : '';
  const tb = b.metadata?.creationTimestamp ? String(b.metadata.creationTimestamp) : '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/**
 * Absent selector: everything. A namespace not (yet) in the cache has unknown labels: only an
 * empty selector — which selects everything — may match it (a `DoesNotExist` must not).
 */
function optionalSelector(
  sel: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (sel === undefined) return true;
  if (labels === undefined) {
    return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
  }
  return matchesSelector(sel, labels);
}

/** Does this DNSZone take this claim? */
export function zoneSelects(
  z: DNSZone,
  origin: ClaimOrigin,
  nsLabels: (ns: string) => Record<string, string> | undefined,
): boolean {
  const src = z.spec?.sources;
  if (origin.kind === 'service') {
    const s = src?.services;
    if (s?.enabled === false) return false;
    return optionalSelector(s?.namespaceSelector, nsLabels(origin.namespace));
  }
  const g = src?.gateways;
  if (g?.enabled === false) return false;
  const classes = g?.gatewayClassNames;
  const gsel = g?.gatewaySelector;
  if (classes !== undefined || gsel !== undefined) {
    const byClass = classes?.includes(origin.gatewayClassName) === true;
    const byLabels = gsel !== undefined && matchesSelector(gsel, origin.gatewayLabels);
    if (!byClass && !byLabels) return false;
  }
  if (g?.namespaceSelector !== undefined) {
    if (!optionalSelector(g.namespaceSelector, nsLabels(origin.gatewayNamespace))) return false;
    if (!optionalSelector(g.namespaceSelector, nsLabels(origin.routeNamespace))) return false;
  }
  return true;
}

/** Absolute owner of a static record (`@`, relative, or absolute with a trailing dot). */
function staticOwner(name: string, apex: string): string | undefined {
  if (name === '@') return apex;
  if (name.endsWith('.')) return normalizeHostname(name);
  return normalizeHostname(`${name}.${apex}`);
}

function getOrInit<K, V>(m: Map<K, V>, k: K, init: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = init();
    m.set(k, v);
  }
  return v;
}

const ADDRESS_TYPES = new Set(['A', 'AAAA', 'CNAME']);

function describeRecords(records: Array<{ type: string; values: string[] }>): string {
  return records.map((r) => `${r.type} ${r.values.join(',')}`).join('; ');
}

export function project(state: ClusterState): Projection {
  const nsMap = new Map<string, Record<string, string>>();
  for (const n of state.namespaces) if (n.metadata?.name) nsMap.set(n.metadata.name, n.metadata.labels ?? {});
  const nsLabels = (ns: string) => nsMap.get(ns);

  // 1. Which DNSZone serves which apex.
  const zones: ZoneProjection[] = [];
  const active = new Map<string, ZoneProjection>();
  for (const dz of [...state.zones].sort(byAge)) {
    const raw = dz.spec?.zone ?? '';
    const apex = normalizeHostname(raw);
    const zp: ZoneProjection = {
      dnsZone: dz,
      zone: apex ?? raw,
      spec: undefined,
      conflicts: [],
      invalid: [],
      published: { gateway: 0, service: 0, static: 0 },
    };
    zones.push(zp);
    if (apex === undefined || apex.startsWith('*')) {
      zp.invalid.push(`spec.zone "${raw}" is not a zone name`);
      continue;
    }
    const owner = active.get(apex);
    if (owner) {
      zp.invalid.push(
        `zone ${apex} is already served by DNSZone ${owner.dnsZone.metadata?.name ?? '?'} (the older one wins)`,
      );
      continue;
    }
    active.set(apex, zp);
    zp.spec = { zone: apex, records: [] };
    if (dz.spec.ttl !== undefined) zp.spec.ttl = dz.spec.ttl;
    if (dz.spec.soa !== undefined) zp.spec.soa = { ...dz.spec.soa };
    if (dz.spec.nameServers !== undefined) zp.spec.nameServers = [...dz.spec.nameServers];
  }
  const apexes = [...active.keys()];
  const deepestZone = (name: string): ZoneProjection | undefined => {
    let best: string | undefined;
    for (const a of apexes) if (isInZone(name, a) && (best === undefined || a.length > best.length)) best = a;
    return best === undefined ? undefined : active.get(best);
  };

  // 2. Claims from sources, placed in zones.
  const gw = gatewayClaims(state.gateways, state.routes, state.namespaces, state.listenerSets ?? []);
  const svc = serviceClaims(state.services);
  // Per zone, per owner: every source's address records (for conflict detection).
  const owners = new Map<
    ZoneProjection,
    Map<string, Map<string, Array<{ type: string; values: string[] }>>>
  >();
  const note = (
    zp: ZoneProjection,
    owner: string,
    source: string,
    rec: { type: string; values: string[] },
  ) => {
    const m = getOrInit(owners, zp, () => new Map());
    const bySource = getOrInit(m, owner, () => new Map());
    getOrInit(bySource, source, (): Array<{ type: string; values: string[] }> => []).push({
      type: rec.type,
      values: [...rec.values].sort(),
    });
  };
  const place = (c: Claim) => {
    const zp = deepestZone(c.name);
    if (!zp?.spec || !zoneSelects(zp.dnsZone, c.origin, nsLabels)) return;
    for (const r of c.records) {
      zp.spec.records.push({ name: `${c.name}.`, type: r.type, values: [...r.values], source: c.source });
      note(zp, c.name, c.source, r);
    }
    zp.published[c.origin.kind]++;
  };
  for (const c of gw.claims) place(c);
  for (const c of svc.claims) place(c);

  // 3. Static records.
  for (const zp of zones) {
    if (!zp.spec) continue;
    const records: DNSRecord[] = zp.dnsZone.spec.records ?? [];
    records.forEach((r, i) => {
      const source = `DNSZone ${zp.dnsZone.metadata?.name ?? '?'} records[${i}]`;
      const input: RecordInput = { name: r.name, type: r.type, values: [...(r.values ?? [])], source };
      if (r.ttl !== undefined) input.ttl = r.ttl;
      zp.spec!.records.push(input);
      zp.published.static++;
      const owner = staticOwner(r.name, zp.zone);
      if (owner !== undefined && ADDRESS_TYPES.has(r.type)) note(zp, owner, source, input);
    });
  }

  // 4. Conflicts: one owner, several sources, different data. Everything stays served; the
  // zone builder merges A/AAAA sets (and drops a CNAME that sits next to addresses).
  for (const [zp, m] of owners) {
    for (const [owner, bySource] of m) {
      if (bySource.size < 2) continue;
      const sig = (recs: Array<{ type: string; values: string[] }>) => {
        const merged = new Map<string, Set<string>>();
        for (const r of recs) {
          const s = getOrInit(merged, r.type, () => new Set<string>());
          for (const v of r.values) s.add(v);
        }
        return JSON.stringify(
          [...merged].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, s]) => [t, [...s].sort()]),
        );
      };
      const sigs = new Set([...bySource.values()].map(sig));
      if (sigs.size < 2) continue;
      const claims = [...bySource]
        .map(([source, recs]) => ({ source, records: describeRecords(recs) }))
        .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
      zp.conflicts.push({
        name: owner,
        claims,
        message: `${owner}: ${claims.map((c) => `${c.source} (${c.records})`).join(' vs ')}`,
      });
    }
    zp.conflicts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  return {
    zones,
    specs: zones.flatMap((z) => (z.spec ? [z.spec] : [])),
    serviceNotices: svc.notices,
    problems: gw.problems,
  };
}

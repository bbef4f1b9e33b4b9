/**
 * MetalLB → Portico conversion, pure: MetalLB objects as parsed from YAML/JSON (or listed from a
 * cluster) in, Portico objects plus findings out. No I/O, so every rule below is table- and
 * property-tested (test/lib/api/metallb*.test.ts) and shared by `portico migrate metallb`
 * (cli/migrate/) and the controller's opt-in live mirror (controllers/metallb-mirror.ts).
 *
 * What maps exactly (MetalLB v1beta1 semantics, read from its API types and config loader):
 * - IPAddressPool: addresses (CIDRs, ranges, both families), autoAssign, avoidBuggyIPs,
 *   serviceAllocation.priority (MetalLB's 0 means "none"), namespaces, one namespaceSelector, one
 *   serviceSelector. Several selectors are OR-ed in MetalLB; Portico takes one, so a list is merged
 *   into one `In` requirement when every selector tests one value of the same key, else the first is
 *   carried and the rest are reported (narrower, never wider: no Service may draw from a pool
 *   MetalLB would have kept from it).
 * - L2Advertisement: ipAddressPools, ipAddressPoolSelectors, nodeSelectors, interfaces. Lists of
 *   selectors become several Portico L2Advertisements (one per pool-selector × node-selector pair):
 *   the speaker adds advertisements up, so the union is exact and stays live.
 * - BGPPeer (v1beta2; v1beta1 as MetalLB converts it): myASN (or v0.16's localASN), peerASN /
 *   dynamicASN, peerAddress, peerPort, sourceAddress, MetalLB's timer rules (keepalive alone means
 *   hold = 3 × keepalive), connectTime, routerID, nodeSelectors, passwordSecret (Portico's speaker
 *   reads it only in its own namespace: a finding says what to copy), enableGracefulRestart,
 *   ebgpMultiHop. A plain `password` is never copied: passwordSecret names a Secret to create.
 *   No equivalent: `interface` (unnumbered) and `vrf` (the peer is not carried), `bfdProfile`,
 *   `disableMP` (warnings), `dualStackAddressFamily` (what Portico does anyway: a note).
 * - BGPAdvertisement: every field; communities that name a Community alias are resolved from the
 *   MetalLB Community objects in the input (alias first, as MetalLB does).
 * - Labels of MetalLB objects are copied (L2Advertisement pool selectors match pool labels), the
 *   origin is recorded in the `portico.dev/metallb-source` annotation, and a label says who made the
 *   object (`portico.dev/migrated-from` by the CLI, `portico.dev/mirrored-from` by the mirror).
 * Everything else is a finding naming the object and field: fields Portico lacks, input MetalLB
 * itself would reject, BFD profiles. Nothing is dropped silently.
 */

import {
  containsIP,
  formatInterval,
  type IPInterval,
  mergeIntervals,
  parseAddressEntry,
  parseIP,
} from '../net/index.ts';
import { resolveAnnotation } from './annotations.ts';
import {
  checkAdvertisement,
  checkAggregation,
  checkPeer,
  formatCommunity,
  parseCommunity,
  parseDuration,
  UNIT_SECONDS,
} from './bgp.ts';
import { MAX_ENTRY_LENGTH, MAX_POOL_ENTRIES } from './crds/ipaddresspool.ts';
import { API_VERSION, KINDS, LOAD_BALANCER_CLASS } from './group.ts';
import { matchesSelector } from './selector.ts';
import type {
  BGPAdvertisement,
  BGPAdvertisementSpec,
  BGPPeer,
  BGPPeerSpec,
  DynamicASN,
  IPAddressPool,
  IPAddressPoolAllocation,
  L2Advertisement,
  L2AdvertisementSpec,
  LabelSelector,
  LabelSelectorRequirement,
  SecretReference,
} from './types.ts';
import { DEFAULTS } from './types.ts';

export const METALLB_GROUP = 'metallb.io';
/** Annotation on every converted object: `<Kind> <namespace>/<name>` of its MetalLB source. */
export const SOURCE_ANNOTATION = 'portico.dev/metallb-source';
/** Label on objects printed by `portico migrate metallb` (the user owns them once applied). */
export const MIGRATED_LABEL = 'portico.dev/migrated-from';
/** Label on objects the controller mirrors; it only ever updates or deletes objects carrying it. */
export const MIRRORED_LABEL = 'portico.dev/mirrored-from';
export const METALLB_LABEL_VALUE = 'metallb';

/** MetalLB's own status objects: nothing to carry. */
const STATUS_KINDS = ['ServiceL2Status', 'ServiceBGPStatus', 'ConfigurationState'];

const POOL_SPEC_FIELDS = ['addresses', 'autoAssign', 'avoidBuggyIPs', 'serviceAllocation'];
const ALLOCATION_FIELDS = ['priority', 'namespaces', 'namespaceSelectors', 'serviceSelectors'];
const L2_SPEC_FIELDS = [
  'ipAddressPools',
  'ipAddressPoolSelectors',
  'nodeSelectors',
  'interfaces',
  'serviceSelectors',
  'preferredNodeSelectors',
];
/** Portico CRD limits (lib/api/crds/*): beyond them the apiserver would reject the object. */
const MAX_NAMESPACES = 64;
const MAX_POOL_NAMES = 64;
const MAX_INTERFACES = 32;
const MAX_SPLIT = 64;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const INTERFACE_NAME = /^[^/:\s]+$/;

export type FindingLevel = 'warning' | 'note';

/**
 * Something the conversion could not carry as is. `warning`: behaviour changes or a field is lost;
 * `note`: an equivalent rewrite or a difference that rarely matters (kept out of Events).
 */
export interface Finding {
  level: FindingLevel;
  /** `IPAddressPool/default`, or '' for findings about the input as a whole. */
  object: string;
  /** `spec.avoidBuggyIPs`, or '' for the whole object. */
  field: string;
  message: string;
  /** The source object this finding is about (namespace/name), for Events. */
  source?: SourceRef;
}

export interface SourceRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** `IPAddressPool/default spec.avoidBuggyIPs: message`. */
export function formatFinding(f: Finding): string {
  const where = [f.object, f.field].filter((s) => s !== '').join(' ');
  return where === '' ? f.message : `${where}: ${f.message}`;
}

/** What became of one MetalLB object. */
export interface SourceResult extends SourceRef {
  /** Portico objects made from it (`IPAddressPool/x`, `L2Advertisement/y`). */
  outputs: string[];
  /** Why it was not carried at all (invalid input, name clash), or null. */
  notCarried: string | null;
}

export interface ConversionResult {
  pools: IPAddressPool[];
  l2Advertisements: L2Advertisement[];
  bgpPeers: BGPPeer[];
  bgpAdvertisements: BGPAdvertisement[];
  findings: Finding[];
  /** One entry per MetalLB IPAddressPool / L2Advertisement / BGPPeer / BGPAdvertisement in the input. */
  sources: SourceResult[];
}

export interface ConvertOptions {
  /** Who makes the objects: the CLI (`migrate`, default) or the controller's live mirror. */
  mode?: 'migrate' | 'mirror';
  /**
   * The namespace Portico runs in (where its speaker reads password Secrets). A BGPPeer's
   * passwordSecret in another namespace gets a warning saying what to copy; unknown = always.
   */
  porticoNamespace?: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Flatten list documents into their items: `kind: List` (what `kubectl get -o yaml` prints) and
 * typed lists like `IPAddressPoolList` (the raw API answer), whose items carry no apiVersion/kind:
 * those are taken from the list.
 */
export function flattenLists(docs: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const d of docs) {
    if (isObject(d) && typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items)) {
      const itemKind = d.kind === 'List' ? undefined : d.kind.slice(0, -'List'.length);
      const items = d.items.map((it) =>
        itemKind && isObject(it) && it.kind === undefined
          ? { apiVersion: d.apiVersion, kind: itemKind, ...it }
          : it,
      );
      out.push(...flattenLists(items));
    } else if (d !== null && d !== undefined) {
      out.push(d);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Label selectors

/** Problems that make a selector unusable (MetalLB rejects such a selector too). */
export function selectorProblem(sel: unknown): string | null {
  if (!isObject(sel)) return 'must be a label selector object';
  for (const k of Object.keys(sel)) {
    if (k !== 'matchLabels' && k !== 'matchExpressions') return `unknown selector field ${k}`;
  }
  if (sel.matchLabels !== undefined) {
    if (!isObject(sel.matchLabels)) return 'matchLabels must be a map of strings';
    for (const v of Object.values(sel.matchLabels))
      if (typeof v !== 'string') return 'matchLabels values must be strings';
  }
  if (sel.matchExpressions !== undefined) {
    if (!Array.isArray(sel.matchExpressions)) return 'matchExpressions must be a list';
    for (const [i, r] of sel.matchExpressions.entries()) {
      if (!isObject(r) || typeof r.key !== 'string' || r.key === '')
        return `matchExpressions[${i}]: key is required`;
      const values = r.values ?? [];
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))
        return `matchExpressions[${i}]: values must be a list of strings`;
      if (r.operator === 'In' || r.operator === 'NotIn') {
        if (values.length === 0) return `matchExpressions[${i}]: ${r.operator} needs values`;
      } else if (r.operator === 'Exists' || r.operator === 'DoesNotExist') {
        if (values.length > 0) return `matchExpressions[${i}]: ${r.operator} takes no values`;
      } else {
        return `matchExpressions[${i}]: unknown operator ${JSON.stringify(r.operator)}`;
      }
    }
  }
  return null;
}

/** A clean copy (only the two selector fields, empty parts left out). Input must be valid. */
function cleanSelector(sel: Json): LabelSelector {
  const out: LabelSelector = {};
  const ml = sel.matchLabels as Record<string, string> | undefined;
  if (ml && Object.keys(ml).length > 0) out.matchLabels = { ...ml };
  const me = sel.matchExpressions as LabelSelectorRequirement[] | undefined;
  if (me && me.length > 0) {
    out.matchExpressions = me.map((r) => {
      const req: LabelSelectorRequirement = { key: r.key, operator: r.operator };
      if (r.operator === 'In' || r.operator === 'NotIn') req.values = [...(r.values ?? [])];
      return req;
    });
  }
  return out;
}

/** `key in {values}` when the selector is exactly one such test (matchLabels k=v or `In`), else null. */
function singleKeyIn(sel: LabelSelector): { key: string; values: string[] } | null {
  const ml = Object.entries(sel.matchLabels ?? {});
  const me = sel.matchExpressions ?? [];
  if (ml.length === 1 && me.length === 0) return { key: ml[0]![0], values: [ml[0]![1]] };
  if (ml.length === 0 && me.length === 1 && me[0]!.operator === 'In')
    return { key: me[0]!.key, values: [...(me[0]!.values ?? [])] };
  return null;
}

/**
 * One selector matching exactly what any of `sels` matches, or null when one selector cannot say
 * it. Exact cases: one selector; any empty selector (matches everything); every selector a single
 * `key = v` / `key In (...)` test on the same key (→ one `In` with the union of values).
 */
export function mergeSelectors(sels: readonly LabelSelector[]): LabelSelector | null {
  if (sels.length === 0) return null;
  if (sels.length === 1) return sels[0]!;
  if (
    sels.some((s) => Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0)
  )
    return {};
  const tests = sels.map(singleKeyIn);
  if (tests.some((t) => t === null)) return null;
  const key = tests[0]!.key;
  if (tests.some((t) => t!.key !== key)) return null;
  const values = uniq(tests.flatMap((t) => t!.values)).sort(byString);
  return { matchExpressions: [{ key, operator: 'In', values }] };
}

// ---------------------------------------------------------------------------------------------
// Conversion

interface Source extends SourceRef {
  raw: Json;
  labels: Record<string, string>;
  spec: Json;
  label: string;
}

/** `IPAddressPool metallb-system/default`: the value of SOURCE_ANNOTATION for this source. */
export function sourceRefText(s: Pick<SourceRef, 'kind' | 'namespace' | 'name'>): string {
  return `${s.kind} ${s.namespace === '' ? '' : `${s.namespace}/`}${s.name}`;
}

function objectLabel(kind: string, name: string): string {
  return `${kind}/${name}`;
}

class Collector {
  readonly findings: Finding[] = [];
  add(level: FindingLevel, object: string, field: string, message: string, source?: SourceRef): void {
    const f: Finding = { level, object, field, message };
    // Only the reference: a Source also holds the raw object (and so, for a BGPPeer, possibly a
    // plain-text password), which must never travel with a finding.
    if (source)
      f.source = {
        apiVersion: source.apiVersion,
        kind: source.kind,
        namespace: source.namespace,
        name: source.name,
      };
    this.findings.push(f);
  }
}

function metadataOf(
  s: Source,
  mode: 'migrate' | 'mirror',
): { name: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = {};
  // Copy the source's labels (pool selectors of L2Advertisements match on them), never ours: a
  // MetalLB object cannot make its copy look user-made or mirrored.
  for (const [k, v] of Object.entries(s.labels))
    if (k !== MIGRATED_LABEL && k !== MIRRORED_LABEL) labels[k] = v;
  labels[mode === 'mirror' ? MIRRORED_LABEL : MIGRATED_LABEL] = METALLB_LABEL_VALUE;
  return { name: s.name, labels, annotations: { [SOURCE_ANNOTATION]: sourceRefText(s) } };
}

/** Parse one source's metadata; null (with a finding) when it has no usable name. */
function readSource(doc: Json, index: number, c: Collector): Source | null {
  const apiVersion = str(doc.apiVersion) ?? '';
  const kind = str(doc.kind) ?? '';
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = str(meta.name) ?? '';
  const namespace = str(meta.namespace) ?? '';
  const label = objectLabel(kind, name || `document[${index}]`);
  if (name === '' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    c.add(
      'warning',
      label,
      'metadata.name',
      `${JSON.stringify(name)} is not a valid object name; not carried`,
    );
    return null;
  }
  const labels: Record<string, string> = {};
  if (isObject(meta.labels))
    for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
  const spec = isObject(doc.spec) ? doc.spec : {};
  return { apiVersion, kind, namespace, name, raw: doc, labels, spec, label };
}

/** Selectors list field → valid selectors (a bad one makes the whole object unusable: null). */
function readSelectors(
  v: unknown,
  field: string,
): { ok: true; value: LabelSelector[] } | { ok: false; error: string } {
  if (v === undefined || v === null) return { ok: true, value: [] };
  if (!Array.isArray(v)) return { ok: false, error: `${field}: must be a list of label selectors` };
  const out: LabelSelector[] = [];
  for (const [i, s] of v.entries()) {
    const p = selectorProblem(s);
    if (p) return { ok: false, error: `${field}[${i}]: ${p}` };
    out.push(cleanSelector(s as Json));
  }
  // MetalLB rejects duplicate selectors; identical ones change nothing here, so drop them.
  const seen = new Set<string>();
  return {
    ok: true,
    value: out.filter((s) => {
      const k = JSON.stringify(s);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    }),
  };
}

function readStringList(
  v: unknown,
  field: string,
): { ok: true; value: string[] } | { ok: false; error: string } {
  if (v === undefined || v === null) return { ok: true, value: [] };
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    return { ok: false, error: `${field}: must be a list of strings` };
  return { ok: true, value: v as string[] };
}

/** Pool addresses: Portico-valid entries equal, as a set of addresses, to what MetalLB uses. */
function convertAddresses(
  v: unknown,
  s: Source,
  c: Collector,
): { ok: true; value: string[] } | { ok: false; error: string } {
  if (!Array.isArray(v) || v.length === 0)
    return { ok: false, error: 'spec.addresses: at least one CIDR or range is required' };
  const out: string[] = [];
  const intervals: IPInterval[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of v.entries()) {
    const field = `spec.addresses[${i}]`;
    if (typeof entry !== 'string') return { ok: false, error: `${field}: must be a string` };
    const r = parseAddressEntry(entry);
    if (!r.ok) return { ok: false, error: `${field}: ${r.error}` };
    const text = entry.trim();
    let written = text;
    if (r.value.warning) {
      // MetalLB (Go's net.ParseCIDR) masks host bits silently; Portico's CRD rejects them.
      written = r.value.canonical;
      c.add('note', s.label, field, `${text} has host bits set; MetalLB uses ${written}, written as that`, s);
    } else if (r.value.kind === 'cidr' && !text.includes('/')) {
      written = r.value.canonical;
      c.add('note', s.label, field, `bare address ${text} (MetalLB wants a CIDR); written as ${written}`, s);
    } else if (text.length > MAX_ENTRY_LENGTH) {
      written = formatInterval(r.value.interval);
    }
    const key = formatInterval(r.value.interval);
    if (seen.has(key)) {
      c.add('note', s.label, field, `${text} repeats an earlier entry; written once`, s);
      continue;
    }
    seen.add(key);
    out.push(written);
    intervals.push(r.value.interval);
  }
  if (out.length > MAX_POOL_ENTRIES) {
    const merged = mergeIntervals(intervals).map(formatInterval);
    if (merged.length > MAX_POOL_ENTRIES)
      return {
        ok: false,
        error: `spec.addresses: ${merged.length} disjoint ranges; a Portico pool holds at most ${MAX_POOL_ENTRIES} (split the pool)`,
      };
    c.add(
      'note',
      s.label,
      'spec.addresses',
      `${out.length} entries merged into ${merged.length} ranges (a Portico pool holds at most ${MAX_POOL_ENTRIES})`,
      s,
    );
    return { ok: true, value: merged };
  }
  return { ok: true, value: out };
}

function unknownFields(obj: Json, known: readonly string[], s: Source, prefix: string, c: Collector): void {
  for (const k of Object.keys(obj).sort(byString)) {
    if (!known.includes(k))
      c.add(
        'warning',
        s.label,
        `${prefix}.${k}`,
        'not a field this converter knows (newer MetalLB?); not carried',
        s,
      );
  }
}

/** One selector for a list MetalLB OR-s: merged when exact, else the first (narrower) plus a finding. */
function oneSelector(
  sels: readonly LabelSelector[],
  field: string,
  what: string,
  s: Source,
  c: Collector,
): LabelSelector | undefined {
  if (sels.length === 0) return undefined;
  const merged = mergeSelectors(sels);
  if (merged) {
    if (sels.length > 1)
      c.add('note', s.label, field, `${sels.length} selectors merged into one equivalent selector`, s);
    return merged;
  }
  c.add(
    'warning',
    s.label,
    field,
    `${sels.length} selectors (OR-ed by MetalLB) cannot be one Portico selector; only the first is carried, so ${what} matching only ${sels
      .slice(1)
      .map((x) => JSON.stringify(x))
      .join(' or ')} can no longer use this pool`,
    s,
  );
  return sels[0]!;
}

function convertPool(s: Source, mode: 'migrate' | 'mirror', c: Collector): IPAddressPool | string {
  const spec = s.spec;
  unknownFields(spec, POOL_SPEC_FIELDS, s, 'spec', c);
  const addresses = convertAddresses(spec.addresses, s, c);
  if (!addresses.ok) return addresses.error;
  const out: IPAddressPool = {
    apiVersion: API_VERSION,
    kind: KINDS.IPAddressPool,
    metadata: metadataOf(s, mode),
    spec: { addresses: addresses.value },
  };
  if (spec.autoAssign !== undefined) {
    if (typeof spec.autoAssign === 'boolean') {
      if (!spec.autoAssign) out.spec.autoAssign = false;
    } else {
      c.add(
        'warning',
        s.label,
        'spec.autoAssign',
        `${JSON.stringify(spec.autoAssign)} is not a boolean; default true used`,
        s,
      );
    }
  }
  if (spec.avoidBuggyIPs !== undefined) {
    if (typeof spec.avoidBuggyIPs === 'boolean') {
      if (spec.avoidBuggyIPs) out.spec.avoidBuggyIPs = true;
    } else {
      c.add(
        'warning',
        s.label,
        'spec.avoidBuggyIPs',
        `${JSON.stringify(spec.avoidBuggyIPs)} is not a boolean; default false used`,
        s,
      );
    }
  }
  const sa = spec.serviceAllocation;
  if (sa !== undefined && sa !== null) {
    if (!isObject(sa)) return 'spec.serviceAllocation: must be an object';
    unknownFields(sa, ALLOCATION_FIELDS, s, 'spec.serviceAllocation', c);
    const alloc: IPAddressPoolAllocation = {};
    const pr = sa.priority;
    if (pr !== undefined && pr !== null) {
      if (typeof pr !== 'number' || !Number.isInteger(pr)) {
        c.add(
          'warning',
          s.label,
          'spec.serviceAllocation.priority',
          `${JSON.stringify(pr)} is not an integer; not carried`,
          s,
        );
      } else if (pr > 0) {
        alloc.priority = pr;
      } else if (pr < 0) {
        c.add(
          'warning',
          s.label,
          'spec.serviceAllocation.priority',
          `negative priority ${pr} is not carried (Portico priorities are >= 0); the pool has no priority`,
          s,
        );
      }
      // 0 is MetalLB's "no priority" (its sort treats 0 as unset): nothing to write.
    }
    const ns = readStringList(sa.namespaces, 'spec.serviceAllocation.namespaces');
    if (!ns.ok) return ns.error;
    const nsSels = readSelectors(sa.namespaceSelectors, 'spec.serviceAllocation.namespaceSelectors');
    if (!nsSels.ok) return nsSels.error;
    const svcSels = readSelectors(sa.serviceSelectors, 'spec.serviceAllocation.serviceSelectors');
    if (!svcSels.ok) return svcSels.error;
    let names = uniq(ns.value);
    if (names.length < ns.value.length)
      c.add(
        'note',
        s.label,
        'spec.serviceAllocation.namespaces',
        'duplicate names written once (MetalLB rejects duplicates)',
        s,
      );
    const bad = names.filter((n) => !DNS1123_LABEL.test(n) || n.length > 63);
    if (bad.length > 0) {
      c.add(
        'warning',
        s.label,
        'spec.serviceAllocation.namespaces',
        `not a valid namespace name: ${bad.map((b) => JSON.stringify(b)).join(', ')}; not carried`,
        s,
      );
      names = names.filter((n) => !bad.includes(n));
      // Dropping every name would open the pool to all namespaces: keep it closed instead.
      if (names.length === 0 && nsSels.value.length === 0)
        return 'spec.serviceAllocation.namespaces: no valid namespace name left';
    }
    let nsSelectorList = nsSels.value;
    if (names.length > MAX_NAMESPACES) {
      if (nsSelectorList.length === 0) {
        // Same set, expressed on the label every namespace carries.
        nsSelectorList = [
          {
            matchExpressions: [
              { key: 'kubernetes.io/metadata.name', operator: 'In', values: [...names].sort(byString) },
            ],
          },
        ];
        c.add(
          'note',
          s.label,
          'spec.serviceAllocation.namespaces',
          `${names.length} names (Portico lists at most ${MAX_NAMESPACES}) written as a namespaceSelector on kubernetes.io/metadata.name`,
          s,
        );
        names = [];
      } else {
        return `spec.serviceAllocation.namespaces: ${names.length} names together with namespaceSelectors exceed Portico's ${MAX_NAMESPACES}`;
      }
    }
    if (names.length > 0) alloc.namespaces = names;
    const nsSel = oneSelector(
      nsSelectorList,
      'spec.serviceAllocation.namespaceSelectors',
      'namespaces',
      s,
      c,
    );
    if (nsSel) alloc.namespaceSelector = nsSel;
    const svcSel = oneSelector(svcSels.value, 'spec.serviceAllocation.serviceSelectors', 'Services', s, c);
    if (svcSel) alloc.serviceSelector = svcSel;
    const ruled = names.length > 0 || nsSel !== undefined || svcSel !== undefined;
    if (!ruled && alloc.priority !== undefined) {
      c.add(
        'note',
        s.label,
        'spec.serviceAllocation',
        'a priority without namespaces or selectors: MetalLB ranks this pool among the restricted pools, Portico after them (among unrestricted pools, by priority)',
        s,
      );
    }
    if (Object.keys(alloc).length > 0) out.spec.allocation = alloc;
  }
  return out;
}

interface L2Converted {
  objects: L2Advertisement[];
  /** Pool coverage for the "no advertisement covers this pool" check. */
  names: string[];
  poolSelectors: LabelSelector[];
}

function convertL2(s: Source, mode: 'migrate' | 'mirror', c: Collector): L2Converted | string {
  const spec = s.spec;
  unknownFields(spec, L2_SPEC_FIELDS, s, 'spec', c);
  const poolNames = readStringList(spec.ipAddressPools, 'spec.ipAddressPools');
  if (!poolNames.ok) return poolNames.error;
  const names = uniq(poolNames.value);
  const badNames = names.filter((n) => !DNS1123_SUBDOMAIN.test(n) || n.length > 253);
  if (badNames.length > 0)
    return `spec.ipAddressPools: ${badNames.map((n) => JSON.stringify(n)).join(', ')} cannot be pool names`;
  if (names.length > MAX_POOL_NAMES)
    return `spec.ipAddressPools: ${names.length} names; Portico lists at most ${MAX_POOL_NAMES}`;
  const poolSels = readSelectors(spec.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors');
  if (!poolSels.ok) return poolSels.error;
  const nodeSels = readSelectors(spec.nodeSelectors, 'spec.nodeSelectors');
  if (!nodeSels.ok) return nodeSels.error;
  const ifs = readStringList(spec.interfaces, 'spec.interfaces');
  if (!ifs.ok) return ifs.error;
  let interfaces = uniq(ifs.value);
  const badIfs = interfaces.filter(
    (i) => i.length < 1 || i.length > 15 || !INTERFACE_NAME.test(i) || i === '.' || i === '..',
  );
  if (badIfs.length > 0) {
    c.add(
      'warning',
      s.label,
      'spec.interfaces',
      `not a valid Linux interface name: ${badIfs.map((i) => JSON.stringify(i)).join(', ')}; not carried`,
      s,
    );
    interfaces = interfaces.filter((i) => !badIfs.includes(i));
    if (interfaces.length === 0)
      return 'spec.interfaces: no valid interface name left (an empty list would mean every interface)';
  }
  if (interfaces.length > MAX_INTERFACES)
    return `spec.interfaces: ${interfaces.length} names; Portico lists at most ${MAX_INTERFACES}`;
  if (ifs.value.length === 0) {
    c.add(
      'note',
      s.label,
      'spec.interfaces',
      'absent: MetalLB answers on every interface, Portico on the interface whose subnet holds the VIP (list interfaces to pin them)',
      s,
    );
  }
  if (
    spec.serviceSelectors !== undefined &&
    spec.serviceSelectors !== null &&
    (!Array.isArray(spec.serviceSelectors) || spec.serviceSelectors.length > 0)
  ) {
    c.add(
      'warning',
      s.label,
      'spec.serviceSelectors',
      'not supported by Portico; not carried: every Service of the covered pools is announced',
      s,
    );
  }
  if (
    spec.preferredNodeSelectors !== undefined &&
    spec.preferredNodeSelectors !== null &&
    (!Array.isArray(spec.preferredNodeSelectors) || spec.preferredNodeSelectors.length > 0)
  ) {
    c.add(
      'warning',
      s.label,
      'spec.preferredNodeSelectors',
      'not supported by Portico; not carried: the owner is elected among all selected nodes',
      s,
    );
  }
  const ps: Array<LabelSelector | undefined> = poolSels.value.length > 0 ? poolSels.value : [undefined];
  const nsl: Array<LabelSelector | undefined> = nodeSels.value.length > 0 ? nodeSels.value : [undefined];
  const count = ps.length * nsl.length;
  if (count > MAX_SPLIT)
    return `${poolSels.value.length} pool selectors × ${nodeSels.value.length} node selectors: more than ${MAX_SPLIT} advertisements`;
  if (count > 1) {
    c.add(
      'note',
      s.label,
      'spec',
      `${poolSels.value.length > 1 ? `${poolSels.value.length} ipAddressPoolSelectors` : ''}${poolSels.value.length > 1 && nodeSels.value.length > 1 ? ' and ' : ''}${nodeSels.value.length > 1 ? `${nodeSels.value.length} nodeSelectors` : ''} written as ${count} L2Advertisements (Portico takes one selector per field; advertisements add up)`,
      s,
    );
  }
  const objects: L2Advertisement[] = [];
  for (const p of ps) {
    for (const n of nsl) {
      const o: L2Advertisement = {
        apiVersion: API_VERSION,
        kind: KINDS.L2Advertisement,
        metadata: metadataOf(s, mode),
      };
      const sp: L2AdvertisementSpec = {};
      if (names.length > 0) sp.ipAddressPools = [...names];
      if (p) sp.ipAddressPoolSelector = p;
      if (n) sp.nodeSelector = n;
      if (interfaces.length > 0) sp.interfaces = [...interfaces];
      if (Object.keys(sp).length > 0) o.spec = sp;
      objects.push(o);
    }
  }
  return { objects, names, poolSelectors: poolSels.value };
}

function coversPool(names: readonly string[], sels: readonly LabelSelector[], pool: IPAddressPool): boolean {
  if (names.length === 0 && sels.length === 0) return true;
  const name = pool.metadata.name ?? '';
  return names.includes(name) || sels.some((sel) => matchesSelector(sel, pool.metadata.labels));
}

/** Names for split advertisements: the source name first, then `<name>-2`, `-3`… avoiding taken ones. */
function splitNames(base: string, count: number, taken: Set<string>): string[] {
  const out = [base];
  let i = 2;
  while (out.length < count) {
    const n = `${base}-${i++}`;
    if (!taken.has(n) && n.length <= 253) out.push(n);
  }
  for (const n of out) taken.add(n);
  return out;
}

// ---------------------------------------------------------------------------------------------
// BGP mode (MetalLB v0.15 semantics, read from its API types and config loader): BGPPeer
// (v1beta2; v1beta1 read the same way, as MetalLB converts it), BGPAdvertisement (v1beta1), and
// Community objects, whose aliases are resolved into the advertisements' communities.

const PEER_FIELDS = [
  'myASN',
  'peerASN',
  'dynamicASN',
  'localASN',
  'peerAddress',
  'interface',
  'sourceAddress',
  'peerPort',
  'holdTime',
  'keepaliveTime',
  'connectTime',
  'routerID',
  'nodeSelectors',
  'password',
  'passwordSecret',
  'bfdProfile',
  'enableGracefulRestart',
  'ebgpMultiHop',
  'vrf',
  'disableMP',
  'dualStackAddressFamily',
];
/** The deprecated v1beta1 BGPPeer has only these (the apiserver prunes anything else). */
const PEER_FIELDS_V1BETA1 = [
  'myASN',
  'peerASN',
  'peerAddress',
  'sourceAddress',
  'peerPort',
  'holdTime',
  'keepaliveTime',
  'routerID',
  'nodeSelectors',
  'password',
  'bfdProfile',
  'ebgpMultiHop',
];
const BGP_ADV_FIELDS = [
  'aggregationLength',
  'aggregationLengthV6',
  'localPref',
  'communities',
  'ipAddressPools',
  'ipAddressPoolSelectors',
  'nodeSelectors',
  'peers',
  'serviceSelectors',
];
/** Portico CRD limits of the BGP kinds (lib/api/crds/bgp*.ts). */
const MAX_BGP_SELECTORS = 16;
const MAX_BGP_NAMES = 64;
const MAX_COMMUNITIES = 32;
const MAX_DURATION_TEXT = 32;
const U32_MAX = 4294967295;

/** A non-empty value of a field: Go's zero values (0, "", false, {}) mean "not set" in MetalLB. */
function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.values(v).some(isSet);
  return true;
}

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= U32_MAX;
}

/** Go's time.ParseDuration grammar (sign, fractions, `.5s`, `0`) → seconds, or null. */
export function goDurationSeconds(text: string): number | null {
  const m = /^([+-]?)(.*)$/s.exec(text)!;
  const body = m[2]!;
  if (body === '0') return 0;
  if (!/^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$/u.test(body)) return null;
  let total = 0;
  for (const p of body.matchAll(/([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/gu))
    total += Number(p[1] === '.' ? '0' : p[1]) * UNIT_SECONDS[p[2]!]!;
  total = Math.round(total * 1e9) / 1e9;
  return m[1] === '-' ? -total : total;
}

/** A duration as Portico writes it: the text when it is already whole seconds in Portico's grammar. */
function durationText(text: string, seconds: number): string {
  const portico = parseDuration(text);
  return typeof portico === 'number' && portico === seconds && text.length <= MAX_DURATION_TEXT
    ? text
    : `${seconds}s`;
}

/**
 * MetalLB's community syntax (its `community.New`): `A:B` with two 16-bit numbers, or
 * `large:A:B:C` with three 32-bit numbers. Returned in Portico's spelling, or null.
 */
export function metallbCommunity(text: string): string | null {
  const parts = text.split(':');
  const num = (x: string, max: number) => /^[0-9]{1,10}$/.test(x) && Number(x) <= max;
  if (parts.length === 2 && parts.every((p) => num(p, 0xffff)))
    return `${Number(parts[0])}:${Number(parts[1])}`;
  if (parts.length === 4 && parts[0] === 'large' && parts.slice(1).every((p) => num(p, U32_MAX)))
    return `large:${parts
      .slice(1)
      .map((p) => Number(p))
      .join(':')}`;
  return null;
}

/** Community aliases from MetalLB Community objects: name → value in Portico's spelling, or null when unusable. */
type Aliases = Map<string, { value: string | null; from: string }>;

function readAliases(communities: readonly Source[], c: Collector): Aliases {
  const out: Aliases = new Map();
  for (const s of communities) {
    unknownFields(s.spec, ['communities'], s, 'spec', c);
    const list = s.spec.communities;
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      c.add('warning', s.label, 'spec.communities', 'must be a list of {name, value}; nothing read', s);
      continue;
    }
    for (const [i, a] of list.entries()) {
      const field = `spec.communities[${i}]`;
      const name = isObject(a) ? str(a.name) : undefined;
      const raw = isObject(a) ? str(a.value) : undefined;
      if (!name) {
        c.add('warning', s.label, field, 'an alias without a name; ignored', s);
        continue;
      }
      const value = raw === undefined ? null : metallbCommunity(raw);
      if (value === null)
        c.add(
          'warning',
          s.label,
          field,
          `alias ${JSON.stringify(name)}: ${JSON.stringify(raw ?? '')} is not a community (A:B or large:A:B:C; MetalLB rejects it); advertisements using it are not carried`,
          s,
        );
      const prev = out.get(name);
      if (prev && prev.value !== value) {
        c.add(
          'warning',
          s.label,
          field,
          `alias ${JSON.stringify(name)} is also defined by ${prev.from} with another value (MetalLB rejects duplicate aliases); advertisements using it are not carried`,
          s,
        );
        out.set(name, { value: null, from: prev.from });
      } else if (!prev) out.set(name, { value, from: sourceRefText(s) });
    }
  }
  return out;
}

/** A list field of object names (pools, peers): valid, unique, within Portico's limit. */
function readNames(
  v: unknown,
  field: string,
  what: string,
): { ok: true; value: string[] } | { ok: false; error: string } {
  const r = readStringList(v, field);
  if (!r.ok) return r;
  const names = uniq(r.value);
  const bad = names.filter((n) => !DNS1123_SUBDOMAIN.test(n) || n.length > 253);
  if (bad.length > 0)
    return {
      ok: false,
      error: `${field}: ${bad.map((n) => JSON.stringify(n)).join(', ')} cannot be ${what} names`,
    };
  if (names.length > MAX_BGP_NAMES)
    return { ok: false, error: `${field}: ${names.length} names; Portico lists at most ${MAX_BGP_NAMES}` };
  return { ok: true, value: names };
}

function readBgpSelectors(
  v: unknown,
  field: string,
): { ok: true; value: LabelSelector[] } | { ok: false; error: string } {
  const r = readSelectors(v, field);
  if (r.ok && r.value.length > MAX_BGP_SELECTORS)
    return {
      ok: false,
      error: `${field}: ${r.value.length} selectors; Portico takes at most ${MAX_BGP_SELECTORS}`,
    };
  return r;
}

/** Where Portico's speaker reads Secrets (the namespace it runs in), for passwordSecret findings. */
function porticoNamespaceText(ns: string | undefined): string {
  return ns ?? "Portico's namespace";
}

/** Name of the Secret suggested for a peer whose MetalLB object holds a plain-text password. */
export function passwordSecretName(peer: string): string {
  const suffix = '-bgp-password';
  return `${peer.slice(0, 253 - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
}

function convertPassword(
  s: Source,
  porticoNs: string | undefined,
  c: Collector,
): { ok: true; value?: SecretReference } | { ok: false; error: string } {
  const spec = s.spec;
  const plain = spec.password;
  const ref = spec.passwordSecret;
  const refName = isObject(ref) ? ref.name : undefined;
  const hasPlain = plain !== undefined && plain !== null && plain !== '';
  const hasRef = isSet(refName);
  if (ref !== undefined && ref !== null && !isObject(ref))
    return { ok: false, error: 'spec.passwordSecret: must be a Secret reference {name, namespace}' };
  if (hasPlain && hasRef)
    return {
      ok: false,
      error: 'spec.password and spec.passwordSecret are both set (MetalLB rejects such a peer)',
    };
  const ns = porticoNamespaceText(porticoNs);
  const nsFlag = porticoNs ?? '<portico-namespace>';
  if (hasPlain) {
    // Never echo the value: not in the output, not in a finding.
    const name = passwordSecretName(s.name);
    c.add(
      'warning',
      s.label,
      'spec.password',
      `the plain-text password is not carried (Portico takes TCP MD5 keys only from Secrets, and never copies the password into its output): passwordSecret is set to ${name}; create that Secret in ${ns} with \`kubectl -n ${nsFlag} create secret generic ${name} --type=kubernetes.io/basic-auth --from-literal=password='<the password>'\`. Until it exists the speaker opens no session to this peer (never an unauthenticated one)`,
      s,
    );
    return { ok: true, value: { name } };
  }
  if (!hasRef) return { ok: true };
  if (typeof refName !== 'string' || refName.length > 253 || !DNS1123_SUBDOMAIN.test(refName))
    return { ok: false, error: `spec.passwordSecret.name: ${JSON.stringify(refName)} is not a Secret name` };
  const isRefNs = isObject(ref) && typeof ref.namespace === 'string' && ref.namespace !== '';
  // MetalLB looks the Secret up by name among the Secrets of its own namespace (the peer's), whatever
  // passwordSecret.namespace says.
  if (isRefNs && s.namespace !== '' && (ref as Json).namespace !== s.namespace)
    c.add(
      'note',
      s.label,
      'spec.passwordSecret.namespace',
      `${String((ref as Json).namespace)}: MetalLB ignores it and reads the Secret from its own namespace ${s.namespace}`,
      s,
    );
  const from = s.namespace === '' ? `MetalLB's namespace` : s.namespace;
  if (porticoNs === undefined || s.namespace !== porticoNs) {
    const src = s.namespace === '' ? '<metallb-namespace>' : s.namespace;
    c.add(
      'warning',
      s.label,
      'spec.passwordSecret',
      `MetalLB reads Secret ${refName} in ${from}; Portico's speaker reads Secrets only in ${ns}: copy it there (type kubernetes.io/basic-auth, key password), e.g. \`kubectl -n ${nsFlag} create secret generic ${refName} --type=kubernetes.io/basic-auth --from-literal=password="$(kubectl -n ${src} get secret ${refName} -o jsonpath='{.data.password}' | base64 -d)"\`. Until it exists the speaker opens no session to this peer (never an unauthenticated one)`,
      s,
    );
  }
  return { ok: true, value: { name: refName } };
}

/** MetalLB's timers (its parseTimers) in Portico's terms; a string when MetalLB rejects them. */
function convertTimers(
  s: Source,
  get: (field: string) => unknown,
  out: BGPPeerSpec,
  c: Collector,
): string | null {
  const read = (
    field: 'holdTime' | 'keepaliveTime' | 'connectTime',
  ): { text: string; sec: number } | undefined | string => {
    const v = get(field);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string')
      return `spec.${field}: ${JSON.stringify(v)} is not a duration (write e.g. 90s)`;
    const sec = goDurationSeconds(v);
    if (sec === null || sec < 0)
      return `spec.${field}: ${JSON.stringify(v)} is not a duration (write e.g. 90s)`;
    return { text: v, sec };
  };
  const ht = read('holdTime');
  const ka = read('keepaliveTime');
  const ct = read('connectTime');
  for (const r of [ht, ka, ct]) if (typeof r === 'string') return r;
  const hold = ht as { text: string; sec: number } | undefined;
  const keep = ka as { text: string; sec: number } | undefined;
  const connect = ct as { text: string; sec: number } | undefined;
  if (hold || keep) {
    // MetalLB: hold alone → keepalive hold/3; keepalive alone → hold 3 × keepalive; both → as given.
    const holdSec = hold ? hold.sec : keep!.sec * 3;
    const keepSec = keep ? keep.sec : holdSec / 3;
    const holdWhole = Math.floor(holdSec);
    if (holdWhole !== 0 && holdWhole < 3)
      return `spec.holdTime: ${hold?.text ?? `${holdSec}s`} must be 0 or at least 3s (MetalLB rejects this peer)`;
    if (keepSec > holdSec)
      return `spec.keepaliveTime: ${keep?.text} is longer than holdTime ${hold?.text} (MetalLB rejects this peer)`;
    if (holdWhole > 65535) {
      c.add(
        'warning',
        s.label,
        'spec.holdTime',
        `${hold?.text ?? `${holdSec}s`} is longer than BGP's 65535s (RFC 4271 §4.2); not carried: Portico's default 90s (keepalive 30s) applies`,
        s,
      );
      return null;
    }
    if (hold) {
      out.holdTime = durationText(hold.text, holdWhole);
      if (holdWhole !== hold.sec)
        c.add(
          'note',
          s.label,
          'spec.holdTime',
          `${hold.text} written as ${holdWhole}s (BGP counts whole seconds, as FRR does)`,
          s,
        );
    } else {
      out.holdTime = `${holdWhole}s`;
      c.add(
        'note',
        s.label,
        'spec.holdTime',
        `absent with keepaliveTime ${keep!.text}: MetalLB holds 3 × keepalive, written out as holdTime ${holdWhole}s (Portico's default would be 90s)`,
        s,
      );
    }
    if (keep) {
      const keepWhole = Math.floor(keep.sec);
      if (holdWhole === 0) {
        c.add(
          'note',
          s.label,
          'spec.keepaliveTime',
          `${keep.text} left out: a hold time of 0 sends no keepalives`,
          s,
        );
      } else if (keepWhole >= holdWhole) {
        c.add(
          'warning',
          s.label,
          'spec.keepaliveTime',
          `${keep.text} equals holdTime; Portico needs it shorter (one lost KEEPALIVE would drop the session), so it is not carried: keepalive is holdTime / 3 = ${Math.floor(holdWhole / 3)}s`,
          s,
        );
      } else {
        out.keepaliveTime = durationText(keep.text, keepWhole);
        if (keepWhole !== keep.sec)
          c.add(
            'note',
            s.label,
            'spec.keepaliveTime',
            `${keep.text} written as ${keepWhole}s (BGP counts whole seconds, as FRR does)`,
            s,
          );
      }
    }
  }
  if (connect) {
    const whole = Math.floor(connect.sec);
    if (whole < 1 || whole > 65535 || whole !== connect.sec)
      return `spec.connectTime: ${connect.text} must be whole seconds between 1s and 65535s (MetalLB rejects this peer)`;
    out.connectTime = durationText(connect.text, whole);
  }
  return null;
}

function convertPeer(
  s: Source,
  mode: 'migrate' | 'mirror',
  porticoNs: string | undefined,
  c: Collector,
): BGPPeer | string {
  const spec = s.spec;
  const v1beta1 = s.apiVersion === `${METALLB_GROUP}/v1beta1`;
  for (const k of Object.keys(spec).sort(byString)) {
    if (v1beta1 && PEER_FIELDS.includes(k) && !PEER_FIELDS_V1BETA1.includes(k) && isSet(spec[k]))
      c.add(
        'warning',
        s.label,
        `spec.${k}`,
        'not a field of metallb.io/v1beta1 BGPPeer (the apiserver prunes it; use v1beta2); not carried',
        s,
      );
    else if (!PEER_FIELDS.includes(k))
      c.add(
        'warning',
        s.label,
        `spec.${k}`,
        'not a field this converter knows (newer MetalLB?); not carried',
        s,
      );
  }
  const known = (k: string) => !v1beta1 || PEER_FIELDS_V1BETA1.includes(k);
  const get = (k: string) => (known(k) ? spec[k] : undefined);

  // Not carryable at all: no address to dial, or a session in another routing table.
  if (isSet(get('interface')))
    return 'spec.interface: unnumbered BGP (peering over an interface, no peerAddress) is not supported by Portico';
  if (isSet(get('vrf')))
    return `spec.vrf: ${JSON.stringify(get('vrf'))}: Portico peers only from the default routing table (no VRF); carrying the peer without it would send the session, and the routes, elsewhere`;

  const myASN = get('myASN');
  if (!isSet(myASN)) return 'spec.myASN is required';
  if (!isUint32(myASN)) return `spec.myASN: ${JSON.stringify(myASN)} must be an AS number 1..4294967295`;
  const peerASN = get('peerASN');
  const dynamicASN = get('dynamicASN');
  const localASN = get('localASN');
  if (isSet(peerASN) && !isUint32(peerASN))
    return `spec.peerASN: ${JSON.stringify(peerASN)} must be an AS number 1..4294967295`;
  if (isSet(dynamicASN) && dynamicASN !== 'internal' && dynamicASN !== 'external')
    return `spec.dynamicASN: ${JSON.stringify(dynamicASN)} must be internal or external`;
  if (isSet(peerASN) === isSet(dynamicASN))
    return isSet(peerASN)
      ? 'spec.peerASN and spec.dynamicASN are both set (MetalLB rejects this peer)'
      : 'spec.peerASN or spec.dynamicASN is required';
  if (isSet(localASN) && (!isUint32(localASN) || localASN === 0))
    return `spec.localASN: ${JSON.stringify(localASN)} must be an AS number 1..4294967295`;
  const address = get('peerAddress');
  if (!isSet(address)) return 'spec.peerAddress is required';
  const addr = typeof address === 'string' ? parseIP(address) : null;
  if (!addr?.ok) return `spec.peerAddress: ${JSON.stringify(address)} is not an IP address`;

  const out: BGPPeer = {
    apiVersion: API_VERSION,
    kind: KINDS.BGPPeer,
    metadata: metadataOf(s, mode),
    // MetalLB's field order: the AS numbers, then the address.
    spec: {
      myASN: isSet(localASN) ? (localASN as number) : myASN,
      ...(isSet(peerASN) ? { peerASN: peerASN as number } : { dynamicASN: dynamicASN as DynamicASN }),
      peerAddress: address as string,
    },
  };
  const sp = out.spec;
  if (isSet(localASN)) {
    // MetalLB v0.16: `local-as <ASN> no-prepend replace-as` — the router sees only localASN, in the
    // OPEN and in the AS_PATH, which is what Portico's per-peer myASN is.
    c.add(
      'note',
      s.label,
      'spec.localASN',
      `${localASN}: the router sees only this AS (local-as, no-prepend, replace-as), so it is written as myASN (MetalLB's myASN ${myASN} is not sent)`,
      s,
    );
  }

  const port = get('peerPort');
  if (isSet(port)) {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
      return `spec.peerPort: ${JSON.stringify(port)} must be a TCP port 1..65535`;
    if (port !== DEFAULTS.bgp.peerPort) sp.peerPort = port;
  }
  const src = get('sourceAddress');
  if (isSet(src)) {
    const r = typeof src === 'string' ? parseIP(src) : null;
    if (!r?.ok) return `spec.sourceAddress: ${JSON.stringify(src)} is not an IP address`;
    if (r.value.family !== addr.value.family)
      c.add(
        'warning',
        s.label,
        'spec.sourceAddress',
        `${src} is IPv${r.value.family} but peerAddress is IPv${addr.value.family} (no session could use it); not carried: the local address is chosen by routing`,
        s,
      );
    else sp.sourceAddress = src as string;
  }
  const timers = convertTimers(s, get, sp, c);
  if (timers !== null) return timers;

  const rid = get('routerID');
  if (isSet(rid)) {
    const r = typeof rid === 'string' ? parseIP(rid) : null;
    if (!r?.ok)
      return `spec.routerID: ${JSON.stringify(rid)} is not an IP address (MetalLB rejects this peer)`;
    if (r.value.family !== 4)
      c.add(
        'warning',
        s.label,
        'spec.routerID',
        `${rid} is not an IPv4 address; a BGP identifier is 32 bits (RFC 6286), so it is not carried: the node's IPv4 address is used`,
        s,
      );
    else sp.routerID = rid as string;
  }
  const nodeSels = readBgpSelectors(get('nodeSelectors'), 'spec.nodeSelectors');
  if (!nodeSels.ok) return nodeSels.error;
  if (nodeSels.value.length > 0) sp.nodeSelectors = nodeSels.value;

  const pw = convertPassword(s, porticoNs, c);
  if (!pw.ok) return pw.error;
  if (pw.value) sp.passwordSecret = pw.value;

  const bool = (k: string): boolean | undefined | string => {
    const v = get(k);
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : `spec.${k}: ${JSON.stringify(v)} is not a boolean`;
  };
  const gr = bool('enableGracefulRestart');
  if (typeof gr === 'string') return gr;
  if (gr) sp.enableGracefulRestart = true;
  const multihop = bool('ebgpMultiHop');
  if (typeof multihop === 'string') return multihop;
  if (multihop) {
    if (sp.peerASN !== undefined && sp.peerASN === myASN)
      return 'spec.ebgpMultiHop is set on an internal (iBGP) peer (MetalLB rejects this peer)';
    const internal = sp.dynamicASN === 'internal' || (sp.peerASN !== undefined && sp.peerASN === sp.myASN);
    if (internal)
      c.add(
        'warning',
        s.label,
        'spec.ebgpMultiHop',
        'set on an internal (iBGP) peer, where it has no meaning; not carried (iBGP sessions are multihop anyway)',
        s,
      );
    else sp.ebgpMultiHop = true;
  }
  const bfd = get('bfdProfile');
  if (isSet(bfd))
    c.add(
      'warning',
      s.label,
      'spec.bfdProfile',
      `${JSON.stringify(bfd)}: Portico has no BFD (ADR 100); not carried: a dead link or router is noticed by hold-time expiry (${sp.holdTime ?? DEFAULTS.bgp.holdTime}), so consider a shorter holdTime`,
      s,
    );
  const disableMP = bool('disableMP');
  if (typeof disableMP === 'string') return disableMP;
  if (disableMP)
    c.add(
      'warning',
      s.label,
      'spec.disableMP',
      'not carried (deprecated, and without effect since MetalLB 0.15): Portico offers IPv4 and IPv6 unicast on every session (multiprotocol, RFC 4760)',
      s,
    );
  const dual = bool('dualStackAddressFamily');
  if (typeof dual === 'string') return dual;
  if (dual)
    c.add(
      'note',
      s.label,
      'spec.dualStackAddressFamily',
      'not a Portico field: Portico always offers IPv4 and IPv6 unicast on a session and sends each family the router accepts, which is what this asks',
      s,
    );
  if (v1beta1)
    c.add(
      'note',
      s.label,
      '',
      'metallb.io/v1beta1 BGPPeer (deprecated) read as MetalLB converts it to v1beta2',
      s,
    );
  // Whatever passed MetalLB's rules above must also pass Portico's (the CRD's CEL repeats these).
  const problems = checkPeer(out);
  if (problems.length > 0) return problems.join('; ');
  return out;
}

interface BgpAdvConverted {
  object: BGPAdvertisement;
  names: string[];
  poolSelectors: LabelSelector[];
}

function convertBgpAdv(
  s: Source,
  mode: 'migrate' | 'mirror',
  aliases: Aliases,
  c: Collector,
): BgpAdvConverted | string {
  const spec = s.spec;
  unknownFields(spec, BGP_ADV_FIELDS, s, 'spec', c);
  const sp: BGPAdvertisementSpec = {};
  // MetalLB's CRD: aggregationLength at least 1; aggregationLengthV6 has no minimum.
  const length = (
    field: 'aggregationLength' | 'aggregationLengthV6',
    min: number,
    max: number,
  ): string | null => {
    const v = spec[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      return `spec.${field}: ${JSON.stringify(v)} must be a prefix length ${min}..${max}`;
    if (v !== max) sp[field] = v;
    return null;
  };
  const e4 = length('aggregationLength', 1, 32);
  if (e4) return e4;
  const e6 = length('aggregationLengthV6', 0, 128);
  if (e6) return e6;
  const lp = spec.localPref;
  if (lp !== undefined && lp !== null) {
    if (!isUint32(lp)) return `spec.localPref: ${JSON.stringify(lp)} must be 0..4294967295`;
    // MetalLB's 0 is "not set" (the router's default, 100, applies).
    if (lp !== 0) sp.localPref = lp;
  }
  const comms = readStringList(spec.communities, 'spec.communities');
  if (!comms.ok) return comms.error;
  const written: string[] = [];
  for (const text of comms.value) {
    const alias = aliases.get(text);
    let value: string | null;
    if (alias) {
      if (alias.value === null)
        return `spec.communities: alias ${JSON.stringify(text)} (${alias.from}) is unusable (see its warning)`;
      value = alias.value;
      if (text !== value)
        c.add(
          'note',
          s.label,
          'spec.communities',
          `alias ${JSON.stringify(text)} resolved to ${value} (${alias.from})`,
          s,
        );
    } else {
      value = metallbCommunity(text);
      if (value === null) {
        const p = parseCommunity(text);
        if (p.kind === 'standard' && !text.includes(':')) {
          value = formatCommunity(p.value);
          c.add(
            'warning',
            s.label,
            'spec.communities',
            `${JSON.stringify(text)} is no alias defined by a Community object in the input (MetalLB would wait for one and announce nothing meanwhile); carried as the well-known community ${text} = ${value}: check that is what the alias stood for`,
            s,
          );
        } else
          return `spec.communities: ${JSON.stringify(text)} is neither a community (A:B, large:A:B:C) nor an alias defined by a Community object in the input (include MetalLB's Community objects, e.g. with --from-cluster)`;
      }
    }
    if (!written.includes(value)) written.push(value);
  }
  if (written.length > MAX_COMMUNITIES)
    return `spec.communities: ${written.length} communities; Portico takes at most ${MAX_COMMUNITIES}`;
  if (written.length > 0) sp.communities = written;
  const pools = readNames(spec.ipAddressPools, 'spec.ipAddressPools', 'pool');
  if (!pools.ok) return pools.error;
  if (pools.value.length > 0) sp.ipAddressPools = pools.value;
  const poolSels = readBgpSelectors(spec.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors');
  if (!poolSels.ok) return poolSels.error;
  if (poolSels.value.length > 0) sp.ipAddressPoolSelectors = poolSels.value;
  const nodeSels = readBgpSelectors(spec.nodeSelectors, 'spec.nodeSelectors');
  if (!nodeSels.ok) return nodeSels.error;
  if (nodeSels.value.length > 0) sp.nodeSelectors = nodeSels.value;
  const peers = readNames(spec.peers, 'spec.peers', 'BGPPeer');
  if (!peers.ok) return peers.error;
  if (peers.value.length > 0) sp.peers = peers.value;
  if (isSet(spec.serviceSelectors))
    c.add(
      'warning',
      s.label,
      'spec.serviceSelectors',
      'not supported by Portico; not carried: every Service of the covered pools is advertised',
      s,
    );
  const out: BGPAdvertisement = {
    apiVersion: API_VERSION,
    kind: KINDS.BGPAdvertisement,
    metadata: metadataOf(s, mode),
  };
  if (Object.keys(sp).length > 0) out.spec = sp;
  const problems = checkAdvertisement(out);
  if (problems.length > 0) return problems.join('; ');
  return { object: out, names: pools.value, poolSelectors: poolSels.value };
}

/**
 * Convert MetalLB objects. Input order does not matter (output is sorted); a `kind: List` is
 * flattened; objects of other API groups are noted and skipped.
 */
export function convertMetalLB(input: readonly unknown[], opts: ConvertOptions = {}): ConversionResult {
  const mode = opts.mode ?? 'migrate';
  const c = new Collector();
  const pools: Source[] = [];
  const l2s: Source[] = [];
  const peers: Source[] = [];
  const bgpAdvs: Source[] = [];
  const communities: Source[] = [];
  for (const [i, doc] of flattenLists(input).entries()) {
    if (!isObject(doc)) {
      c.add('warning', `document[${i}]`, '', 'not a Kubernetes object; ignored');
      continue;
    }
    const apiVersion = str(doc.apiVersion) ?? '';
    const kind = str(doc.kind) ?? '';
    if (!apiVersion.startsWith(`${METALLB_GROUP}/`)) {
      const name = isObject(doc.metadata) ? (str(doc.metadata.name) ?? '') : '';
      c.add(
        'note',
        objectLabel(kind || `document[${i}]`, name),
        '',
        `${apiVersion || 'no apiVersion'}: not a MetalLB object; ignored`,
      );
      continue;
    }
    const s = readSource(doc, i, c);
    if (!s) continue;
    if (kind === 'IPAddressPool') pools.push(s);
    else if (kind === 'L2Advertisement') l2s.push(s);
    else if (kind === 'BGPPeer') peers.push(s);
    else if (kind === 'BGPAdvertisement') bgpAdvs.push(s);
    else if (kind === 'Community') communities.push(s);
    else if (kind === 'BFDProfile')
      c.add(
        'warning',
        s.label,
        '',
        'not carried: Portico has no BFD (ADR 100); failures are detected by the BGP hold time',
        s,
      );
    else if (STATUS_KINDS.includes(kind))
      c.add('note', s.label, '', 'a MetalLB status object; nothing to carry');
    else if (kind === 'AddressPool')
      c.add(
        'warning',
        s.label,
        '',
        'the legacy AddressPool kind (removed in MetalLB 0.14) is not carried: convert it to IPAddressPool + L2Advertisement first',
        s,
      );
    else c.add('warning', s.label, '', `MetalLB kind ${kind || '(none)'} is not supported; not carried`, s);
  }

  const sources: SourceResult[] = [];
  const result = (s: Source, outputs: string[], notCarried: string | null): void => {
    sources.push({
      apiVersion: s.apiVersion,
      kind: s.kind,
      namespace: s.namespace,
      name: s.name,
      outputs,
      notCarried,
    });
  };
  const sortSources = (xs: Source[]) =>
    xs.sort((a, b) => byString(a.name, b.name) || byString(a.namespace, b.namespace));

  // Portico's kinds are cluster-scoped: one name, one object. The first namespace (sorted) wins.
  const firstOfName = (xs: Source[]): Source[] => {
    const kept = new Map<string, Source>();
    for (const s of sortSources(xs)) {
      const prev = kept.get(s.name);
      if (prev) {
        const why = `same name as ${sourceRefText(prev)}; Portico's ${s.kind} is cluster-scoped, so only that one is carried`;
        c.add('warning', s.label, 'metadata.namespace', why, s);
        result(s, [], why);
      } else kept.set(s.name, s);
    }
    return [...kept.values()];
  };

  const outPools: IPAddressPool[] = [];
  for (const s of firstOfName(pools)) {
    const r = convertPool(s, mode, c);
    if (typeof r === 'string') {
      c.add('warning', s.label, '', `not carried: ${r}`, s);
      result(s, [], r);
    } else {
      outPools.push(r);
      result(s, [objectLabel(KINDS.IPAddressPool, s.name)], null);
    }
  }

  const outL2: L2Advertisement[] = [];
  const coverage: Array<{ names: string[]; sels: LabelSelector[] }> = [];
  const l2Kept = firstOfName(l2s);
  const taken = new Set(l2Kept.map((s) => s.name));
  for (const s of l2Kept) {
    const r = convertL2(s, mode, c);
    if (typeof r === 'string') {
      c.add('warning', s.label, '', `not carried: ${r}`, s);
      result(s, [], r);
      continue;
    }
    taken.delete(s.name);
    const names = splitNames(s.name, r.objects.length, taken);
    r.objects.forEach((o, i) => {
      o.metadata.name = names[i]!;
    });
    outL2.push(...r.objects);
    coverage.push({ names: r.names, sels: r.poolSelectors });
    result(
      s,
      names.map((n) => objectLabel(KINDS.L2Advertisement, n)),
      null,
    );
    for (const n of r.names) {
      if (!outPools.some((p) => p.metadata.name === n))
        c.add(
          'note',
          s.label,
          'spec.ipAddressPools',
          `names pool ${n}, which is not among the converted pools`,
          s,
        );
    }
  }

  // BGP: Community aliases first (advertisements resolve against them), then peers, then
  // advertisements, then coverage and aggregation checks against the converted pools.
  const aliases = readAliases(sortSources(communities), c);
  for (const s of communities)
    c.add(
      'note',
      s.label,
      '',
      'Portico has no Community kind: its aliases are resolved into the BGPAdvertisements that use them',
    );
  const outPeers: BGPPeer[] = [];
  for (const s of firstOfName(peers)) {
    const r = convertPeer(s, mode, opts.porticoNamespace, c);
    if (typeof r === 'string') {
      c.add('warning', s.label, '', `not carried: ${r}`, s);
      result(s, [], r);
    } else {
      outPeers.push(r);
      result(s, [objectLabel(KINDS.BGPPeer, s.name)], null);
    }
  }
  const outBgpAdvs: BGPAdvertisement[] = [];
  for (const s of firstOfName(bgpAdvs)) {
    const r = convertBgpAdv(s, mode, aliases, c);
    if (typeof r === 'string') {
      c.add('warning', s.label, '', `not carried: ${r}`, s);
      result(s, [], r);
      continue;
    }
    outBgpAdvs.push(r.object);
    coverage.push({ names: r.names, sels: r.poolSelectors });
    result(s, [objectLabel(KINDS.BGPAdvertisement, s.name)], null);
    for (const n of r.names)
      if (!outPools.some((p) => p.metadata.name === n))
        c.add(
          'note',
          s.label,
          'spec.ipAddressPools',
          `names pool ${n}, which is not among the converted pools`,
          s,
        );
    for (const n of r.object.spec?.peers ?? [])
      if (!outPeers.some((p) => p.metadata.name === n))
        c.add(
          'warning',
          s.label,
          'spec.peers',
          `names BGPPeer ${n}, which is not among the converted peers: nothing is advertised to it`,
          s,
        );
    // MetalLB refuses the whole configuration when an aggregate is wider than a pool block;
    // Portico's speaker disables this advertisement for that pool (and says so).
    for (const p of outPools)
      if (coversPool(r.names, r.poolSelectors, p))
        for (const problem of checkAggregation(r.object, p))
          c.add(
            'warning',
            s.label,
            'spec',
            `${problem} (MetalLB rejects this; Portico advertises nothing of that pool through it)`,
            s,
          );
  }
  if (outBgpAdvs.length > 0 && outPeers.length === 0)
    c.add(
      'warning',
      '',
      '',
      'BGPAdvertisements were carried but no BGPPeer: nothing is advertised over BGP until a peer exists',
    );
  if (outPeers.length + outBgpAdvs.length > 0)
    c.add(
      'note',
      '',
      '',
      "BGPPeer and BGPAdvertisement take effect only with the speaker's BGP mode: helm upgrade … --set speaker.bgp.enabled=true (speaker flag --bgp)",
    );

  for (const p of outPools) {
    if (coverage.some((cv) => coversPool(cv.names, cv.sels, p))) continue;
    const label = objectLabel(KINDS.IPAddressPool, p.metadata.name ?? '');
    const src = pools.find((s) => s.name === p.metadata.name);
    // Advertisements MetalLB has for this pool that were not carried.
    const lost = [...l2s, ...bgpAdvs].filter((a) => {
      const names = readStringList(a.spec.ipAddressPools, '');
      const sels = readSelectors(a.spec.ipAddressPoolSelectors, '');
      return names.ok && sels.ok && coversPool(names.value, sels.value, p);
    });
    if (lost.length > 0)
      c.add(
        'warning',
        label,
        '',
        `announced in MetalLB by ${lost.map((a) => a.label).join(', ')}, not carried (see above): Portico allocates from this pool but announces nothing until an advertisement covers it`,
        src,
      );
    else
      c.add(
        'note',
        label,
        '',
        'no L2Advertisement or BGPAdvertisement covers this pool: its VIPs are allocated but not announced (as in MetalLB)',
        src,
      );
  }

  const byName = (a: { metadata: { name?: string } }, b: { metadata: { name?: string } }) =>
    byString(a.metadata.name ?? '', b.metadata.name ?? '');
  outPools.sort(byName);
  outL2.sort(byName);
  outPeers.sort(byName);
  outBgpAdvs.sort(byName);
  sources.sort(
    (a, b) => byString(a.kind, b.kind) || byString(a.name, b.name) || byString(a.namespace, b.namespace),
  );
  return {
    pools: outPools,
    l2Advertisements: outL2,
    bgpPeers: outPeers,
    bgpAdvertisements: outBgpAdvs,
    findings: c.findings,
    sources,
  };
}

// ---------------------------------------------------------------------------------------------
// Services (a pre-flight check for --from-cluster: what would Portico make of them?)

/** The fields of a core/v1 Service the pre-flight check reads. */
export interface MigratingService {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { type?: string; loadBalancerClass?: string | null };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

/**
 * Findings about LoadBalancer Services after a conversion: an IP in no converted pool (kept by
 * Portico, but OutOfPool: no pool counts it and it cannot be re-handed), an address-pool
 * annotation naming a pool that was not carried, a loadBalancerClass Portico does not serve by
 * default. Pure: the CLI lists the Services, this says what to look at before switching.
 */
export function checkServices(
  services: readonly MigratingService[],
  pools: readonly IPAddressPool[],
  lbClass: string = LOAD_BALANCER_CLASS,
): Finding[] {
  const out: Finding[] = [];
  const intervals = new Map<string, IPInterval[]>();
  for (const p of pools) {
    const ivs: IPInterval[] = [];
    for (const a of p.spec.addresses) {
      const r = parseAddressEntry(a);
      if (r.ok) ivs.push(r.value.interval);
    }
    intervals.set(p.metadata.name ?? '', ivs);
  }
  const sorted = [...services].sort((a, b) =>
    byString(`${a.metadata?.namespace}/${a.metadata?.name}`, `${b.metadata?.namespace}/${b.metadata?.name}`),
  );
  for (const svc of sorted) {
    if (svc.spec?.type !== 'LoadBalancer') continue;
    const label = `Service/${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const add = (field: string, message: string) =>
      out.push({ level: 'warning', object: label, field, message });
    const cls = svc.spec.loadBalancerClass;
    if (cls && cls !== lbClass) {
      add(
        'spec.loadBalancerClass',
        `${cls} is not Portico's class (${lbClass}): Portico leaves this Service alone unless the controller runs with --lb-class ${cls}`,
      );
      continue;
    }
    const pool = resolveAnnotation(svc.metadata?.annotations, 'addressPool');
    if (pool && !intervals.has(pool.value))
      add(
        `metadata.annotations[${pool.key}]`,
        `names pool ${pool.value}, which is not among the converted pools: new allocations will fail (NoMatchingPool)`,
      );
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
      if (!ing.ip) continue;
      const ip = parseIP(ing.ip);
      if (!ip.ok) continue;
      const inPool = [...intervals].find(([, ivs]) => ivs.some((iv) => containsIP(iv, ip.value)));
      if (!inPool)
        add(
          'status.loadBalancer.ingress',
          `${ing.ip} is in no converted pool: Portico keeps it for this Service (condition OutOfPool), but no pool counts it; add its range to a pool`,
        );
    }
  }
  return out;
}

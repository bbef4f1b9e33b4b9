// Pure mapping between a core/v1 Service and the allocator: which Services are ours, what they ask
// for, what their status should say, and whether what the apiserver holds already says it. No I/O,
// so the "write only when something changed" rule (no status churn) is tested on its own.

import {
  ANNOTATIONS,
  conflictWarning,
  type ResolvedAnnotation,
  resolveAnnotation,
  shouldWarn,
} from '../lib/api/annotations.ts';
import { IP_ALLOCATED_REASONS, SERVICE_CONDITIONS } from '../lib/api/conditions.ts';
import {
  type AllocationResult,
  type FailureReason,
  parseRequestedIPs,
  type RestoreEntry,
  type ServiceRequest,
} from './ipam/index.ts';

/** The fields of a Service this controller reads (raw JSON from the apiserver). */
export interface ServiceObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string | Date;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: {
    type?: string;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    ports?: Array<{ port?: number; protocol?: string; name?: string }>;
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
  };
  status?: {
    loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string; ipMode?: string }> };
    conditions?: Array<{
      type: string;
      status: string;
      reason: string;
      message: string;
      lastTransitionTime?: string;
      observedGeneration?: number;
    }>;
  };
}

export const IP_MODE = 'VIP';

/**
 * Does the Service carry something this controller wrote (its condition or the pool annotation)?
 * Only then may we clean up a Service we no longer handle; a Service of another class that we
 * never touched stays untouched.
 */
export function carriesOurState(svc: ServiceObject | undefined): boolean {
  if (!svc) return false;
  const hasCond = (svc.status?.conditions ?? []).some((c) => c.type === SERVICE_CONDITIONS.IPAllocated);
  const ann = svc.metadata?.annotations ?? {};
  return hasCond || Object.hasOwn(ann, ANNOTATIONS.allocatedFromPool);
}

/** Does field manager `manager` own any field of the object (its managedFields, untrimmed)? */
export function managedBy(
  obj: { metadata?: { managedFields?: unknown } } | undefined,
  manager: string,
): boolean {
  const mf = obj?.metadata?.managedFields;
  return Array.isArray(mf) && mf.some((e) => (e as { manager?: unknown } | null)?.manager === manager);
}

export function serviceKeyOf(svc: ServiceObject): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

export interface MappedRequest {
  request: ServiceRequest;
  /** Why the Service's annotations cannot be used (InvalidAnnotation), or null. */
  invalid: string | null;
  /** Annotations that came from a MetalLB key: one DeprecatedAnnotation Event each. */
  deprecated: ResolvedAnnotation[];
  /** Disagreements between a native key and its aliases (worth a Warning, not a failure). */
  disagreements: string[];
}

/** The allocator's view of a Service, plus what was wrong with its annotations. */
export function toRequest(
  svc: ServiceObject,
  namespaceLabels: Record<string, string> | undefined,
): MappedRequest {
  const meta = svc.metadata ?? {};
  const spec = svc.spec ?? {};
  const ann = meta.annotations ?? {};
  const deprecated: ResolvedAnnotation[] = [];
  const disagreements: string[] = [];
  let invalid: string | null = null;
  const note = (r: ResolvedAnnotation | undefined): ResolvedAnnotation | undefined => {
    if (!r) return r;
    if (shouldWarn(r)) deprecated.push(r);
    const c = conflictWarning(r);
    if (c) disagreements.push(c);
    return r;
  };

  const request: ServiceRequest = {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
  };
  if (meta.creationTimestamp !== undefined) request.createdAt = meta.creationTimestamp;
  if (meta.labels) request.labels = meta.labels;
  if (namespaceLabels) request.namespaceLabels = namespaceLabels;
  if (Array.isArray(spec.ipFamilies)) request.ipFamilies = spec.ipFamilies;
  if (spec.ipFamilyPolicy) request.ipFamilyPolicy = spec.ipFamilyPolicy;
  if (Array.isArray(spec.ports)) {
    request.ports = spec.ports
      .filter((p) => typeof p?.port === 'number')
      .map((p) => ({ port: p.port as number, protocol: p.protocol ?? 'TCP' }));
  }
  if (spec.externalTrafficPolicy) request.externalTrafficPolicy = spec.externalTrafficPolicy;
  if (spec.selector) request.selector = spec.selector;

  const ips = note(resolveAnnotation(ann, 'loadBalancerIPs'));
  if (ips) {
    const parsed = parseRequestedIPs(ips.value);
    if (parsed.ok) request.requestedIPs = parsed.value;
    else invalid = `annotation ${ips.key}: ${parsed.error}`;
  } else if (typeof spec.loadBalancerIP === 'string' && spec.loadBalancerIP.trim() !== '') {
    const parsed = parseRequestedIPs(spec.loadBalancerIP);
    if (parsed.ok) request.requestedIPs = parsed.value;
    else invalid = `spec.loadBalancerIP: ${parsed.error}`;
  }
  const pool = note(resolveAnnotation(ann, 'addressPool'));
  if (pool) {
    // A pool name is a Kubernetes object name: anything else can never match and is a typo.
    if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(pool.value) && pool.value.length <= 253)
      request.pool = pool.value;
    else
      invalid ??= `annotation ${pool.key}: ${JSON.stringify(pool.value)} is not a valid IPAddressPool name`;
  }
  const shared = note(resolveAnnotation(ann, 'allowSharedIP'));
  if (shared) request.sharingKey = shared.value;
  return { request, invalid, deprecated, disagreements };
}

/** The ingress IPs in a Service's status, in order (hostnames ignored). */
export function ingressIPs(svc: ServiceObject | undefined): string[] {
  const out: string[] = [];
  for (const i of svc?.status?.loadBalancer?.ingress ?? [])
    if (typeof i?.ip === 'string' && i.ip) out.push(i.ip);
  return out;
}

/** The pool this Service's IPs were recorded against (native key, else MetalLB's). */
export function recordedPool(svc: ServiceObject | undefined): string | null {
  const r = resolveAnnotation(svc?.metadata?.annotations, 'allocatedFromPool');
  return r ? r.value : null;
}

/** What restore() needs to take this Service's current assignment back; null when it holds none. */
export function restoreEntryOf(
  svc: ServiceObject,
  namespaceLabels: Record<string, string> | undefined,
): RestoreEntry | null {
  const ips = ingressIPs(svc);
  if (ips.length === 0) return null;
  return { service: toRequest(svc, namespaceLabels).request, ips, pool: recordedPool(svc) };
}

export interface DesiredCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** Everything the controller owns on one Service. */
export interface DesiredServiceState {
  ips: string[];
  /** Value of portico.dev/allocated-from-pool; null = the annotation must be absent. */
  pool: string | null;
  condition: DesiredCondition;
}

export function allocatedMessage(ips: readonly string[], pool: string | null): string {
  return `allocated ${ips.join(', ')}${pool ? ` from pool ${pool}` : ''}`;
}

/** The state a Service should carry after an allocation result. */
export function desiredState(
  res:
    | AllocationResult
    | { ok: false; reason: FailureReason; message: string; ips: string[]; pool: string | null },
  generation: number | undefined,
): DesiredServiceState {
  const condition: DesiredCondition = res.ok
    ? {
        type: SERVICE_CONDITIONS.IPAllocated,
        status: 'True',
        reason: IP_ALLOCATED_REASONS.Allocated,
        message: allocatedMessage(res.ips, res.pool),
      }
    : { type: SERVICE_CONDITIONS.IPAllocated, status: 'False', reason: res.reason, message: res.message };
  if (generation !== undefined) condition.observedGeneration = generation;
  return { ips: [...res.ips], pool: res.pool, condition };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Does the Service's status already say what `want` says (ingress + our condition)? */
export function statusUpToDate(svc: ServiceObject, want: DesiredServiceState): boolean {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  if (ingress.length !== want.ips.length) return false;
  for (const [i, ip] of want.ips.entries()) {
    const have = ingress[i];
    if (!have || have.ip !== ip || have.ipMode !== IP_MODE || have.hostname) return false;
  }
  const cond = (svc.status?.conditions ?? []).find((c) => c.type === want.condition.type);
  if (!cond) return false;
  return (
    cond.status === want.condition.status &&
    cond.reason === want.condition.reason &&
    cond.message === want.condition.message &&
    cond.observedGeneration === want.condition.observedGeneration
  );
}

/** Does the Service's allocated-from-pool annotation already say what `want` says? */
export function annotationUpToDate(svc: ServiceObject, want: DesiredServiceState): boolean {
  const ann = svc.metadata?.annotations ?? {};
  const has = Object.hasOwn(ann, ANNOTATIONS.allocatedFromPool);
  if (want.pool === null) return !has;
  return has && ann[ANNOTATIONS.allocatedFromPool] === want.pool;
}

/** The status body (for server-side apply) that carries `want`; the caller adds lastTransitionTime. */
export function ingressOf(ips: readonly string[]): Array<{ ip: string; ipMode: string }> {
  return ips.map((ip) => ({ ip, ipMode: IP_MODE }));
}

export { sameList };

import type { KubeObject } from './cache.ts';
import { apiVersionOf, type KubeClient, objectPath, type ResourceRef, Resources } from './client.ts';

/**
 * Server-side apply helpers. Each writer (field manager) sends only the fields it owns; the
 * apiserver merges and records ownership in managedFields. Service `status.conditions` is a
 * list-map keyed by `type`, so the controller (manager `portico-controller`, condition
 * `portico.dev/IPAllocated`) and a speaker (manager `portico-speaker`, condition
 * `portico.dev/Announced`) each own one entry and never overwrite each other.
 *
 * THE RULE OF APPLY: an apply states the manager's complete intent for that subresource. A field
 * this manager owned before and leaves out of the next apply is REMOVED. So a manager that owns
 * both `status.loadBalancer` and a condition must send both in every status apply (use
 * `extraStatus`), or use two field managers.
 */

export const APPLY_PATCH = 'application/apply-patch+yaml';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type DesiredCondition = Omit<Condition, 'lastTransitionTime'>;

/** What we need to read from an existing condition (raw JSON or client-node's V1Condition). */
export interface ConditionLike {
  type: string;
  status: string;
  lastTransitionTime?: string | Date;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface ApplyOptions {
  fieldManager: string;
  /** Take over fields another manager owns instead of failing with 409. Default true (controllers). */
  force?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface ApplyTarget {
  /** Must carry `kind`. */
  resource: ResourceRef;
  namespace?: string;
  name: string;
}

/** metav1.Time: RFC 3339, second precision. */
export function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Pure: the condition to apply. lastTransitionTime moves only when the status changes (reason or
 * message changes alone keep it), as the Kubernetes API conventions require.
 */
export function conditionForApply(
  existing: readonly ConditionLike[] | undefined,
  desired: DesiredCondition,
  now: number,
): Condition {
  const prev = existing?.find((c) => c.type === desired.type);
  const keep = prev && prev.status === desired.status ? prev.lastTransitionTime : undefined;
  const lastTransitionTime =
    keep instanceof Date ? metaTime(keep.getTime()) : typeof keep === 'string' && keep ? keep : metaTime(now);
  const out: Condition = {
    type: desired.type,
    status: desired.status,
    reason: desired.reason,
    message: desired.message,
    lastTransitionTime,
  };
  if (desired.observedGeneration !== undefined) out.observedGeneration = desired.observedGeneration;
  return out;
}

/** Pure: a conditions list with `desired` set (for callers that write whole status objects). */
export function setCondition(
  existing: readonly Condition[] | undefined,
  desired: DesiredCondition,
  now: number,
): Condition[] {
  const next = conditionForApply(existing, desired, now);
  const list = (existing ?? []).filter((c) => c.type !== desired.type);
  list.push(next);
  return list;
}

function header(t: ApplyTarget): {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
} {
  if (!t.resource.kind) throw new Error(`apply needs the kind of ${t.resource.plural}`);
  const metadata: { name: string; namespace?: string } = { name: t.name };
  if (t.resource.namespaced) {
    if (!t.namespace) throw new Error(`${t.resource.plural} is namespaced: a namespace is required`);
    metadata.namespace = t.namespace;
  }
  return { apiVersion: apiVersionOf(t.resource), kind: t.resource.kind, metadata };
}

async function applyPatch<T>(
  client: KubeClient,
  t: ApplyTarget,
  sub: string | undefined,
  body: unknown,
  o: ApplyOptions,
): Promise<T> {
  if (!o.fieldManager) throw new Error('server-side apply needs a fieldManager');
  return client.request<T>({
    method: 'PATCH',
    path: objectPath(t.resource, t.namespace, t.name, sub),
    query: { fieldManager: o.fieldManager, force: o.force ?? true },
    contentType: APPLY_PATCH,
    body,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
}

/** Apply `status` through the /status subresource as `fieldManager`. Returns the updated object. */
export async function applyStatus<T extends KubeObject = KubeObject>(
  client: KubeClient,
  target: ApplyTarget,
  status: Record<string, unknown>,
  opts: ApplyOptions,
): Promise<T> {
  return applyPatch<T>(client, target, 'status', { ...header(target), status }, opts);
}

export interface ApplyConditionOptions extends ApplyOptions {
  /**
   * The object as last seen (e.g. from an informer cache), to keep lastTransitionTime when the
   * status did not change. Without it the object is read first.
   */
  current?: { status?: { conditions?: readonly ConditionLike[] } };
  /** Other status fields this manager owns (see THE RULE OF APPLY above). */
  extraStatus?: Record<string, unknown>;
  now?: () => number;
}

/** Apply ONE condition in status.conditions, owned by `fieldManager`. */
export async function applyCondition<T extends KubeObject = KubeObject>(
  client: KubeClient,
  target: ApplyTarget,
  desired: DesiredCondition,
  opts: ApplyConditionOptions,
): Promise<T> {
  let current = opts.current;
  if (!current) {
    current = await client.request<{ status?: { conditions?: ConditionLike[] } }>({
      path: objectPath(target.resource, target.namespace, target.name, 'status'),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
  const cond = conditionForApply(current?.status?.conditions, desired, (opts.now ?? Date.now)());
  return applyStatus<T>(client, target, { ...opts.extraStatus, conditions: [cond] }, opts);
}

/** applyCondition for a Service (namespace/name). */
export async function applyServiceCondition<T extends KubeObject = KubeObject>(
  client: KubeClient,
  service: { namespace: string; name: string },
  desired: DesiredCondition,
  opts: ApplyConditionOptions,
): Promise<T> {
  return applyCondition<T>(client, { resource: Resources.services, ...service }, desired, opts);
}

/**
 * Apply metadata annotations owned by `fieldManager` (main resource, not /status). Keys this
 * manager applied before and omits now are removed; other managers' annotations are untouched.
 */
export async function applyAnnotations<T extends KubeObject = KubeObject>(
  client: KubeClient,
  target: ApplyTarget,
  annotations: Record<string, string>,
  opts: ApplyOptions,
): Promise<T> {
  const h = header(target);
  return applyPatch<T>(client, target, undefined, { ...h, metadata: { ...h.metadata, annotations } }, opts);
}

/** managedFields entries of one manager (tests, debugging). */
export function managedFieldsOf(
  obj: {
    metadata?: { managedFields?: Array<{ manager?: string; subresource?: string; fieldsV1?: unknown }> };
  },
  manager: string,
  subresource?: string,
): unknown[] {
  return (obj.metadata?.managedFields ?? [])
    .filter(
      (m) => m.manager === manager && (subresource === undefined || (m.subresource ?? '') === subresource),
    )
    .map((m) => m.fieldsV1);
}

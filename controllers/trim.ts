// What the controller keeps of each object it watches: the fields it reads, nothing else. Pure; the
// informers apply these before an object enters their cache (client-go's TransformFunc), so the
// ~2 KB the apiserver sends per Service (managedFields, kubectl's last-applied-configuration,
// ClusterIPs, node ports, the speaker's condition, ...) is garbage at once instead of resident.
//
// The rule that keeps this honest: every field a reader in controllers/ (service-state.ts,
// reconcilers.ts, lib/api/service-class.ts) or lib/kube's EventRecorder (the Event's `regarding`)
// touches is kept, whole. test/controllers/trim.test.ts checks that each of those readers answers
// the same for the trimmed object as for the full one.

import { ANNOTATION_ALIASES, ANNOTATIONS } from '../lib/api/annotations.ts';
import { SERVICE_CONDITIONS } from '../lib/api/conditions.ts';
import type { KubeObject, ObjectMeta } from '../lib/kube/index.ts';
import type { PoolObject } from './pools.ts';
import type { ServiceObject } from './service-state.ts';

/** Annotation keys the controller reads (its own keys and the MetalLB/ExternalDNS aliases). */
export const READ_ANNOTATIONS: ReadonlySet<string> = new Set([
  ...Object.values(ANNOTATIONS),
  ...Object.values(ANNOTATION_ALIASES).flat(),
]);

/** Condition types on a Service the controller reads: only the one it writes. */
const READ_CONDITIONS: ReadonlySet<string> = new Set([SERVICE_CONDITIONS.IPAllocated]);

type Meta = NonNullable<ServiceObject['metadata']>;

/** Identity and versioning fields every cached object keeps (cache key, relist diff, Events). */
function baseMeta(m: ObjectMeta | Meta | undefined): Meta {
  const out: Meta = {};
  if (!m) return out;
  if (m.name !== undefined) out.name = m.name;
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.uid !== undefined) out.uid = m.uid;
  if (m.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m.generation !== undefined) out.generation = m.generation;
  return out;
}

/** The annotations the controller reads; undefined when the Service has none of them. */
function readAnnotations(a: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!a) return undefined;
  let out: Record<string, string> | undefined;
  for (const k in a) {
    if (!READ_ANNOTATIONS.has(k) || !Object.hasOwn(a, k)) continue;
    out ??= {};
    out[k] = a[k] as string;
  }
  return out;
}

/** A Service reduced to what the controller reads. The input is not modified. */
export function trimService<T extends ServiceObject>(svc: T): T {
  const m = svc.metadata;
  const meta = baseMeta(m);
  if (m?.creationTimestamp !== undefined) meta.creationTimestamp = m.creationTimestamp;
  if (m?.labels !== undefined) meta.labels = m.labels;
  const ann = readAnnotations(m?.annotations);
  if (ann) meta.annotations = ann;
  const out: ServiceObject = { metadata: meta };
  if (svc.apiVersion !== undefined) out.apiVersion = svc.apiVersion;
  if (svc.kind !== undefined) out.kind = svc.kind;
  const s = svc.spec;
  if (s) {
    const spec: NonNullable<ServiceObject['spec']> = {};
    if (s.type !== undefined) spec.type = s.type;
    if (s.loadBalancerClass !== undefined) spec.loadBalancerClass = s.loadBalancerClass;
    if (s.loadBalancerIP !== undefined) spec.loadBalancerIP = s.loadBalancerIP;
    if (s.ipFamilies !== undefined) spec.ipFamilies = s.ipFamilies;
    if (s.ipFamilyPolicy !== undefined) spec.ipFamilyPolicy = s.ipFamilyPolicy;
    if (Array.isArray(s.ports)) {
      spec.ports = s.ports.map((p) => {
        const q: { port?: number; protocol?: string } = {};
        if (p?.port !== undefined) q.port = p.port;
        if (p?.protocol !== undefined) q.protocol = p.protocol;
        return q;
      });
    } else if (s.ports !== undefined) spec.ports = s.ports;
    if (s.externalTrafficPolicy !== undefined) spec.externalTrafficPolicy = s.externalTrafficPolicy;
    if (s.selector !== undefined) spec.selector = s.selector;
    out.spec = spec;
  }
  const st = svc.status;
  if (st) {
    const status: NonNullable<ServiceObject['status']> = {};
    if (st.loadBalancer !== undefined) status.loadBalancer = st.loadBalancer;
    if (Array.isArray(st.conditions)) {
      const ours = st.conditions.filter((c) => READ_CONDITIONS.has(c?.type));
      if (ours.length > 0) status.conditions = ours;
    }
    out.status = status;
  }
  return out as T;
}

/** A Namespace reduced to its labels (pools' namespaceSelector) and identity. */
export function trimNamespace<T extends KubeObject>(ns: T): T {
  const meta = baseMeta(ns.metadata);
  if (ns.metadata?.labels !== undefined) meta.labels = ns.metadata.labels;
  const out: KubeObject = { metadata: meta };
  if (ns.apiVersion !== undefined) out.apiVersion = ns.apiVersion;
  if (ns.kind !== undefined) out.kind = ns.kind;
  return out as T;
}

/**
 * An IPAddressPool without managedFields; spec and status are read whole, and so are its labels and
 * annotations: the MetalLB mirror (metallb-mirror.ts) shares this informer and tells its own
 * mirrors from user-made pools by them. Pools are few, so keeping them costs nothing.
 */
export function trimPool<T extends PoolObject>(pool: T): T {
  const meta: ObjectMeta = baseMeta(pool.metadata);
  if (pool.metadata?.labels !== undefined) meta.labels = pool.metadata.labels;
  if (pool.metadata?.annotations !== undefined) meta.annotations = pool.metadata.annotations;
  const out: PoolObject = { metadata: meta };
  if (pool.apiVersion !== undefined) out.apiVersion = pool.apiVersion;
  if (pool.kind !== undefined) out.kind = pool.kind;
  if (pool.spec !== undefined) out.spec = pool.spec;
  if (pool.status !== undefined) out.status = pool.status;
  return out as T;
}

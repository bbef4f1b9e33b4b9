/**
 * Service annotation keys, with the MetalLB and ExternalDNS keys Portico honours so that users can
 * migrate without rewriting their Services. Pure: no I/O, no Kubernetes client.
 *
 * Callers resolve a key with `resolveAnnotation()`; when the effective value came from an alias
 * they emit a Warning Event (reason DeprecatedAnnotation) with `aliasWarning()` as the message.
 */

/** Native Portico annotation keys. */
export const ANNOTATIONS = {
  /** Comma-separated IPs the Service asks for (at most one per family). */
  loadBalancerIPs: 'portico.dev/load-balancer-ips',
  /** Name of the IPAddressPool to allocate from. */
  addressPool: 'portico.dev/address-pool',
  /** Sharing key: Services with the same key may share one IP (ports must not clash). */
  allowSharedIP: 'portico.dev/allow-shared-ip',
  /** Comma-separated host names the DNS server publishes for the Service's ingress IPs. */
  hostname: 'portico.dev/hostname',
  /** Written back by the controller: the pool the Service's IPs came from. */
  allocatedFromPool: 'portico.dev/allocated-from-pool',
} as const;

export type AnnotationName = keyof typeof ANNOTATIONS;
export type NativeAnnotationKey = (typeof ANNOTATIONS)[AnnotationName];

/**
 * Foreign keys honoured for each annotation, in precedence order (first present wins among the
 * aliases; the native key always beats every alias). MetalLB's current `metallb.io/` prefix comes
 * before its legacy `metallb.universe.tf/`; ExternalDNS's long-standing `alpha` key before its
 * newer non-alpha form.
 */
export const ANNOTATION_ALIASES: Readonly<Record<AnnotationName, readonly string[]>> = {
  loadBalancerIPs: ['metallb.io/loadBalancerIPs', 'metallb.universe.tf/loadBalancerIPs'],
  addressPool: ['metallb.io/address-pool', 'metallb.universe.tf/address-pool'],
  allowSharedIP: ['metallb.io/allow-shared-ip', 'metallb.universe.tf/allow-shared-ip'],
  hostname: ['external-dns.alpha.kubernetes.io/hostname', 'external-dns.kubernetes.io/hostname'],
  // Written by MetalLB itself, read only to restore assignments after a migration; the controller
  // then writes the native key. Not a user's choice, so callers should not warn about it.
  allocatedFromPool: ['metallb.io/ip-allocated-from-pool', 'metallb.universe.tf/ip-allocated-from-pool'],
};

/** Annotations whose aliases are written by software, not users: no DeprecatedAnnotation Event. */
export const WRITTEN_BACK: ReadonlySet<AnnotationName> = new Set<AnnotationName>(['allocatedFromPool']);

export interface ResolvedAnnotation {
  name: AnnotationName;
  /** The native key, to suggest in a DeprecatedAnnotation Event. */
  nativeKey: NativeAnnotationKey;
  /** The key that supplied `value`. */
  key: string;
  /** The effective value, trimmed of surrounding whitespace. */
  value: string;
  /** True when `key` is an alias (MetalLB / ExternalDNS), not the native key. */
  alias: boolean;
  /**
   * Other keys for the same annotation that are present with a different value; they were ignored
   * because `key` takes precedence. Non-empty = the user's annotations disagree: report it.
   */
  overridden: Array<{ key: string; value: string }>;
}

/**
 * The effective value of one annotation. Keys whose value is empty or only whitespace count as
 * absent (a blank `metallb.io/address-pool: ""` must not mask a real alias value, nor pin a
 * Service to a pool called ""). Returns undefined when no key supplies a value.
 */
export function resolveAnnotation(
  annotations: Readonly<Record<string, string>> | undefined,
  name: AnnotationName,
): ResolvedAnnotation | undefined {
  if (!annotations) return undefined;
  const nativeKey = ANNOTATIONS[name];
  const keys = [nativeKey, ...ANNOTATION_ALIASES[name]];
  let winner: { key: string; value: string } | undefined;
  const overridden: Array<{ key: string; value: string }> = [];
  for (const key of keys) {
    if (!Object.hasOwn(annotations, key)) continue;
    const raw = annotations[key];
    if (typeof raw !== 'string') continue;
    const value = raw.trim();
    if (value === '') continue;
    if (winner === undefined) winner = { key, value };
    else if (value !== winner.value) overridden.push({ key, value });
  }
  if (winner === undefined) return undefined;
  return {
    name,
    nativeKey,
    key: winner.key,
    value: winner.value,
    alias: winner.key !== nativeKey,
    overridden,
  };
}

/** Every annotation that has a value, by name. */
export function resolveAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
): Partial<Record<AnnotationName, ResolvedAnnotation>> {
  const out: Partial<Record<AnnotationName, ResolvedAnnotation>> = {};
  for (const name of Object.keys(ANNOTATIONS) as AnnotationName[]) {
    const r = resolveAnnotation(annotations, name);
    if (r) out[name] = r;
  }
  return out;
}

/**
 * Whether the caller should emit a DeprecatedAnnotation Warning Event for this resolution: an
 * alias supplied the value and the annotation is one users write.
 */
export function shouldWarn(r: ResolvedAnnotation): boolean {
  return r.alias && !WRITTEN_BACK.has(r.name);
}

/** Message for the DeprecatedAnnotation Warning Event. */
export function aliasWarning(r: ResolvedAnnotation): string {
  return `annotation ${r.key} is honoured for compatibility; use ${r.nativeKey} instead`;
}

/** Message for a disagreement between keys (caller decides the Event reason), or undefined. */
export function conflictWarning(r: ResolvedAnnotation): string | undefined {
  if (r.overridden.length === 0) return undefined;
  const others = r.overridden.map((o) => `${o.key}=${JSON.stringify(o.value)}`).join(', ');
  return `annotations disagree: using ${r.key}=${JSON.stringify(r.value)}, ignoring ${others}`;
}

/**
 * Split a comma-separated annotation value (IPs, host names) into trimmed, non-empty items, in
 * order, without duplicates. Validation of each item is the caller's job.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item !== '' && !out.includes(item)) out.push(item);
  }
  return out;
}

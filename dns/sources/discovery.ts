// Which Gateway API kinds are installed, and at which version: decided from the apiserver's
// discovery documents (/apis/gateway.networking.k8s.io and /apis/gateway.networking.k8s.io/<v>).
// Pure: the shell fetches the documents. Any served version works, because the fields the DNS
// sources read are the same in v1, v1beta1, v1alpha2 and v1alpha3; the group's preferred version
// is taken when it serves the kind, else the first version (discovery lists them by priority).

import { GATEWAY_GROUP, ROUTE_KINDS } from './types.ts';

/** Structurally a lib/kube ResourceRef (pure code does not import lib/kube). */
export interface DiscoveredResource {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  kind: string;
}

export interface APIGroupDoc {
  name?: string;
  versions?: Array<{ groupVersion?: string; version?: string }>;
  preferredVersion?: { groupVersion?: string; version?: string };
}

export interface APIResourceListDoc {
  groupVersion?: string;
  resources?: Array<{ name?: string; kind?: string; namespaced?: boolean; verbs?: string[] }>;
}

/** Gateway API kinds the DNS sources watch. */
export const GATEWAY_API_KINDS: readonly string[] = ['Gateway', 'ListenerSet', ...ROUTE_KINDS];

/** Versions of the group in the order to try: preferred first, then as discovery lists them. */
export function versionOrder(group: APIGroupDoc): string[] {
  const out: string[] = [];
  const pv = group.preferredVersion?.version;
  if (pv) out.push(pv);
  for (const v of group.versions ?? []) if (v.version && !out.includes(v.version)) out.push(v.version);
  return out;
}

/**
 * For each wanted kind, the first version (in `versionOrder`) that serves it with list and watch.
 * Kinds no version serves are absent from the result.
 */
export function chooseResources(
  group: APIGroupDoc,
  lists: ReadonlyMap<string, APIResourceListDoc>,
  kinds: readonly string[] = GATEWAY_API_KINDS,
): Map<string, DiscoveredResource> {
  const out = new Map<string, DiscoveredResource>();
  for (const version of versionOrder(group)) {
    const list = lists.get(version);
    for (const r of list?.resources ?? []) {
      if (!r.name || r.name.includes('/') || !r.kind || !kinds.includes(r.kind) || out.has(r.kind)) continue;
      const verbs = r.verbs ?? [];
      if (!verbs.includes('list') || !verbs.includes('watch')) continue;
      out.set(r.kind, {
        group: group.name ?? GATEWAY_GROUP,
        version,
        plural: r.name,
        namespaced: r.namespaced !== false,
        kind: r.kind,
      });
    }
  }
  return out;
}

/** Same resource at the same version: the informer can stay. */
export function sameResource(a: DiscoveredResource | undefined, b: DiscoveredResource | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.group === b.group &&
    a.version === b.version &&
    a.plural === b.plural
  );
}

// Host names as Gateway API and Service annotations spell them, and the Gateway API rule for
// combining a listener's hostname with a route's: docs/decisions/047-route-listener-hostnames.md.
//
// Gateway API wildcards: `*.example.com` matches any name with at least one more label
// (`a.example.com`, `a.b.example.com`) but not `example.com` itself — the same reach as an
// RFC 4592 wildcard record `*.example.com`, which is why a wildcard result is published as-is.

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Lower-case, drop one trailing dot, check the syntax. Returns undefined for anything that is not
 * a host name, optionally with a leading `*.` label (the only place a `*` may appear).
 */
export function normalizeHostname(raw: string): string | undefined {
  if (typeof raw !== 'string') return undefined;
  let s = raw.trim().toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.length === 0 || s.length > 253) return undefined;
  const labels = s.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (i === 0 && l === '*') {
      if (labels.length < 2) return undefined;
      continue;
    }
    if (!LABEL.test(l)) return undefined;
  }
  return s;
}

export function isWildcard(name: string): boolean {
  return name.startsWith('*.');
}

/** `name` is `zone` or below it. Both normalized. */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** An exact `name` matched by wildcard `*.suffix` (one or more extra labels). */
function wildcardMatches(wildcard: string, name: string): boolean {
  return name.endsWith(wildcard.slice(1)); // '.suffix': a strict, label-aligned suffix
}

/**
 * The name a route hostname publishes through a listener hostname (both normalized; undefined =
 * not set), or undefined when they do not intersect:
 *  - no listener hostname: the listener accepts any route hostname → the route's;
 *  - no route hostname: the route inherits the listener's;
 *  - exact vs exact: equal or nothing;
 *  - wildcard vs exact: the exact name when the wildcard covers it;
 *  - wildcard vs wildcard: the narrower one when one covers the other.
 */
export function intersectHostnames(
  listener: string | undefined,
  route: string | undefined,
): string | undefined {
  if (listener === undefined) return route;
  if (route === undefined) return listener;
  const lw = isWildcard(listener);
  const rw = isWildcard(route);
  if (!lw && !rw) return listener === route ? route : undefined;
  if (lw && !rw) return wildcardMatches(listener, route) ? route : undefined;
  if (!lw && rw) return wildcardMatches(route, listener) ? listener : undefined;
  if (listener === route) return route;
  // Both wildcards: `*.a.b` is inside `*.b` when its suffix `.a.b` ends with `.b`.
  if (route.slice(1).endsWith(listener.slice(1))) return route;
  if (listener.slice(1).endsWith(route.slice(1))) return listener;
  return undefined;
}

/**
 * Names a route publishes through one listener: each route hostname intersected with the
 * listener's, or the listener's own when the route has none. Sorted, without duplicates.
 */
export function publishedNames(
  listenerHostname: string | undefined,
  routeHostnames: readonly string[],
): string[] {
  if (routeHostnames.length === 0) return listenerHostname === undefined ? [] : [listenerHostname];
  const out = new Set<string>();
  for (const r of routeHostnames) {
    const n = intersectHostnames(listenerHostname, r);
    if (n !== undefined) out.add(n);
  }
  return [...out].sort();
}

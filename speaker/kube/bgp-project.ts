// Pure glue between the speaker's caches and the BGP planner/shell: which Services this node may
// advertise (PlanService), peer passwords from Secrets, the identity of a session's configuration,
// and the BGPSessionState object a session's status becomes. No I/O; speaker/kube/bgp.ts calls it.
import { createHash } from 'node:crypto';
import { type SecretLike, secretPassword } from '../../lib/api/bgp.ts';
import type { BGPAdvertisement, BGPPeer, BGPSessionStateStatus, IPAddressPool } from '../../lib/api/types.ts';
import type { PeerStatus } from '../bgp/peer.ts';
import { advertisementCoversPool, type PeerPlan, type PlanService } from '../bgp/plan.ts';
import type { VipDecision } from '../election/elect.ts';
import { EXCLUDE_LABEL } from '../election/elect.ts';
import type { SpeakerFacts } from '../engine.ts';

/**
 * The Services whose VIPs this node may advertise over BGP. A node that is excluded
 * (exclude-from-external-load-balancers label, unless ignored) or NetworkUnavailable advertises
 * nothing: its sessions stay up but carry no routes, so the router stops sending it traffic.
 * A VIP outside every pool is never advertised (the speaker only speaks for pool addresses).
 * One PlanService per (Service, pool): a dual-stack Service may hold VIPs from two pools.
 */
export function planServices(facts: SpeakerFacts, self: string): PlanService[] {
  const node = facts.nodes.find((n) => n.name === self);
  if (!node || node.networkUnavailable) return [];
  if (!facts.ignoreExcludeLabel && node.labels && EXCLUDE_LABEL in node.labels) return [];
  const byKey = new Map<string, PlanService>();
  for (const vip of facts.vips) {
    if (vip.pool === undefined) continue;
    for (const svc of vip.services) {
      const k = `${svc.key}\u0000${vip.pool}`;
      let ps = byKey.get(k);
      if (!ps) {
        const local = svc.externalTrafficPolicy === 'Local';
        ps = {
          key: svc.key,
          vips: [],
          pool: vip.pool,
          externalTrafficPolicy: local ? 'Local' : 'Cluster',
          localReadyEndpoint: local ? [...(svc.endpointNodes ?? [])].includes(self) : false,
        };
        byKey.set(k, ps);
      }
      ps.vips.push(vip.ip);
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Peer name → TCP MD5 key (or why it cannot be had) from the Secrets the speaker may read, which
 * are those of its own namespace. A peer whose Secret is missing or malformed is left out by the
 * planner: never an unauthenticated session in its place.
 */
export function peerPasswords(
  peers: readonly BGPPeer[],
  secrets: readonly SecretLike[],
  namespace: string,
): { passwords: Map<string, string>; errors: Map<string, string> } {
  const passwords = new Map<string, string>();
  const errors = new Map<string, string>();
  for (const p of peers) {
    const ref = p.spec?.passwordSecret;
    const name = p.metadata?.name;
    if (!ref || !name) continue;
    const ns = ref.namespace ?? namespace;
    if (ns !== namespace) {
      errors.set(name, `passwordSecret ${ns}/${ref.name}: the speaker reads Secrets in ${namespace} only`);
      continue;
    }
    const secret = secrets.find((s) => s.metadata?.name === ref.name && (s.metadata?.namespace ?? ns) === ns);
    const r = secretPassword(ref, secret);
    if ('password' in r) passwords.set(name, r.password);
    else errors.set(name, r.error);
  }
  return { passwords, errors };
}

/**
 * What identifies a session: everything but its routes. A change here (new timers, password, AS,
 * address) means a new session; a change of routes alone is an UPDATE on the same session.
 * The password enters only as a hash, so the key can be logged.
 */
export function sessionKey(p: PeerPlan): string {
  const { routes: _routes, password, ...rest } = p;
  const pw = password === undefined ? '' : createHash('sha256').update(password).digest('hex').slice(0, 16);
  return JSON.stringify({ ...rest, password: pw });
}

/** RFC 3339 with second precision (metav1.Time). */
const metaTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The status a BGPSessionState carries for one session; `lastTransition` is when `state` last changed. */
export function sessionStateStatus(
  node: string,
  peer: string,
  peerAddress: string,
  s: PeerStatus,
  lastTransitionMs: number,
): BGPSessionStateStatus {
  const out: BGPSessionStateStatus = {
    node,
    peer,
    peerAddress,
    state: s.state,
    prefixesSent: s.state === 'Established' ? s.prefixesSent : 0,
    lastTransition: metaTime(lastTransitionMs),
  };
  if (s.lastError) out.lastError = s.lastError;
  if (s.state === 'Established' && s.establishedSince !== undefined)
    out.establishedSince = metaTime(s.establishedSince);
  return out;
}

/** Pools some BGPAdvertisement covers (on some node): their VIPs are carried by BGP. */
export function bgpPools(
  advertisements: readonly BGPAdvertisement[],
  pools: readonly IPAddressPool[],
): Set<string> {
  const out = new Set<string>();
  for (const pool of pools) {
    const name = pool.metadata?.name;
    if (
      name &&
      advertisements.some((a) => !a.metadata?.deletionTimestamp && advertisementCoversPool(a, pool))
    )
      out.add(name);
  }
  return out;
}

/**
 * The VIPs the L2 `portico.dev/Announced` condition speaks about: a VIP of a pool carried by BGP
 * that no L2Advertisement selects is BGP's alone — "not announced: no L2Advertisement" would be a
 * false alarm (and a Warning Event per Service). Its state is in the BGPSessionStates. A Service
 * left with no L2 VIP gets no Announced condition (a stale one is removed).
 */
export function l2StatusVips(
  serviceVips: ReadonlyMap<string, readonly string[]>,
  decisions: ReadonlyMap<string, VipDecision>,
  poolOfVip: ReadonlyMap<string, string | undefined>,
  carriedByBgp: ReadonlySet<string>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [key, vips] of serviceVips) {
    out.set(
      key,
      vips.filter((ip) => {
        const d = decisions.get(ip);
        const pool = poolOfVip.get(ip);
        const bgpOnly = d?.owner === undefined && d?.reason === 'no-l2advertisement' && pool !== undefined;
        return !(bgpOnly && carriedByBgp.has(pool));
      }),
    );
  }
  return out;
}

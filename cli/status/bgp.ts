// BGP mode in `portico status` and `portico why`, pure: BGPPeers, BGPAdvertisements and the
// speakers' BGPSessionStates in, rows and sentences out. Nothing is recomputed that a speaker
// reports: a session's state, error and prefix count are its BGPSessionState's status (written by
// that node's speaker, speaker/kube/bgp.ts). What is derived here is only the cross-check a user
// makes by hand: which advertisements select a pool, which of their peers and nodes have an
// Established session, and which peers have no session state on any node.
//
// The selection rules are the speaker's (speaker/bgp/plan.ts, ADR 101): an advertisement selects a
// pool by ipAddressPools / ipAddressPoolSelectors (both none = every pool), nodes by nodeSelectors
// (none = every node), peers by name (none = every peer).

import { checkPeer } from '../../lib/api/bgp.ts';
import { matchesSelector } from '../../lib/api/selector.ts';
import type {
  BGPAdvertisement,
  BGPPeer,
  BGPSessionState,
  IPAddressPool,
  LabelSelector,
} from '../../lib/api/types.ts';
import { BGP_SESSION_LABELS } from '../../lib/api/types.ts';

export interface BgpSessionRow {
  /** The BGPSessionState's name, `<node>-<peer>`. */
  name: string;
  node: string;
  peer: string;
  /** The router's address as the speaker dials it; null when not reported. */
  address: string | null;
  /** Idle, Connect, Active, OpenSent, OpenConfirm, Established; Unknown when no status was written. */
  state: string;
  /** Prefixes the node currently advertises on the session; null when not reported. */
  prefixes: number | null;
  /** establishedSince when Established, else lastTransition (RFC 3339); null when not reported. */
  since: string | null;
  /** The last error when not Established (null when Established or none reported). */
  lastError: string | null;
  /**
   * The node's speaker renews its Lease. When not, the row is the last thing a speaker that is gone
   * wrote: an "Established" there is stale (the router drops the session within its hold time).
   */
  speakerLive: boolean;
}

export interface BgpPeerRow {
  name: string;
  address: string;
  myASN: number | null;
  /** The peer's AS number, or `internal` / `external` (dynamicASN). */
  peerASN: string;
  /** BGPSessionStates for this peer (one per node whose speaker has it). */
  sessions: number;
  established: number;
}

export interface BgpReport {
  peers: BgpPeerRow[];
  /** One per BGPSessionState, sorted by node then peer. */
  sessions: BgpSessionRow[];
  /** Sessions in state Established whose node's speaker is live. */
  established: number;
  /** BGPPeers with no BGPSessionState on any node, sorted. */
  peersWithoutSession: string[];
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Selectors: none (or an empty list) = everything; otherwise any one matching. */
export function anySelector(
  sels: readonly LabelSelector[] | undefined,
  labels?: Record<string, string>,
): boolean {
  if (!sels?.length) return true;
  return sels.some((s) => matchesSelector(s, labels ?? {}));
}

export function sessionNode(s: BGPSessionState): string {
  return s.status?.node || s.metadata?.labels?.[BGP_SESSION_LABELS.node] || '';
}

export function sessionPeer(s: BGPSessionState): string {
  return s.status?.peer || s.metadata?.labels?.[BGP_SESSION_LABELS.peer] || '';
}

/** Established and reported by a live speaker: the node really advertises over it. */
export function sessionUp(r: BgpSessionRow): boolean {
  return r.state === 'Established' && r.speakerLive;
}

export function sessionRow(s: BGPSessionState, liveSpeakers: ReadonlySet<string>): BgpSessionRow {
  const st = s.status ?? {};
  const state = st.state ?? 'Unknown';
  const established = state === 'Established';
  return {
    name: s.metadata?.name ?? '',
    node: sessionNode(s),
    peer: sessionPeer(s),
    address: st.peerAddress || null,
    state,
    prefixes: typeof st.prefixesSent === 'number' ? st.prefixesSent : null,
    since: (established ? st.establishedSince || st.lastTransition : st.lastTransition) || null,
    lastError: established ? null : st.lastError || null,
    speakerLive: liveSpeakers.has(sessionNode(s)),
  };
}

/** The BGP part of `portico status`; null when BGP is not in use (no BGPPeer and no session state). */
export function bgpReport(
  peers: readonly BGPPeer[],
  sessions: readonly BGPSessionState[],
  liveSpeakers: ReadonlySet<string>,
): BgpReport | null {
  if (peers.length === 0 && sessions.length === 0) return null;
  const rows = sessions
    .map((s) => sessionRow(s, liveSpeakers))
    .sort((a, b) => byText(a.node, b.node) || byText(a.peer, b.peer) || byText(a.name, b.name));
  const peerRows: BgpPeerRow[] = [...peers]
    .sort((a, b) => byText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .map((p) => {
      const name = p.metadata?.name ?? '';
      const mine = rows.filter((r) => r.peer === name);
      return {
        name,
        address: p.spec?.peerAddress ?? '',
        myASN: typeof p.spec?.myASN === 'number' ? p.spec.myASN : null,
        peerASN: typeof p.spec?.peerASN === 'number' ? String(p.spec.peerASN) : (p.spec?.dynamicASN ?? ''),
        sessions: mine.length,
        established: mine.filter(sessionUp).length,
      };
    });
  return {
    peers: peerRows,
    sessions: rows,
    established: rows.filter(sessionUp).length,
    peersWithoutSession: peerRows.filter((p) => p.sessions === 0).map((p) => p.name),
  };
}

export interface BgpContext {
  peers: readonly BGPPeer[];
  /** Node name → labels (the Nodes that could be read). */
  nodeLabels: ReadonlyMap<string, Record<string, string> | undefined>;
  /** Nodes whose speaker Lease is fresh. */
  liveSpeakers: ReadonlySet<string>;
  /** Where Portico runs (its Leases' namespace): passwordSecrets must live there. */
  namespace?: string;
}

/** Why a BGPPeer has no session state on any node, the likeliest cause first. */
export function whyNoSession(peer: BGPPeer, ctx: BgpContext): string {
  const invalid = checkPeer(peer, ctx.namespace);
  if (invalid.length > 0) return `it is invalid, so no speaker uses it: ${invalid.join('; ')}`;
  const selected = [...ctx.nodeLabels]
    .filter(([, labels]) => anySelector(peer.spec?.nodeSelectors, labels))
    .map(([n]) => n)
    .sort(byText);
  if (ctx.nodeLabels.size > 0 && selected.length === 0) return 'its nodeSelectors match no Node';
  if (ctx.nodeLabels.size > 0 && !selected.some((n) => ctx.liveSpeakers.has(n)))
    return `no live speaker runs on the nodes it selects (${selected.join(', ')})`;
  return `no speaker reports a session: the speakers run without --bgp (chart: speaker.bgp.enabled=true)${peer.spec?.passwordSecret ? `, or its passwordSecret ${peer.spec.passwordSecret.name} cannot be resolved (the speakers' BGPConfigInvalid Events on the BGPPeer say)` : ''}`;
}

/** Problems with the BGP sessions, one sentence each (for the status PROBLEMS list). */
export function bgpProblems(r: BgpReport, ctx: BgpContext): string[] {
  const out: string[] = [];
  for (const s of r.sessions) {
    if (s.state === 'Established' && !s.speakerLive) {
      out.push(
        `BGP session of node ${s.node} to peer ${s.peer} reads Established, but the speaker on ${s.node} is not live (no fresh Lease): that state is stale, the router drops the session within its hold time`,
      );
      continue;
    }
    if (s.state === 'Established') continue;
    out.push(
      `BGP session of node ${s.node} to peer ${s.peer}${s.address ? ` (${s.address})` : ''} is ${s.state}${s.lastError ? `: ${s.lastError}` : ''}`,
    );
  }
  const byName = new Map(ctx.peers.map((p) => [p.metadata?.name ?? '', p]));
  for (const name of r.peersWithoutSession) {
    const peer = byName.get(name);
    out.push(
      `BGPPeer ${name} has no session state on any node: ${peer ? whyNoSession(peer, ctx) : 'unknown'}`,
    );
  }
  return out;
}

/** Does this advertisement select this pool (by name or label; none of either = every pool)? */
export function advertisementSelectsPool(
  adv: BGPAdvertisement,
  pool: IPAddressPool | undefined,
  poolName: string,
): boolean {
  const s = adv.spec ?? {};
  if (!s.ipAddressPools?.length && !s.ipAddressPoolSelectors?.length) return true;
  if ((s.ipAddressPools ?? []).includes(poolName)) return true;
  return (s.ipAddressPoolSelectors ?? []).some((sel) => matchesSelector(sel, pool?.metadata?.labels ?? {}));
}

export interface BgpPath {
  node: string;
  peer: string;
  address: string | null;
  /** The advertisements (sorted) that send the pool's VIPs from this node to this peer. */
  advertisements: string[];
}

export interface PoolBgp {
  /** Advertisements selecting the pool (sorted); empty = the pool is not advertised over BGP. */
  advertisements: string[];
  /** Established sessions over which the pool's VIPs go: node selected by an advertisement, peer among its peers. */
  established: BgpPath[];
  /** Sessions an advertisement would use but that are not Established (or whose speaker is not live). */
  down: BgpSessionRow[];
}

/**
 * Which Established sessions (of live speakers) carry a pool's VIPs: for each session state whose node an
 * advertisement selecting the pool selects (nodeSelectors, by the Node's labels; a node not in
 * `nodeLabels` matches only selector-less advertisements) and whose peer it names (none = all).
 */
export function poolBgp(
  poolName: string,
  pool: IPAddressPool | undefined,
  advertisements: readonly BGPAdvertisement[],
  sessions: readonly BGPSessionState[],
  nodeLabels: ReadonlyMap<string, Record<string, string> | undefined>,
  liveSpeakers: ReadonlySet<string>,
): PoolBgp {
  const ads = [...advertisements]
    .filter((a) => advertisementSelectsPool(a, pool, poolName))
    .sort((a, b) => byText(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  const established: BgpPath[] = [];
  const down: BgpSessionRow[] = [];
  for (const row of sessions
    .map((s) => sessionRow(s, liveSpeakers))
    .sort((a, b) => byText(a.node, b.node) || byText(a.peer, b.peer))) {
    const using = ads.filter((a) => {
      const s = a.spec ?? {};
      if (s.peers?.length && !s.peers.includes(row.peer)) return false;
      if (!s.nodeSelectors?.length) return true;
      return nodeLabels.has(row.node) && anySelector(s.nodeSelectors, nodeLabels.get(row.node));
    });
    if (using.length === 0) continue;
    if (sessionUp(row))
      established.push({
        node: row.node,
        peer: row.peer,
        address: row.address,
        advertisements: using.map((a) => a.metadata?.name ?? ''),
      });
    else down.push(row);
  }
  return { advertisements: ads.map((a) => a.metadata?.name ?? ''), established, down };
}

/** "n1 → tor-a, tor-b; n2 → tor-a" */
export function describePaths(paths: readonly BgpPath[]): string {
  const byNode = new Map<string, string[]>();
  for (const p of paths) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p.peer]);
  return [...byNode].map(([n, ps]) => `${n} → ${ps.join(', ')}`).join('; ');
}

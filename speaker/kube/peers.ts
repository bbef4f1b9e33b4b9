// Peer discovery through the API (docs/decisions/070-speaker-peer-discovery.md): each speaker
// keeps ONE coordination.k8s.io Lease `portico-speaker-<node>` in the speaker namespace carrying
// its heartbeat address, renewed slowly (a third of its duration). Peers = speakers whose Lease is
// fresh. Liveness itself comes from the UDP heartbeats; the Lease only says "a speaker runs on
// this node, beat it here". No per-VIP writes, one small write per node per ~20 s.
//
// This file is pure: Lease bodies in, peer lists out; speaker/kube/lease.ts does the I/O.
import { isIP } from 'node:net';
import type { PeerAddress } from '../membership/peers.ts';

export const LEASE_PREFIX = 'portico-speaker-';
/** Label on every speaker Lease, so the informer lists only those. */
export const SPEAKER_LEASE_LABEL = 'portico.dev/speaker';
export const HEARTBEAT_ADDRESS_ANNOTATION = 'portico.dev/heartbeat-address';

export interface LeaseLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: unknown;
  };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    renewTime?: string | null;
    acquireTime?: string | null;
  };
}

/** Lease names are DNS subdomains of ≤ 253 chars; node names are too, so only the length can overflow. */
export function leaseName(node: string): string {
  return `${LEASE_PREFIX}${node}`.slice(0, 253);
}

/** RFC 3339 with microseconds (metav1.MicroTime), as Lease times must be. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export interface LeaseBodyInput {
  node: string;
  namespace: string;
  address: string;
  durationMs: number;
  now: number;
  /** The Node's uid: the Lease is garbage-collected with its Node. */
  nodeUid?: string;
}

/** The whole Lease this speaker applies (server-side apply, field manager portico-speaker). */
export function leaseBody(i: LeaseBodyInput): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    name: leaseName(i.node),
    namespace: i.namespace,
    labels: { [SPEAKER_LEASE_LABEL]: 'true', 'app.kubernetes.io/part-of': 'portico' },
    annotations: { [HEARTBEAT_ADDRESS_ANNOTATION]: i.address },
  };
  if (i.nodeUid) {
    metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: i.node, uid: i.nodeUid }];
  }
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata,
    spec: {
      holderIdentity: i.node,
      leaseDurationSeconds: Math.max(1, Math.round(i.durationMs / 1000)),
      renewTime: microTime(i.now),
    },
  };
}

/**
 * A Lease still counts `graceMs` after it expired by the holder's clock: clocks of nodes drift
 * apart, and dropping a peer that is merely late to renew would shrink the quorum denominator for
 * nothing. A Lease without a parsable renewTime counts as expired.
 */
export function leaseFresh(lease: LeaseLike, now: number, graceMs = 0): boolean {
  const renew = Date.parse(lease.spec?.renewTime ?? '');
  const dur = lease.spec?.leaseDurationSeconds;
  if (!Number.isFinite(renew) || typeof dur !== 'number' || !(dur > 0)) return false;
  return now <= renew + dur * 1000 + graceMs;
}

/**
 * Peers from the speaker Leases: fresh, labelled, named after their holder, with a valid
 * heartbeat address; self excluded; one entry per node, sorted.
 */
export function peersFromLeases(
  leases: readonly LeaseLike[],
  self: string,
  now: number,
  graceMs = 0,
): PeerAddress[] {
  const out = new Map<string, string>();
  for (const l of leases) {
    const holder = l.spec?.holderIdentity;
    if (!holder || holder === self) continue;
    if (l.metadata?.labels?.[SPEAKER_LEASE_LABEL] !== 'true') continue;
    if (l.metadata?.name !== leaseName(holder)) continue; // a Lease may not speak for another node
    if (l.metadata?.deletionTimestamp) continue;
    const address = l.metadata?.annotations?.[HEARTBEAT_ADDRESS_ANNOTATION]?.trim();
    if (!address || isIP(address) === 0) continue;
    if (!leaseFresh(l, now, graceMs)) continue;
    out.set(holder, address);
  }
  return [...out]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([node, address]) => ({ node, address }));
}

/** When the next Lease in `leases` expires (so the peer list is recomputed then), or undefined. */
export function nextExpiry(leases: readonly LeaseLike[], now: number, graceMs = 0): number | undefined {
  let next: number | undefined;
  for (const l of leases) {
    const renew = Date.parse(l.spec?.renewTime ?? '');
    const dur = l.spec?.leaseDurationSeconds;
    if (!Number.isFinite(renew) || typeof dur !== 'number') continue;
    const t = renew + dur * 1000 + graceMs;
    if (t >= now && (next === undefined || t < next)) next = t;
  }
  return next;
}

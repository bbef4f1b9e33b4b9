import {
  ALL_NODES,
  encodeNeighborAdvertisement,
  type NeighborSolicitation,
  parseNeighborSolicitation,
} from './ndp.ts';

/**
 * The NDP answer policy, pure; the IPv6 twin of responder.ts. A Neighbor Solicitation for a VIP
 * this node owns on this interface gets a Neighbor Advertisement with our MAC: solicited (S) and
 * Override (O) flags, unicast back to the asker — or, for duplicate address detection (source
 * "::"), to all nodes without S (RFC 4861 7.2.4). Node addresses are the kernel's business.
 */
export interface NdpContext {
  mac: string;
  /** Owned v6 VIPs on this interface, canonical text (RFC 5952). */
  owned: ReadonlySet<string>;
  nodeAddresses: ReadonlySet<string>;
}

export type NdpVerdict =
  | { action: 'reply'; solicitation: NeighborSolicitation; destination: string; message: Buffer }
  | { action: 'ignore'; reason: 'malformed' | 'hop-limit' | 'not-owned' | 'node-address' | 'own-frame' };

/**
 * `source` is the solicitation's IPv6 source (canonical text, "::" for DAD); `hopLimit` the
 * received hop limit. Anything but 255 may have crossed a router and is dropped (RFC 4861 7.1.1).
 */
export function answerNeighborSolicitation(
  msg: Uint8Array,
  source: string,
  hopLimit: number,
  ctx: NdpContext,
): NdpVerdict {
  if (hopLimit !== 255) return { action: 'ignore', reason: 'hop-limit' };
  const ns = parseNeighborSolicitation(msg);
  if (!ns) return { action: 'ignore', reason: 'malformed' };
  if (ns.sourceMac === ctx.mac) return { action: 'ignore', reason: 'own-frame' };
  if (ctx.nodeAddresses.has(ns.target)) return { action: 'ignore', reason: 'node-address' };
  if (!ctx.owned.has(ns.target)) return { action: 'ignore', reason: 'not-owned' };
  const dad = source === '::';
  const message = encodeNeighborAdvertisement({
    target: ns.target,
    targetMac: ctx.mac,
    router: false,
    solicited: !dad,
    override: true,
  });
  return { action: 'reply', solicitation: ns, destination: dad ? ALL_NODES : source, message };
}

import type { PathAttribute } from './attributes.ts';
import { encodeMessage, type UpdateMessage } from './codec.ts';
import { Afi, AS_TRANS, HEADER_LENGTH, MAX_MESSAGE_LENGTH, Safi, SegmentType } from './constants.ts';
import type { Session } from './negotiate.ts';
import { parsePrefix } from './prefix.ts';

/**
 * From "these prefixes, with these communities" to the UPDATE messages for one session (pure).
 * What the shell sends on `established` / `resend-routes` and when the election changes.
 */

export interface Route {
  /** "192.0.2.10/32", "2001:db8::10/128"; host bits must be clear. */
  prefix: string;
  communities?: number[];
  largeCommunities?: [number, number, number][];
  /** LOCAL_PREF for this route, sent to internal peers only; default the context's (100). */
  localPref?: number;
}

export interface AdvertiseContext {
  localAs: number;
  session: Session;
  /** Our address on the session's IPv4 side: NEXT_HOP for IPv4 routes. */
  nextHopV4?: string;
  /** [global] or [global, link-local]: MP_REACH next hop for IPv6 routes. */
  nextHopV6?: string[];
  /** Sent to internal peers only (RFC 4271 §5.1.5); default 100. */
  localPref?: number;
}

export interface Built {
  updates: UpdateMessage[];
  /** Routes not sent, with the reason (family not negotiated, no next hop, bad prefix). */
  skipped: { prefix: string; reason: string }[];
}

/** AS_PATH for a route we originate: empty to iBGP, our AS to eBGP (AS_TRANS + AS4_PATH on a 2-octet session). */
function pathAttributes(c: AdvertiseContext, localPref: number | undefined): PathAttribute[] {
  const attrs: PathAttribute[] = [{ type: 'origin', value: 0 }];
  if (c.session.internal) {
    attrs.push({ type: 'as-path', segments: [] });
    attrs.push({ type: 'local-pref', value: localPref ?? c.localPref ?? 100 });
    return attrs;
  }
  if (c.session.fourOctetAs || c.localAs <= 0xffff) {
    attrs.push({ type: 'as-path', segments: [{ type: SegmentType.AS_SEQUENCE, asns: [c.localAs] }] });
  } else {
    // RFC 6793 §4.2.2: an OLD peer sees AS_TRANS, and AS4_PATH carries the real AS through it.
    attrs.push({ type: 'as-path', segments: [{ type: SegmentType.AS_SEQUENCE, asns: [AS_TRANS] }] });
    attrs.push({ type: 'as4-path', segments: [{ type: SegmentType.AS_SEQUENCE, asns: [c.localAs] }] });
  }
  return attrs;
}

const negotiated = (s: Session, afi: number) =>
  s.families.some((f) => f.afi === afi && f.safi === Safi.UNICAST);
const nlriSize = (prefix: string) => {
  const p = parsePrefix(prefix);
  return typeof p === 'string' ? 0 : 1 + Math.ceil(p.length / 8);
};

/**
 * Groups routes with equal communities (and, to internal peers, LOCAL_PREF) into shared UPDATEs and splits each group so every message
 * stays within 4096 octets. IPv4 goes in the base NLRI field with NEXT_HOP, IPv6 in MP_REACH_NLRI.
 */
export function advertise(routes: readonly Route[], c: AdvertiseContext): Built {
  const skipped: Built['skipped'] = [];
  const groups = new Map<string, { afi: number; route: Route; prefixes: string[] }>();
  for (const r of routes) {
    const p = parsePrefix(r.prefix);
    if (typeof p === 'string') {
      skipped.push({ prefix: r.prefix, reason: p });
      continue;
    }
    if (!negotiated(c.session, p.afi)) {
      skipped.push({
        prefix: r.prefix,
        reason: `${p.afi === Afi.IPV4 ? 'IPv4' : 'IPv6'} unicast not negotiated`,
      });
      continue;
    }
    if (p.afi === Afi.IPV4 ? !c.nextHopV4 : !c.nextHopV6?.length) {
      skipped.push({ prefix: r.prefix, reason: 'no next hop of that family on this session' });
      continue;
    }
    const localPref = c.session.internal ? (r.localPref ?? null) : null;
    const key = JSON.stringify([p.afi, r.communities ?? [], r.largeCommunities ?? [], localPref]);
    const g = groups.get(key) ?? { afi: p.afi, route: r, prefixes: [] };
    g.prefixes.push(r.prefix);
    groups.set(key, g);
  }
  const updates: UpdateMessage[] = [];
  const ctx = { fourOctetAs: c.session.fourOctetAs };
  for (const g of groups.values()) {
    const attrs = pathAttributes(c, g.route.localPref);
    if (g.route.communities?.length) attrs.push({ type: 'communities', values: g.route.communities });
    if (g.route.largeCommunities?.length)
      attrs.push({ type: 'large-communities', values: g.route.largeCommunities });
    const build = (prefixes: string[]): UpdateMessage =>
      g.afi === Afi.IPV4
        ? {
            type: 'update',
            withdrawn: [],
            attributes: [...attrs, { type: 'next-hop', address: c.nextHopV4! }],
            nlri: prefixes,
          }
        : {
            type: 'update',
            withdrawn: [],
            // RFC 7606 §5.1: MP_REACH_NLRI first, so a receiver can still find the NLRI if a later attribute is bad.
            attributes: [
              { type: 'mp-reach', afi: Afi.IPV6, safi: Safi.UNICAST, nextHops: c.nextHopV6!, nlri: prefixes },
              ...attrs,
            ],
            nlri: [],
          };
    // Attributes whose size does not depend on the NLRI; the extended-length flag of MP_REACH may
    // add one octet, hence the slack.
    const fixed = encodeMessage(build([]), ctx).length + 1;
    updates.push(...packed(g.prefixes, fixed, build));
  }
  return { updates, skipped };
}

/** UPDATEs withdrawing prefixes (IPv4 in Withdrawn Routes, IPv6 in MP_UNREACH_NLRI), each ≤ 4096 octets. */
export function withdraw(prefixes: readonly string[], session: Session): Built {
  const skipped: Built['skipped'] = [];
  const byAfi: Record<number, string[]> = { [Afi.IPV4]: [], [Afi.IPV6]: [] };
  for (const prefix of prefixes) {
    const p = parsePrefix(prefix);
    if (typeof p === 'string') skipped.push({ prefix, reason: p });
    else if (!negotiated(session, p.afi)) skipped.push({ prefix, reason: 'family not negotiated' });
    else byAfi[p.afi]!.push(prefix);
  }
  const updates: UpdateMessage[] = [];
  for (const afi of [Afi.IPV4, Afi.IPV6]) {
    const build = (ps: string[]): UpdateMessage =>
      afi === Afi.IPV4
        ? { type: 'update', withdrawn: ps, attributes: [], nlri: [] }
        : {
            type: 'update',
            withdrawn: [],
            attributes: [{ type: 'mp-unreach', afi, safi: Safi.UNICAST, withdrawn: ps }],
            nlri: [],
          };
    const fixed = HEADER_LENGTH + 4 + (afi === Afi.IPV6 ? 4 + 3 : 0);
    updates.push(...packed(byAfi[afi]!, fixed, build));
  }
  return { updates, skipped };
}

/**
 * Split `prefixes` into as few messages as fit in 4096 octets each: `fixed` is the size of a
 * message with no prefixes, `build` makes one message from a batch.
 */
function packed<T>(prefixes: readonly string[], fixed: number, build: (batch: string[]) => T): T[] {
  const out: T[] = [];
  let batch: string[] = [];
  let size = fixed;
  for (const prefix of prefixes) {
    const n = nlriSize(prefix);
    if (size + n > MAX_MESSAGE_LENGTH && batch.length) {
      out.push(build(batch));
      batch = [];
      size = fixed;
    }
    batch.push(prefix);
    size += n;
  }
  if (batch.length) out.push(build(batch));
  return out;
}

import type { VipDecision } from './elect.ts';

/**
 * What this speaker announces, given the election and whether it is in a minority partition
 * (ADR 051). Pure.
 *
 * - Majority, tie, or alone in the cluster: exactly the VIPs the election gives to `self`.
 * - Minority (hears fewer than half of the cluster, itself included): hold. Keep announcing what
 *   it announced before the partition, as long as it is still a candidate (link up, endpoint
 *   present, advertisement unchanged), and take nothing new — the isolated node is the likelier
 *   explanation, and the majority side is taking those VIPs over.
 */
export type PartitionPolicy = 'hold' | 'announce-all';

export function announcedBy(
  self: string,
  decisions: ReadonlyMap<string, VipDecision>,
  view: { minority: boolean },
  previouslyAnnounced: ReadonlySet<string>,
  policy: PartitionPolicy = 'hold',
): Set<string> {
  const out = new Set<string>();
  for (const [ip, d] of decisions) {
    if (d.owner === undefined) continue;
    if (!view.minority || policy === 'announce-all') {
      if (d.owner === self) out.add(ip);
    } else if (previouslyAnnounced.has(ip) && d.candidates.includes(self)) {
      out.add(ip);
    }
  }
  return out;
}

// Which speaker writes which Service's `portico.dev/Announced` condition, and what it says. Pure.
//
// One writer per Service, chosen the same way on every speaker from the same election output, so
// speakers never fight over the condition (they all apply as field manager `portico-speaker`,
// and an apply from a second writer would simply overwrite the first):
//   - the owner of the Service's first announced VIP (canonical order) writes it;
//   - when none of its VIPs has an owner, the lowest-named live speaker writes it (False with the
//     reason), because no owner exists to do so. Every speaker knows the live set from the same
//     heartbeats, so during a short disagreement at worst two speakers write the same text.
// The condition is True only when every VIP of the Service is announced.
import { ANNOUNCED_REASONS, SERVICE_CONDITIONS } from '../../lib/api/conditions.ts';
import type { VipDecision } from '../election/elect.ts';

export interface DesiredAnnounced {
  type: typeof SERVICE_CONDITIONS.Announced;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface StatusPlan {
  /** Service key → the condition this speaker must see applied. */
  write: Map<string, DesiredAnnounced>;
}

function describe(ip: string, d: VipDecision | undefined): string {
  if (!d) return `${ip}: not announced (no decision)`;
  if (d.owner === undefined) return `${ip}: not announced (${d.message})`;
  const ifs = d.interfaces.length ? d.interfaces.join(',') : 'unknown interface';
  return `${ip}: node ${d.owner} interface ${ifs}`;
}

/** The condition every writer would apply for one Service (independent of who writes it). */
export function announcedCondition(
  vips: readonly string[],
  decisions: ReadonlyMap<string, VipDecision>,
): DesiredAnnounced | undefined {
  if (vips.length === 0) return undefined;
  const parts = vips.map((ip) => describe(ip, decisions.get(ip)));
  const missingIp = vips.find((ip) => decisions.get(ip)?.owner === undefined);
  if (missingIp === undefined) {
    return {
      type: SERVICE_CONDITIONS.Announced,
      status: 'True',
      reason: ANNOUNCED_REASONS.Announced,
      message: parts.join('; '),
    };
  }
  const missing = decisions.get(missingIp);
  const reason =
    missing?.owner === undefined && missing?.reason === 'no-l2advertisement'
      ? ANNOUNCED_REASONS.NoL2Advertisement
      : ANNOUNCED_REASONS.NoEligibleNode;
  return { type: SERVICE_CONDITIONS.Announced, status: 'False', reason, message: parts.join('; ') };
}

/** Who writes a Service's condition (see the file comment). undefined = nobody alive. */
export function writerOf(
  vips: readonly string[],
  decisions: ReadonlyMap<string, VipDecision>,
  alive: readonly string[],
): string | undefined {
  for (const ip of vips) {
    const d = decisions.get(ip);
    if (d?.owner !== undefined) return d.owner;
  }
  return [...alive].sort()[0];
}

/**
 * The conditions `self` must write: for each handled Service with VIPs whose writer is `self`.
 * Services without VIPs get nothing (the controller reports allocation; nothing to announce).
 */
export function planStatus(
  self: string,
  serviceVips: ReadonlyMap<string, readonly string[]>,
  decisions: ReadonlyMap<string, VipDecision>,
  alive: readonly string[],
): StatusPlan {
  const write = new Map<string, DesiredAnnounced>();
  for (const [key, vips] of serviceVips) {
    const cond = announcedCondition(vips, decisions);
    if (!cond) continue;
    if (writerOf(vips, decisions, alive) === self) write.set(key, cond);
  }
  return { write };
}

/** Is the condition already as desired (so no write is needed)? lastTransitionTime is not compared. */
export function conditionMatches(
  existing: ReadonlyArray<{ type: string; status: string; reason: string; message: string }> | undefined,
  desired: DesiredAnnounced,
): boolean {
  const c = existing?.find((x) => x.type === desired.type);
  return !!c && c.status === desired.status && c.reason === desired.reason && c.message === desired.message;
}

/**
 * Owner changes between two elections, for Events and the ownership-changes metric: every VIP
 * whose owner differs (gained, lost or moved). `before` undefined = first election: no changes.
 */
export function ownerChanges(
  before: ReadonlyMap<string, VipDecision> | undefined,
  after: ReadonlyMap<string, VipDecision>,
): Array<{ ip: string; from: string | undefined; to: string | undefined }> {
  if (!before) return [];
  const out: Array<{ ip: string; from: string | undefined; to: string | undefined }> = [];
  const ips = new Set([...before.keys(), ...after.keys()]);
  for (const ip of [...ips].sort()) {
    const from = before.get(ip)?.owner;
    const to = after.get(ip)?.owner;
    if (from !== to) out.push({ ip, from, to });
  }
  return out;
}

export function hasAnnounced(conditions: ReadonlyArray<{ type: string }> | undefined): boolean {
  return (conditions ?? []).some((c) => c.type === SERVICE_CONDITIONS.Announced);
}

/**
 * Services that still carry an Announced condition but have nothing to announce any more (not
 * handled: class changed, type changed; or no VIP left). Keys, sorted. The lowest live speaker
 * removes the condition.
 */
export function staleAnnounced(
  services: ReadonlyArray<{
    metadata?: { name?: string; namespace?: string };
    status?: { conditions?: ReadonlyArray<{ type: string }> };
  }>,
  serviceVips: ReadonlyMap<string, readonly string[]>,
): string[] {
  const out: string[] = [];
  for (const s of services) {
    if (!hasAnnounced(s.status?.conditions)) continue;
    const key = `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
    if ((serviceVips.get(key)?.length ?? 0) === 0) out.push(key);
  }
  return out.sort();
}

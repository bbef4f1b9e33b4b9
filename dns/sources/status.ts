// What a DNSZone's status should say, and the decision whether it needs writing. Pure (no client):
// the shell in dns/kubernetes.ts applies the result by server-side apply through /status.

import { DNS_ZONE_CONDITIONS, DNS_ZONE_REASONS } from '../../lib/api/conditions.ts';
import type { Condition, DNSZoneStatus } from '../../lib/api/types.ts';
import type { ZoneProjection } from './project.ts';

/** Condition messages are capped at 32 KiB by the API; stay well inside. */
const MAX_MESSAGE = 4000;

export interface DesiredCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface DesiredZoneStatus {
  records?: number;
  serial?: number;
  observedGeneration?: number;
  conditions: DesiredCondition[];
}

function cap(s: string): string {
  return s.length <= MAX_MESSAGE ? s : `${s.slice(0, MAX_MESSAGE - 1)}…`;
}

/** The zone builder's problems (`zone "apex" …`) that concern this zone. */
export function builderErrorsFor(zone: string, errors: readonly string[]): string[] {
  return errors.filter((e) => e.startsWith(`zone "${zone}"`));
}

export function desiredStatus(
  zp: ZoneProjection,
  served: { serial: number; recordCount: number } | undefined,
  builderErrors: readonly string[],
): DesiredZoneStatus {
  const gen = zp.dnsZone.metadata?.generation;
  const invalid = [...zp.invalid, ...builderErrors];
  const conditions: DesiredCondition[] = [];
  if (served) {
    const p = zp.published;
    conditions.push({
      type: DNS_ZONE_CONDITIONS.Ready,
      status: 'True',
      reason: DNS_ZONE_REASONS.Serving,
      message: `serving ${served.recordCount} records, serial ${served.serial} (names from routes: ${p.gateway}, services: ${p.service}, static records: ${p.static})`,
    });
  } else {
    conditions.push({
      type: DNS_ZONE_CONDITIONS.Ready,
      status: 'False',
      reason: DNS_ZONE_REASONS.InvalidRecords,
      message: cap(`not served: ${invalid.join('; ') || 'zone could not be built'}`),
    });
  }
  conditions.push(
    zp.conflicts.length > 0
      ? {
          type: DNS_ZONE_CONDITIONS.Conflict,
          status: 'True',
          reason: DNS_ZONE_REASONS.ConflictingSources,
          message: cap(`all claims are served; ${zp.conflicts.map((c) => c.message).join('; ')}`),
        }
      : {
          type: DNS_ZONE_CONDITIONS.Conflict,
          status: 'False',
          reason: DNS_ZONE_REASONS.NoConflict,
          message: 'no two sources claim one name with different data',
        },
  );
  conditions.push(
    invalid.length > 0
      ? {
          type: DNS_ZONE_CONDITIONS.Invalid,
          status: 'True',
          reason: DNS_ZONE_REASONS.InvalidRecords,
          message: cap(invalid.join('; ')),
        }
      : {
          type: DNS_ZONE_CONDITIONS.Invalid,
          status: 'False',
          reason: DNS_ZONE_REASONS.Valid,
          message: 'spec is valid',
        },
  );
  const out: DesiredZoneStatus = { conditions };
  if (served) {
    out.records = served.recordCount;
    out.serial = served.serial;
  }
  if (gen !== undefined) out.observedGeneration = gen;
  return out;
}

/** Does the object's current status already say what we want? (lastTransitionTime aside.) */
export function statusUpToDate(current: DNSZoneStatus | undefined, want: DesiredZoneStatus): boolean {
  if (!current) return false;
  if (current.records !== want.records || current.serial !== want.serial) return false;
  if (current.observedGeneration !== want.observedGeneration) return false;
  const have = current.conditions ?? [];
  if (have.length !== want.conditions.length) return false;
  return want.conditions.every((w) => {
    const c = have.find((h: Condition) => h.type === w.type);
    return (
      c !== undefined &&
      c.status === w.status &&
      c.reason === w.reason &&
      c.message === w.message &&
      c.observedGeneration === want.observedGeneration
    );
  });
}

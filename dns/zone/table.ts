// ZoneTable: the single place that turns "what the zones contain now" into snapshots with serials.
// Sources (static file, DNSZone/Gateway/Service watchers) hand it complete ZoneSpecs, as often as
// they like; a zone's serial moves only when its content changed.
//
// Serial rule (RFC 1982 arithmetic, RFC 1912 §2.2 advice): new = max(previous + 1, unix seconds).
// Starting from unix time means a restarted server (no memory of the previous serial) still moves
// forward as long as its clock does, and two replicas built from the same content within the same
// second agree; +1 guarantees an increase even for several changes in one second. See
// docs/decisions/041-soa-serial.md.

import { buildSnapshotSet, type SnapshotSet } from './snapshot.ts';
import type { ZoneInput, ZoneSpec } from './spec.ts';

export function nextSerial(previous: number | undefined, nowSeconds: number): number {
  const now = Math.floor(nowSeconds) >>> 0;
  if (previous === undefined) return now;
  return Math.max(previous + 1, now) % 2 ** 32;
}

/** Order-independent fingerprint of a zone's content: the same records in another order are equal. */
export function fingerprint(spec: ZoneSpec): string {
  const records = spec.records
    .map((r) => JSON.stringify([r.name.toLowerCase(), r.type, [...r.values].sort(), r.ttl ?? null]))
    .sort();
  return JSON.stringify([
    spec.zone.toLowerCase(),
    spec.ttl ?? null,
    spec.soa ?? null,
    spec.nameServers ?? null,
    records,
  ]);
}

export interface TableUpdate {
  set: SnapshotSet;
  inputs: ZoneInput[];
  errors: string[];
  /** Zones whose serial moved in this update. */
  changed: string[];
}

export class ZoneTable {
  private readonly clock: () => number;
  private state = new Map<string, { fingerprint: string; serial: number }>();

  constructor(clock: () => number = () => Date.now() / 1000) {
    this.clock = clock;
  }

  serialOf(zone: string): number | undefined {
    return this.state.get(zone.toLowerCase().replace(/\.$/, ''))?.serial;
  }

  update(specs: readonly ZoneSpec[]): TableUpdate {
    const now = this.clock();
    const next = new Map<string, { fingerprint: string; serial: number }>();
    const inputs: ZoneInput[] = [];
    const changed: string[] = [];
    for (const spec of specs) {
      const key = spec.zone.toLowerCase().replace(/\.$/, '');
      const fp = fingerprint(spec);
      const prev = this.state.get(key);
      let serial: number;
      if (prev && prev.fingerprint === fp) serial = prev.serial;
      else {
        serial = nextSerial(prev?.serial, now);
        changed.push(key);
      }
      next.set(key, { fingerprint: fp, serial });
      inputs.push({ ...spec, serial });
    }
    // Forgetting a removed zone is deliberate: if it comes back, unix time still moves it forward.
    this.state = next;
    const { set, errors } = buildSnapshotSet(inputs);
    return { set, inputs, errors, changed };
  }
}

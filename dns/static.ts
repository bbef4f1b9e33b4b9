// Standalone mode's source: zones from a YAML file (examples/zone.yaml), reloaded when it changes.
//
// The file holds one zone per YAML document in the DNSZone spec shape (zone, ttl, soa, nameServers,
// records) — or whole DNSZone objects, whose `spec` is used — so what a newcomer writes here can
// later be pasted into a DNSZone. Parsing is strict: an unknown key or a bad record rejects the
// whole file, and the server keeps serving the previous version (a typo never empties a zone).

import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { buildSnapshotSet } from './zone/snapshot.ts';
import { RECORD_TYPES, type RecordInput, type ZoneSpec } from './zone/spec.ts';

const ZONE_KEYS = new Set(['zone', 'ttl', 'soa', 'nameServers', 'records', 'sources']);
const SOA_KEYS = new Set(['mname', 'rname', 'refresh', 'retry', 'expire', 'minimum']);
const RECORD_KEYS = new Set(['name', 'type', 'values', 'ttl']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k))
      throw new Error(`${where}: unknown key "${k}" (allowed: ${[...allowed].join(', ')})`);
  }
}

function zoneFrom(doc: unknown, where: string): ZoneSpec {
  let spec = doc;
  if (isObject(doc) && doc.kind === 'DNSZone') spec = doc.spec;
  if (!isObject(spec)) throw new Error(`${where}: expected a mapping with "zone" and "records"`);
  checkKeys(spec, ZONE_KEYS, where);
  if (typeof spec.zone !== 'string' || spec.zone === '') throw new Error(`${where}: "zone" must be a name`);
  const at = `${where} (zone ${spec.zone})`;
  const out: ZoneSpec = { zone: spec.zone, records: [] };
  if (spec.ttl !== undefined) {
    if (typeof spec.ttl !== 'number') throw new Error(`${at}: "ttl" must be a number`);
    out.ttl = spec.ttl;
  }
  if (spec.soa !== undefined) {
    if (!isObject(spec.soa)) throw new Error(`${at}: "soa" must be a mapping`);
    checkKeys(spec.soa, SOA_KEYS, `${at} soa`);
    out.soa = spec.soa as ZoneSpec['soa'];
  }
  if (spec.nameServers !== undefined) {
    if (!Array.isArray(spec.nameServers) || !spec.nameServers.every((n) => typeof n === 'string'))
      throw new Error(`${at}: "nameServers" must be a list of names`);
    out.nameServers = spec.nameServers as string[];
  }
  const records = spec.records ?? [];
  if (!Array.isArray(records)) throw new Error(`${at}: "records" must be a list`);
  records.forEach((r: unknown, i) => {
    const rw = `${at} records[${i}]`;
    if (!isObject(r)) throw new Error(`${rw}: expected a mapping with name, type, values`);
    checkKeys(r, RECORD_KEYS, rw);
    if (typeof r.name !== 'string') throw new Error(`${rw}: "name" must be a string`);
    if (typeof r.type !== 'string' || !RECORD_TYPES.includes(r.type.toUpperCase() as RecordInput['type']))
      throw new Error(`${rw}: "type" must be one of ${RECORD_TYPES.join(', ')}`);
    const values = typeof r.values === 'string' ? [r.values] : r.values;
    if (!Array.isArray(values) || values.length === 0)
      throw new Error(`${rw}: "values" must be a non-empty list`);
    const rec: RecordInput = {
      name: r.name,
      type: r.type.toUpperCase() as RecordInput['type'],
      values: values.map(String),
      source: rw,
    };
    if (r.ttl !== undefined) {
      if (typeof r.ttl !== 'number') throw new Error(`${rw}: "ttl" must be a number`);
      rec.ttl = r.ttl;
    }
    out.records.push(rec);
  });
  return out;
}

/** Parse and fully validate a zone file. Throws an Error naming the first problem. */
export function parseZoneFile(text: string, fileName = 'zone file'): ZoneSpec[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${fileName}: not YAML`);
  const specs: ZoneSpec[] = [];
  docs.forEach((d, i) => {
    if (d.errors.length > 0) throw new Error(`${fileName}: ${d.errors[0]!.message}`);
    const value: unknown = d.toJS();
    if (value === null || value === undefined) return; // empty document (e.g. a trailing ---)
    const where = docs.length > 1 ? `${fileName} document ${i + 1}` : fileName;
    if (isObject(value) && Array.isArray(value.zones) && !('zone' in value)) {
      value.zones.forEach((z: unknown, j: number) => {
        specs.push(zoneFrom(z, `${where} zones[${j}]`));
      });
    } else specs.push(zoneFrom(value, where));
  });
  if (specs.length === 0) throw new Error(`${fileName}: no zone defined`);
  // Same rules as the server: any record the builder would drop makes the file invalid here.
  const { errors } = buildSnapshotSet(specs.map((s) => ({ ...s, serial: 0 })));
  if (errors.length > 0) throw new Error(`${fileName}: ${errors.join('; ')}`);
  return specs;
}

export async function loadZoneFile(path: string): Promise<ZoneSpec[]> {
  return parseZoneFile(await readFile(path, 'utf8'), path);
}

/**
 * Call `onLoad` with the file's zones whenever it changes (debounced), or `onError` when the new
 * content is invalid. Watches the file itself, not its directory: a busy directory (/tmp, /etc)
 * would wake the server for every unrelated write. Editors save by rename and Kubernetes swaps
 * ConfigMap symlinks, both of which end the watch on the old inode: on 'rename' the watch is
 * re-established on the path after the debounce (retrying while the path is missing).
 * Returns a stop function.
 */
export function watchZoneFile(
  path: string,
  onLoad: (specs: ZoneSpec[]) => void,
  onError: (err: Error) => void,
  debounceMs = 200,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let stopped = false;
  const reload = () => {
    timer = undefined;
    if (stopped) return;
    if (!watcher) arm();
    loadZoneFile(path).then(
      (specs) => {
        if (!stopped) onLoad(specs);
      },
      (err: unknown) => {
        if (!stopped) onError(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  };
  const arm = () => {
    try {
      watcher = fsWatch(path, (event) => {
        if (event === 'rename') {
          // The inode we watched is gone or replaced: watch the path again on the next reload.
          watcher?.close();
          watcher = undefined;
        }
        schedule();
      });
      watcher.on('error', (err) => {
        watcher?.close();
        watcher = undefined;
        onError(err);
        schedule();
      });
    } catch {
      // Missing right now (mid-rename): try again shortly.
      watcher = undefined;
      if (!stopped) setTimeout(() => !stopped && !watcher && reload(), Math.max(debounceMs, 500)).unref();
    }
  };
  arm();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    watcher?.close();
  };
}

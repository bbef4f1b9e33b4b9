// Zone snapshots: immutable, pre-encoded answer tables built from ZoneInput records.
//
// Every (name, qtype) answer a zone can give is encoded here once, as the bytes that follow the
// question section ("body") plus its section counts and rcode. Answering a query is then a header
// check, a name walk, a map lookup and a copy (answer.ts). Bodies point back into the question with
// compression pointers, so they are only valid behind a question name of a known length:
//  - exact names: the question name IS the owner name, so its length is fixed → built eagerly;
//  - wildcard synthesis and NXDOMAIN: the question name is any name below the zone, so the body is
//    built per question-name length on first use and memoised (at most 255 variants; the snapshot's
//    answers never change, only the memo fills).
// See docs/decisions/040-pre-encoded-answers.md.

import { Flag, Rcode, RRType } from '../wire/constants.ts';
import { type Owner, type RData, recordTypeCode, type Soa, type WireRecord, Writer } from '../wire/encode.ts';
import { ipv4Bytes, ipv6Bytes, reverseName } from '../wire/ip.ts';
import { isSubdomain, type Name, nameHash, parseName, qualify } from '../wire/name.ts';
import { DEFAULT_SOA, DEFAULT_TTL, RECORD_TYPES, validTtl, type ZoneInput } from './spec.ts';

/** Pre-encoded bytes after the question, with what the header must say about them. */
export interface Blob {
  /** Header bits to OR in: AA and the 4-bit rcode. */
  flags: number;
  rcode: number;
  an: number;
  ns: number;
  ar: number;
  body: Buffer;
}

interface RRset {
  type: number;
  ttl: number;
  data: RData[];
}

export interface ZoneNode {
  /** Lower-case owner, wire form. */
  wire: Uint8Array;
  text: string;
  labelCount: number;
  /** Next node with the same hash (collision chain). */
  next: ZoneNode | undefined;
  rrsets: Map<number, RRset>;
  /** Answers per qtype for this exact name (eager). */
  answers: Map<number, Blob>;
  /** Answer for any other qtype: NODATA, or the CNAME chase. */
  fallback: Blob | undefined;
  /** RFC 8482 minimal ANY answer. */
  any: Blob | undefined;
  /** The `*.<this>` node when it exists. */
  wildcard: ZoneNode | undefined;
  /** Memo for wildcard synthesis: key = qnameLength * 65536 + qtype. */
  synth: Map<number, Blob>;
}

export interface ZoneSnapshot {
  name: string;
  apex: Name;
  apexLabelCount: number;
  serial: number;
  /** Resource records served, SOA and NS included. */
  recordCount: number;
  nodes: Map<number, ZoneNode>;
  /** Next zone with the same apex hash. */
  next: ZoneSnapshot | undefined;
  soaRecord: { ttl: number; soa: Soa };
  nameservers: string[];
  /** min(SOA TTL, SOA minimum): the TTL of the SOA in negative answers (RFC 2308 §3). */
  negativeTtl: number;
  /** NXDOMAIN bodies per question-name length. */
  nx: Array<Blob | undefined>;
  /** Record types present anywhere in the zone. */
  types: Set<number>;
  byText: Map<string, ZoneNode>;
}

export interface SnapshotSet {
  zones: Map<number, ZoneSnapshot>;
  list: ZoneSnapshot[];
}

export interface BuildResult {
  set: SnapshotSet;
  /** Input problems; the offending record (or zone) was left out, everything else is served. */
  errors: string[];
}

const ANY_PREFERENCE = [RRType.CNAME, RRType.A, RRType.AAAA, RRType.SOA, RRType.NS, RRType.TXT, RRType.PTR];
const MAX_CHASE = 8;

function blob(
  rcode: number,
  an: WireRecord[],
  ns: WireRecord[],
  base: number,
  dict: Map<string, number>,
): Blob {
  const w = new Writer(base, dict);
  for (const r of an) w.record(r);
  for (const r of ns) w.record(r);
  return {
    flags: Flag.AA | rcode,
    rcode,
    an: an.length,
    ns: ns.length,
    ar: 0,
    body: Buffer.from(w.bytes()),
  };
}

/** Dictionary for the suffixes of `name` written starting at `offset`. */
function dictAt(labels: string[], offset: number): Map<string, number> {
  const d = new Map<string, number>();
  let off = offset;
  for (let i = 0; i < labels.length; i++) {
    d.set(labels.slice(i).join('.'), off);
    off += 1 + labels[i]!.length;
  }
  return d;
}

function addRecord(
  owners: Map<string, Map<number, RRset>>,
  owner: string,
  type: number,
  ttl: number,
  data: RData,
): void {
  let sets = owners.get(owner);
  if (!sets) {
    sets = new Map();
    owners.set(owner, sets);
  }
  let set = sets.get(type);
  if (!set) {
    set = { type, ttl, data: [] };
    sets.set(type, set);
  }
  // RFC 2181 §5.2: one TTL per RRset; take the smallest offered.
  set.ttl = Math.min(set.ttl, ttl);
  const key = JSON.stringify(data);
  if (!set.data.some((d) => JSON.stringify(d) === key)) set.data.push(data);
}

function rdataFor(type: string, value: string): RData {
  switch (type) {
    case 'A':
      ipv4Bytes(value);
      return { type: 'A', address: value };
    case 'AAAA':
      ipv6Bytes(value);
      return { type: 'AAAA', address: value };
    case 'CNAME':
    case 'PTR': {
      // Targets are absolute host names (lib/api DNSRecord): `app.example.org`, trailing dot optional.
      const t = parseName(value);
      if (t.labels[0] === '*') throw new Error(`${type} target "${value}" cannot be a wildcard`);
      return { type, target: t.text };
    }
    case 'TXT':
      return { type: 'TXT', texts: [value] };
    default:
      throw new Error(`unsupported record type "${type}" (supported: ${RECORD_TYPES.join(', ')})`);
  }
}

function isReverseZone(zone: string): boolean {
  return isSubdomain(zone, 'in-addr.arpa') || isSubdomain(zone, 'ip6.arpa');
}

/** Build every zone. Bad records are reported in `errors` and skipped; a bad zone name skips the zone. */
export function buildSnapshotSet(inputs: readonly ZoneInput[]): BuildResult {
  const errors: string[] = [];
  const parsed: Array<{
    input: ZoneInput;
    apex: Name;
    owners: Map<string, Map<number, RRset>>;
    count: number;
  }> = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    let apex: Name;
    try {
      apex = parseName(input.zone);
      if (apex.labels[0] === '*') throw new Error('a zone apex cannot be a wildcard');
    } catch (e) {
      errors.push(`zone "${input.zone}": ${(e as Error).message}`);
      continue;
    }
    if (seen.has(apex.text)) {
      errors.push(`zone "${apex.text}" is defined twice; the first definition is served`);
      continue;
    }
    seen.add(apex.text);
    const ttl = input.ttl ?? DEFAULT_TTL;
    if (!validTtl(ttl)) {
      errors.push(`zone "${apex.text}": invalid ttl ${String(input.ttl)}`);
      continue;
    }
    const owners = new Map<string, Map<number, RRset>>();
    let count = 0;
    for (const r of input.records) {
      const where = `zone "${apex.text}" record ${r.name} ${r.type}${r.source ? ` (from ${r.source})` : ''}`;
      try {
        const owner = parseName(qualify(r.name, apex.text));
        if (!isSubdomain(owner.text, apex.text)) throw new Error(`name is outside the zone`);
        const rttl = r.ttl ?? ttl;
        if (!validTtl(rttl)) throw new Error(`invalid ttl ${String(r.ttl)}`);
        if (!Array.isArray(r.values) || r.values.length === 0) throw new Error('no values');
        for (const v of r.values) {
          if (typeof v !== 'string') throw new Error(`value ${JSON.stringify(v)} is not a string`);
          addRecord(owners, owner.text, recordTypeCode[r.type], rttl, rdataFor(r.type, v));
        }
      } catch (e) {
        errors.push(`${where}: ${(e as Error).message}`);
      }
    }
    // RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME owner has no other data, and one CNAME only.
    for (const [owner, sets] of owners) {
      const cname = sets.get(RRType.CNAME);
      if (!cname) continue;
      if (owner === apex.text) {
        errors.push(`zone "${apex.text}": a CNAME at the apex is not allowed; dropped`);
        sets.delete(RRType.CNAME);
        continue;
      }
      if (sets.size > 1) {
        errors.push(`zone "${apex.text}" name ${owner}: CNAME next to other records; the CNAME is dropped`);
        sets.delete(RRType.CNAME);
      } else if (cname.data.length > 1) {
        errors.push(`zone "${apex.text}" name ${owner}: several CNAME targets; only the first is served`);
        cname.data.length = 1;
      }
    }
    for (const sets of owners.values()) for (const s of sets.values()) count += s.data.length;
    parsed.push({ input, apex, owners, count });
  }

  // PTR for every forward A/AAAA whose reverse name falls in a configured reverse zone.
  const reverse = parsed
    .filter((p) => isReverseZone(p.apex.text))
    .sort((a, b) => b.apex.labels.length - a.apex.labels.length);
  if (reverse.length > 0) {
    for (const p of parsed) {
      if (isReverseZone(p.apex.text)) continue;
      for (const [owner, sets] of p.owners) {
        if (owner.startsWith('*')) continue;
        for (const t of [RRType.A, RRType.AAAA]) {
          for (const d of sets.get(t)?.data ?? []) {
            if (d.type !== 'A' && d.type !== 'AAAA') continue;
            const rev = reverseName(d.address);
            const rz = reverse.find((z) => isSubdomain(rev, z.apex.text));
            if (!rz) continue;
            if (rz.owners.get(rev)?.get(RRType.CNAME)) continue;
            const before = rz.owners.get(rev)?.get(RRType.PTR)?.data.length ?? 0;
            addRecord(rz.owners, rev, RRType.PTR, sets.get(t)!.ttl, { type: 'PTR', target: owner });
            rz.count += (rz.owners.get(rev)?.get(RRType.PTR)?.data.length ?? 0) - before;
          }
        }
      }
    }
  }

  const set: SnapshotSet = { zones: new Map(), list: [] };
  for (const p of parsed) {
    let z: ZoneSnapshot;
    try {
      z = buildZone(p.input, p.apex, p.owners, p.count);
    } catch (e) {
      errors.push(`zone "${p.apex.text}": ${(e as Error).message}; zone not served`);
      continue;
    }
    set.list.push(z);
    const h = nameHash(p.apex);
    const prev = set.zones.get(h);
    if (prev) {
      let tail = prev;
      while (tail.next) tail = tail.next;
      tail.next = z;
    } else set.zones.set(h, z);
  }
  return { set, errors };
}

function buildZone(
  input: ZoneInput,
  apex: Name,
  owners: Map<string, Map<number, RRset>>,
  count: number,
): ZoneSnapshot {
  const ttl = input.ttl ?? DEFAULT_TTL;
  const s = input.soa ?? {};
  const mname = parseName(s.mname ?? qualify('ns', apex.text)).text;
  const rname = parseName(s.rname ?? qualify('hostmaster', apex.text)).text;
  const soa: Soa = {
    mname,
    rname,
    serial: input.serial >>> 0,
    refresh: s.refresh ?? DEFAULT_SOA.refresh,
    retry: s.retry ?? DEFAULT_SOA.retry,
    expire: s.expire ?? DEFAULT_SOA.expire,
    minimum: s.minimum ?? DEFAULT_SOA.minimum,
  };
  for (const k of ['refresh', 'retry', 'expire', 'minimum'] as const) {
    if (!validTtl(soa[k])) throw new Error(`invalid soa.${k} ${String(soa[k])}`);
  }
  const soaTtl = ttl;
  const nameservers = (input.nameServers?.length ? input.nameServers : [mname]).map((n) => parseName(n).text);
  addRecord(owners, apex.text, RRType.SOA, soaTtl, { type: 'SOA', soa });
  for (const n of nameservers) addRecord(owners, apex.text, RRType.NS, ttl, { type: 'NS', target: n });

  const zone: ZoneSnapshot = {
    name: apex.text,
    apex,
    apexLabelCount: apex.labels.length,
    serial: soa.serial,
    recordCount: count + 1 + nameservers.length,
    nodes: new Map(),
    next: undefined,
    soaRecord: { ttl: soaTtl, soa },
    nameservers,
    negativeTtl: Math.min(soaTtl, soa.minimum),
    nx: [],
    types: new Set(),
    byText: new Map(),
  };

  const node = (text: string): ZoneNode => {
    let n = zone.byText.get(text);
    if (n) return n;
    const name = parseName(text);
    n = {
      wire: name.wire,
      text,
      labelCount: name.labels.length,
      next: undefined,
      rrsets: new Map(),
      answers: new Map(),
      fallback: undefined,
      any: undefined,
      wildcard: undefined,
      synth: new Map(),
    };
    zone.byText.set(text, n);
    const h = nameHash(name);
    const prev = zone.nodes.get(h);
    if (prev) {
      let tail = prev;
      while (tail.next) tail = tail.next;
      tail.next = n;
    } else zone.nodes.set(h, n);
    return n;
  };

  node(apex.text);
  for (const [owner, sets] of owners) {
    const n = node(owner);
    n.rrsets = sets;
    // Empty non-terminals: every ancestor up to the apex exists (RFC 8020: NODATA, never NXDOMAIN).
    const labels = owner.split('.');
    for (let i = 1; i < labels.length - apex.labels.length; i++) node(labels.slice(i).join('.'));
  }
  for (const n of zone.byText.values()) {
    if (n.text.startsWith('*.')) zone.byText.get(n.text.slice(2))!.wildcard = n;
  }

  // Eager answers for exact names: the question name is the owner itself.
  const qtypes = zone.types;
  for (const sets of owners.values()) for (const t of sets.keys()) qtypes.add(t);
  for (const n of zone.byText.values()) {
    const dict = dictAt(n.text === '' ? [] : n.text.split('.'), 12);
    const base = 12 + n.wire.length + 4;
    const owner: Owner = n.text;
    for (const t of qtypes) {
      if (n.rrsets.has(t) || n.rrsets.has(RRType.CNAME))
        n.answers.set(t, encodeLookup(zone, n, owner, t, base, dict));
    }
    n.fallback = encodeLookup(zone, n, owner, 0, base, dict);
    n.any = encodeAny(zone, n, owner, base, dict);
  }
  return zone;
}

/** The SOA for the authority section of negative answers (RFC 2308 §3). */
function negativeSoa(zone: ZoneSnapshot): WireRecord {
  return { owner: zone.name, ttl: zone.negativeTtl, data: { type: 'SOA', soa: zone.soaRecord.soa } };
}

function records(owner: Owner, set: RRset): WireRecord[] {
  return set.data.map((data) => ({ owner, ttl: set.ttl, data }));
}

/** Find the node answering for `text` inside the zone: exact, else wildcard at the closest encloser. */
function findNode(zone: ZoneSnapshot, text: string): ZoneNode | undefined {
  const exact = zone.byText.get(text);
  if (exact) return exact;
  const labels = text.split('.');
  for (let i = 1; i <= labels.length - zone.apexLabelCount; i++) {
    const ce = zone.byText.get(labels.slice(i).join('.'));
    if (ce) return ce.wildcard;
  }
  return undefined;
}

/**
 * The answer for `qtype` at node `n` reached under the name `owner`, following CNAMEs inside the zone
 * (RFC 1034 §4.3.2 step 3a; RFC 6604: the rcode is that of the last name in the chain).
 * qtype 0 stands for "a type no record here has".
 */
function encodeLookup(
  zone: ZoneSnapshot,
  n: ZoneNode,
  owner: Owner,
  qtype: number,
  base: number,
  dict: Map<string, number>,
): Blob {
  const an: WireRecord[] = [];
  let cur: ZoneNode | undefined = n;
  let curOwner: Owner = owner;
  const visited = new Set<ZoneNode>();
  for (let step = 0; step <= MAX_CHASE; step++) {
    if (!cur) return blob(Rcode.NXDOMAIN, an, [negativeSoa(zone)], base, dict);
    const direct = cur.rrsets.get(qtype);
    if (direct) {
      an.push(...records(curOwner, direct));
      return blob(Rcode.NOERROR, an, [], base, dict);
    }
    const cname = cur.rrsets.get(RRType.CNAME);
    if (!cname) return blob(Rcode.NOERROR, an, [negativeSoa(zone)], base, dict);
    an.push(...records(curOwner, cname));
    const target = (cname.data[0] as { target: string }).target;
    if (!isSubdomain(target, zone.name)) return blob(Rcode.NOERROR, an, [], base, dict);
    visited.add(cur);
    cur = findNode(zone, target);
    if (cur && visited.has(cur)) break;
    curOwner = target;
  }
  // A CNAME loop or an over-long chain: hand back what we have; resolvers detect the loop themselves.
  return blob(Rcode.NOERROR, an, [], base, dict);
}

/** RFC 8482 §4.2: answer ANY with one RRset of the name rather than all of them. */
function encodeAny(
  zone: ZoneSnapshot,
  n: ZoneNode,
  owner: Owner,
  base: number,
  dict: Map<string, number>,
): Blob {
  for (const t of ANY_PREFERENCE) {
    const s = n.rrsets.get(t);
    if (s) return blob(Rcode.NOERROR, records(owner, s), [], base, dict);
  }
  for (const s of n.rrsets.values()) return blob(Rcode.NOERROR, records(owner, s), [], base, dict);
  return blob(Rcode.NOERROR, [], [negativeSoa(zone)], base, dict);
}

/** Compression dictionary for a question name of `qnameLength` wire bytes ending in the apex. */
function apexDict(zone: ZoneSnapshot, qnameLength: number): Map<string, number> {
  return dictAt(zone.apex.labels, 12 + qnameLength - zone.apex.wire.length);
}

/** NXDOMAIN for a name of `qnameLength` wire bytes (memoised). */
export function nxBlob(zone: ZoneSnapshot, qnameLength: number): Blob {
  let b = zone.nx[qnameLength];
  if (!b) {
    b = blob(Rcode.NXDOMAIN, [], [negativeSoa(zone)], 12 + qnameLength + 4, apexDict(zone, qnameLength));
    zone.nx[qnameLength] = b;
  }
  return b;
}

/** Wildcard synthesis (RFC 4592 §3.3.1): the wildcard's data, owned by the question name (memoised). */
export function synthBlob(zone: ZoneSnapshot, wild: ZoneNode, qnameLength: number, queryType: number): Blob {
  // Types no record in the zone has all get the same answer: fold them into 0 so the memo stays
  // bounded by (lengths × types present) whatever qtypes a client sprays.
  const qtype = queryType === RRType.ANY || zone.types.has(queryType) ? queryType : 0;
  const key = qnameLength * 65536 + qtype;
  let b = wild.synth.get(key);
  if (!b) {
    const owner: Owner = { pointer: 12 };
    const base = 12 + qnameLength + 4;
    const dict = apexDict(zone, qnameLength);
    b =
      qtype === RRType.ANY
        ? encodeAny(zone, wild, owner, base, dict)
        : encodeLookup(zone, wild, owner, qtype, base, dict);
    wild.synth.set(key, b);
  }
  return b;
}

/** A convenience for logs and status: how many RRs each zone serves. */
export function describe(set: SnapshotSet): Array<{ zone: string; serial: number; records: number }> {
  return set.list.map((z) => ({ zone: z.name, serial: z.serial, records: z.recordCount }));
}

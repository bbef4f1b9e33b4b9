// What a zone is made of — the one input shape every source feeds (static file, DNSZone spec,
// Gateway API routes, Services). Shape = lib/api DNSZoneSpec without `sources` (zone, ttl, soa,
// nameServers, records) so a DNSZone's static part passes straight through; sources append records.

/** SOA fields a zone may set; all optional. The serial is never configured: see table.ts. */
export interface SoaSettings {
  /** Primary name server, absolute host name. Default `ns.<zone>`. */
  mname?: string;
  /** Responsible mailbox as a name (hostmaster.example.com). Default `hostmaster.<zone>`. */
  rname?: string;
  refresh?: number;
  retry?: number;
  expire?: number;
  /** Negative-caching TTL bound (RFC 2308 §4). Default 30. The SOA record's own TTL is the zone TTL. */
  minimum?: number;
}

/** Record types a zone may hold. SOA and apex NS come from `soa` / `nameservers`, not from here. */
export type RecordInputType = 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'PTR';

export interface RecordInput {
  /** Relative to the zone ('app', '*.apps', '@' = apex) or absolute with a trailing dot. */
  name: string;
  type: RecordInputType;
  /**
   * One RR per value: addresses for A/AAAA, an absolute host name (trailing dot optional) for
   * CNAME/PTR, text for TXT.
   */
  values: string[];
  /** Default: the zone TTL. */
  ttl?: number;
  /** Who contributed it (e.g. `HTTPRoute default/app`), quoted in conflict reports. */
  source?: string;
}

export interface ZoneSpec {
  /** Apex, e.g. `k8s.home.arpa`, or a reverse zone, e.g. `2.0.192.in-addr.arpa`. */
  zone: string;
  /** Default TTL for records. Default 300. */
  ttl?: number;
  soa?: SoaSettings;
  /** Apex NS host names (absolute). Default [soa.mname]. */
  nameServers?: string[];
  records: RecordInput[];
}

/** A ZoneSpec with the serial decided (by ZoneTable) — what buildSnapshotSet consumes. */
export interface ZoneInput extends ZoneSpec {
  serial: number;
}

export const DEFAULT_TTL = 300;
export const DEFAULT_SOA = { refresh: 3600, retry: 600, expire: 86400, minimum: 30 } as const;
export const RECORD_TYPES: readonly RecordInputType[] = ['A', 'AAAA', 'CNAME', 'TXT', 'PTR'];

const MAX_TTL = 0x7fffffff; // RFC 2181 §8

export function validTtl(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TTL;
}

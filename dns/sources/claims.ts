// A claim: one source saying "this name has these addresses". Gateway routes and Services produce
// claims; project.ts sorts them into zones, detects conflicts and turns them into records.

import { formatIP, parseIP } from '../../lib/net/ip.ts';
import { normalizeHostname } from './hostname.ts';

export type ClaimType = 'A' | 'AAAA' | 'CNAME';

/** Where a claim came from, for a DNSZone's source selection. */
export type ClaimOrigin =
  | {
      kind: 'gateway';
      gatewayNamespace: string;
      gatewayClassName: string;
      gatewayLabels: Record<string, string>;
      routeNamespace: string;
    }
  | { kind: 'service'; namespace: string };

export interface Claim {
  /** Normalized host name, possibly `*.x`. */
  name: string;
  /** A and AAAA claims carry every address of the source; a CNAME claim carries one target. */
  records: Array<{ type: ClaimType; values: string[] }>;
  /** Human-readable: `HTTPRoute default/app via Gateway infra/gw`, `Service default/web`. */
  source: string;
  origin: ClaimOrigin;
}

export interface AddressRecords {
  records: Array<{ type: ClaimType; values: string[] }>;
  /** Address entries that could not be used, with why. */
  problems: string[];
}

/**
 * Addresses (IPs and host names, as a Gateway's status.addresses or a Service's ingress list them)
 * → A / AAAA / CNAME. IPs win: a CNAME cannot share its name with other records (RFC 1034 §3.6.2),
 * so a host name is published only when there is no IP, and only the first one.
 */
export function addressRecords(ips: readonly string[], hostnames: readonly string[]): AddressRecords {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  const problems: string[] = [];
  for (const raw of ips) {
    const p = parseIP(raw.trim());
    if (!p.ok) {
      problems.push(`address "${raw}" is not an IP address`);
      continue;
    }
    (p.value.family === 4 ? v4 : v6).add(formatIP(p.value));
  }
  const records: AddressRecords['records'] = [];
  if (v4.size > 0) records.push({ type: 'A', values: [...v4].sort() });
  if (v6.size > 0) records.push({ type: 'AAAA', values: [...v6].sort() });
  const targets: string[] = [];
  for (const raw of hostnames) {
    const h = normalizeHostname(raw);
    if (h === undefined || h.startsWith('*')) problems.push(`address "${raw}" is not a host name`);
    else if (!targets.includes(h)) targets.push(h);
  }
  if (records.length === 0 && targets.length > 0) {
    records.push({ type: 'CNAME', values: [targets[0]!] });
    if (targets.length > 1)
      problems.push(`several host names (${targets.join(', ')}); only ${targets[0]} is published`);
  } else if (records.length > 0 && targets.length > 0) {
    problems.push(`host name addresses (${targets.join(', ')}) ignored next to IP addresses`);
  }
  return { records, problems };
}

// LoadBalancer Services → claims: every host name in `portico.dev/hostname` (comma list; the
// ExternalDNS keys `external-dns.alpha.kubernetes.io/hostname` and
// `external-dns.kubernetes.io/hostname` are honoured too) points at the Service's
// status.loadBalancer.ingress addresses. A Service without ingress yet publishes nothing.

import {
  aliasWarning,
  conflictWarning,
  resolveAnnotation,
  shouldWarn,
  splitList,
} from '../../lib/api/annotations.ts';
import { EVENT_REASONS } from '../../lib/api/conditions.ts';
import { addressRecords, type Claim } from './claims.ts';
import { normalizeHostname } from './hostname.ts';
import { keyOf, type Service } from './types.ts';

/** Something the shell should tell the Service's owner with a Warning Event. */
export interface ServiceNotice {
  service: Service;
  reason:
    | typeof EVENT_REASONS.DeprecatedAnnotation
    | typeof EVENT_REASONS.InvalidHostname
    | typeof EVENT_REASONS.ConflictingAnnotations;
  message: string;
}

export interface ServiceProjection {
  claims: Claim[];
  notices: ServiceNotice[];
}

export function serviceClaims(services: readonly Service[]): ServiceProjection {
  const claims: Claim[] = [];
  const notices: ServiceNotice[] = [];
  for (const svc of services) {
    if (svc.spec?.type !== 'LoadBalancer') continue;
    const r = resolveAnnotation(svc.metadata?.annotations, 'hostname');
    if (!r) continue;
    if (shouldWarn(r))
      notices.push({ service: svc, reason: EVENT_REASONS.DeprecatedAnnotation, message: aliasWarning(r) });
    const disagree = conflictWarning(r);
    if (disagree)
      notices.push({ service: svc, reason: EVENT_REASONS.ConflictingAnnotations, message: disagree });
    const names: string[] = [];
    for (const item of splitList(r.value)) {
      const n = normalizeHostname(item);
      if (n === undefined) {
        notices.push({
          service: svc,
          reason: EVENT_REASONS.InvalidHostname,
          message: `${r.key}: "${item}" is not a host name; it is not published`,
        });
      } else if (!names.includes(n)) names.push(n);
    }
    if (names.length === 0) continue;
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    const addr = addressRecords(
      ingress.flatMap((i) => (typeof i.ip === 'string' && i.ip !== '' ? [i.ip] : [])),
      ingress.flatMap((i) => (typeof i.hostname === 'string' && i.hostname !== '' ? [i.hostname] : [])),
    );
    if (addr.records.length === 0) continue;
    const ns = svc.metadata?.namespace ?? '';
    for (const name of names.sort()) {
      claims.push({
        name,
        records: addr.records,
        source: `Service ${keyOf(svc)}`,
        origin: { kind: 'service', namespace: ns },
      });
    }
  }
  return { claims, notices };
}

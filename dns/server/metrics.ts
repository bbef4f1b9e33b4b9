// prom-client metrics for the DNS server, fed from the per-thread QueryStats (stats.ts).

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SnapshotSet } from '../zone/snapshot.ts';
import { decodeQueriesIndex, type StatsSnapshot } from './stats.ts';

export class DnsMetrics {
  readonly registry: Registry;
  private readonly queries: Counter<'qtype' | 'rcode' | 'transport'>;
  private readonly latency: Histogram;
  private readonly truncated: Counter;
  private readonly rateLimited: Counter;
  private readonly dropped: Counter;
  private readonly sendErrors: Counter;
  private readonly replayed: Counter;
  private readonly records: Gauge<'zone'>;
  private readonly serial: Gauge<'zone'>;
  /** Last cumulative totals seen per source (thread), to turn them into increments. */
  private readonly last = new Map<string, StatsSnapshot>();

  constructor(registry = new Registry(), sampleEvery = 16) {
    this.registry = registry;
    this.queries = new Counter({
      name: 'portico_dns_queries_total',
      help: 'DNS messages answered, by query type, response code and transport.',
      labelNames: ['qtype', 'rcode', 'transport'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'portico_dns_query_duration_seconds',
      help: `Time from message received to response built, sampled on 1 in ${sampleEvery} answers built in JavaScript (replayed UDP answers are not timed).`,
      buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025],
      registers: [registry],
    });
    this.truncated = new Counter({
      name: 'portico_dns_truncated_total',
      help: 'UDP responses sent with TC=1 because they exceeded the payload limit.',
      registers: [registry],
    });
    this.rateLimited = new Counter({
      name: 'portico_dns_rate_limited_total',
      help: 'UDP responses dropped or slipped (TC=1) by response rate limiting.',
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'portico_dns_dropped_total',
      help: 'Messages that got no response (shorter than a header, or not a query).',
      registers: [registry],
    });
    this.sendErrors = new Counter({
      name: 'portico_dns_send_errors_total',
      help: 'UDP responses the kernel refused to send (send buffer full, unreachable client).',
      registers: [registry],
    });
    this.replayed = new Counter({
      name: 'portico_dns_udp_replayed_total',
      help:
        'UDP answers the native path replayed for a query byte-identical (after the ID) to one ' +
        'answered since the last zone change; also counted in portico_dns_queries_total, not in ' +
        'the latency histogram.',
      registers: [registry],
    });
    this.records = new Gauge({
      name: 'portico_dns_zone_records',
      help: 'Resource records served per zone (SOA and NS included).',
      labelNames: ['zone'],
      registers: [registry],
    });
    this.serial = new Gauge({
      name: 'portico_dns_zone_serial',
      help: 'SOA serial served per zone.',
      labelNames: ['zone'],
      registers: [registry],
    });
  }

  /** Fold one thread's drained stats in. `source` names the thread. */
  apply(source: string, s: StatsSnapshot): void {
    const prev = this.last.get(source);
    for (let i = 0; i < s.queries.length; i++) {
      const d = s.queries[i]! - (prev?.queries[i] ?? 0);
      if (d > 0) this.queries.inc(decodeQueriesIndex(i), d);
    }
    const inc = (c: Counter, now: number, before: number | undefined) => {
      if (now - (before ?? 0) > 0) c.inc(now - (before ?? 0));
    };
    inc(this.truncated, s.truncated, prev?.truncated);
    inc(this.rateLimited, s.rateLimited, prev?.rateLimited);
    inc(this.dropped, s.dropped, prev?.dropped);
    inc(this.sendErrors, s.sendErrors, prev?.sendErrors);
    inc(this.replayed, s.replayed, prev?.replayed);
    for (const v of s.samples) this.latency.observe(v);
    this.last.set(source, { ...s, samples: new Float64Array(0) });
  }

  zones(set: SnapshotSet): void {
    this.records.reset();
    this.serial.reset();
    for (const z of set.list) {
      this.records.set({ zone: z.name }, z.recordCount);
      this.serial.set({ zone: z.name }, z.serial);
    }
  }
}

// Per-thread query counters kept in typed arrays: the hot path only increments a cell. The shell
// drains them into prom-client (metrics.ts) on a timer and at scrape time, from the main thread or
// via postMessage from worker threads. Latency is sampled (1 in `sampleEvery` queries) so the timer
// calls stay off most queries; the histogram's help text says so.

import { RRType } from '../wire/constants.ts';

/** qtype label values; anything else is "other". */
export const QTYPE_LABELS = [
  'A',
  'AAAA',
  'CNAME',
  'SOA',
  'NS',
  'PTR',
  'TXT',
  'MX',
  'SRV',
  'SVCB',
  'HTTPS',
  'ANY',
];
const QTYPE_CODES = [
  RRType.A,
  RRType.AAAA,
  RRType.CNAME,
  RRType.SOA,
  RRType.NS,
  RRType.PTR,
  RRType.TXT,
  RRType.MX,
  RRType.SRV,
  64,
  65,
  RRType.ANY,
];
const OTHER_TYPE = QTYPE_LABELS.length; // also used for "no question"
export const QTYPE_SLOTS = QTYPE_LABELS.length + 1;

export const RCODE_LABELS = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'BADVERS',
  'other',
];
export const RCODE_SLOTS = RCODE_LABELS.length;
export const TRANSPORTS = ['udp', 'tcp'] as const;

const typeSlot = new Int8Array(65536).fill(OTHER_TYPE);
QTYPE_CODES.forEach((c, i) => {
  typeSlot[c] = i;
});

export function qtypeLabel(slot: number): string {
  return QTYPE_LABELS[slot] ?? 'other';
}

function rcodeSlot(rcode: number): number {
  if (rcode >= 0 && rcode <= 5) return rcode;
  if (rcode === 16) return 6;
  return 7;
}

export const SAMPLE_CAPACITY = 4096;

export interface StatsSnapshot {
  /** [transport][qtypeSlot][rcodeSlot] flattened; cumulative since the thread started. */
  queries: Float64Array;
  truncated: number;
  rateLimited: number;
  dropped: number;
  sendErrors: number;
  replayed: number;
  /** Latency samples (seconds) since the last drain. */
  samples: Float64Array;
}

export class QueryStats {
  readonly queries = new Float64Array(TRANSPORTS.length * QTYPE_SLOTS * RCODE_SLOTS);
  truncated = 0;
  rateLimited = 0;
  /** Messages that got no response at all (runts, responses sent to us, oversized datagrams). */
  dropped = 0;
  /** Responses the kernel would not take (send buffer full, unreachable destination). */
  sendErrors = 0;
  /** UDP answers the native addon replayed without calling into JavaScript (counted in queries too). */
  replayed = 0;
  readonly sampleEvery: number;
  private samples = new Float64Array(SAMPLE_CAPACITY);
  private nSamples = 0;
  private tick = 0;

  constructor(sampleEvery = 16) {
    this.sampleEvery = Math.max(1, Math.floor(sampleEvery));
  }

  /** True when this query's latency should be measured. */
  shouldSample(): boolean {
    if (++this.tick < this.sampleEvery) return false;
    this.tick = 0;
    return true;
  }

  count(tcp: boolean, qtype: number, rcode: number): void {
    this.queries[this.cell(tcp, qtype, rcode)]!++;
  }

  /** The `queries` index a query of this transport, type and rcode counts in. */
  cell(tcp: boolean, qtype: number, rcode: number): number {
    const t = qtype < 0 ? OTHER_TYPE : typeSlot[qtype & 0xffff]!;
    return ((tcp ? 1 : 0) * QTYPE_SLOTS + t) * RCODE_SLOTS + rcodeSlot(rcode);
  }

  sample(seconds: number): void {
    if (this.nSamples < SAMPLE_CAPACITY) this.samples[this.nSamples++] = seconds;
  }

  /** Counters (cumulative) plus the samples collected since the previous drain. */
  drain(): StatsSnapshot {
    const samples = this.samples.slice(0, this.nSamples);
    this.nSamples = 0;
    return {
      queries: this.queries.slice(),
      truncated: this.truncated,
      rateLimited: this.rateLimited,
      dropped: this.dropped,
      sendErrors: this.sendErrors,
      replayed: this.replayed,
      samples,
    };
  }
}

export function decodeQueriesIndex(i: number): { transport: string; qtype: string; rcode: string } {
  const r = i % RCODE_SLOTS;
  const t = Math.floor(i / RCODE_SLOTS) % QTYPE_SLOTS;
  const tr = Math.floor(i / (RCODE_SLOTS * QTYPE_SLOTS));
  return { transport: TRANSPORTS[tr]!, qtype: qtypeLabel(t), rcode: RCODE_LABELS[r]! };
}

// The controller's Prometheus metrics. Queue depth, adds, retries and per-controller reconcile
// counts come from lib/kube's Controller (workqueue_* / controller_reconcile_total) in the same
// registry; the ones here are about addresses and allocations.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from '../lib/observe/metrics.ts';
import type { PoolReport } from './ipam/index.ts';

export class ControllerMetrics {
  readonly registry: Registry;
  readonly addressesTotal: Gauge<'pool' | 'family'>;
  readonly addressesInUse: Gauge<'pool' | 'family'>;
  readonly outOfPool: Gauge<'pool'>;
  readonly allocations: Counter<'result'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly leader: Gauge;
  readonly writes: Counter<'kind'>;
  readonly inProcessV8Flags: Gauge<'flags'>;
  private knownPools = new Set<string>();

  /** Default: lib/observe's registry (with process metrics: portico_process_resident_memory_bytes, ...). */
  constructor(registry: Registry = createRegistry()) {
    this.registry = registry;
    const registers = [registry];
    this.addressesTotal = new Gauge({
      name: 'portico_pool_addresses_total',
      help: 'Allocatable addresses per pool and family (float: huge IPv6 pools are approximate here, exact in pool status)',
      labelNames: ['pool', 'family'],
      registers,
    });
    this.addressesInUse = new Gauge({
      name: 'portico_pool_addresses_in_use',
      help: 'Addresses of the pool held by Services, per family',
      labelNames: ['pool', 'family'],
      registers,
    });
    this.outOfPool = new Gauge({
      name: 'portico_pool_out_of_pool_services',
      help: 'Services recorded against the pool whose IPs no longer lie in it (kept, never reassigned)',
      labelNames: ['pool'],
      registers,
    });
    this.allocations = new Counter({
      name: 'portico_allocations_total',
      help: 'Allocation outcomes that changed a Service: Allocated, a failure reason, or Released',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'portico_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by reconciler',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.leader = new Gauge({
      name: 'portico_controller_leader',
      help: '1 while this replica holds the leader Lease and writes, 0 on standby',
      registers,
    });
    this.writes = new Counter({
      name: 'portico_controller_writes_total',
      help: 'Writes to the apiserver by kind (service-status, service-annotation, pool-status, clear)',
      labelNames: ['kind'],
      registers,
    });
    this.inProcessV8Flags = new Gauge({
      name: 'portico_process_in_process_v8_flags_info',
      help: 'V8 flags the process set for itself at start (controllers/main-heap.ts); absent when none',
      labelNames: ['flags'],
      registers,
    });
  }

  /** Replace the per-pool gauges with the allocator's current reports. */
  setPools(reports: readonly PoolReport[]): void {
    const now = new Set<string>();
    for (const r of reports) {
      now.add(r.name);
      for (const fam of ['IPv4', 'IPv6'] as const) {
        const s = r[fam];
        if (s) {
          this.addressesTotal.set({ pool: r.name, family: fam }, Number(s.total));
          this.addressesInUse.set({ pool: r.name, family: fam }, Number(s.assigned));
        } else {
          this.addressesTotal.remove({ pool: r.name, family: fam });
          this.addressesInUse.remove({ pool: r.name, family: fam });
        }
      }
      this.outOfPool.set({ pool: r.name }, r.outOfPool);
    }
    for (const gone of this.knownPools) {
      if (now.has(gone)) continue;
      for (const fam of ['IPv4', 'IPv6']) {
        this.addressesTotal.remove({ pool: gone, family: fam });
        this.addressesInUse.remove({ pool: gone, family: fam });
      }
      this.outOfPool.remove({ pool: gone });
    }
    this.knownPools = now;
  }

  clearPools(): void {
    this.setPools([]);
  }
}

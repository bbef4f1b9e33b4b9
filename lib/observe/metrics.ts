/**
 * Prometheus metrics: one prom-client Registry per process (never the global one, so tests can
 * build as many as they like), with the default process metrics under the `portico_` prefix.
 * Components register their own metrics on the registry with names from metricName().
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRIC_PREFIX = 'portico_';

/** `portico_<name>`; throws on a name Prometheus would reject, so typos fail at start-up. */
export function metricName(name: string): string {
  const full = name.startsWith(METRIC_PREFIX) ? name : `${METRIC_PREFIX}${name}`;
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(full)) throw new Error(`invalid metric name: ${full}`);
  return full;
}

export interface RegistryOptions {
  /** Collect process metrics (CPU, memory, event loop lag, GC, handles). Default true. */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. { component: 'speaker' }. */
  labels?: Record<string, string>;
  /**
   * Sampling interval of the event loop delay monitor behind the default metrics (ms). prom-client's
   * default, 10, wakes an otherwise idle event loop 100 times a second.
   */
  eventLoopMonitoringPrecisionMs?: number;
}

export function createRegistry(opts: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics ?? true)
    collectDefaultMetrics({
      register: registry,
      prefix: METRIC_PREFIX,
      ...(opts.eventLoopMonitoringPrecisionMs !== undefined
        ? { eventLoopMonitoringPrecision: opts.eventLoopMonitoringPrecisionMs }
        : {}),
    });
  return registry;
}

import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRegistry, METRIC_PREFIX, metricName } from '../../../lib/observe/metrics.ts';

describe('createRegistry', () => {
  it('collects default process metrics under the portico_ prefix', async () => {
    const registry = createRegistry();
    const text = await registry.metrics();
    expect(text).toMatch(/^portico_process_cpu_seconds_total /m);
    expect(text).toMatch(/^portico_nodejs_eventloop_lag_seconds /m);
    expect(text).not.toMatch(/^process_cpu_seconds_total /m);
  });

  it('registries are independent: a metric on one does not appear on another', async () => {
    const a = createRegistry({ defaultMetrics: false });
    const b = createRegistry({ defaultMetrics: false });
    const c = new Counter({ name: metricName('allocations_total'), help: 'x', registers: [a] });
    c.inc(3);
    expect(await a.metrics()).toMatch(/^portico_allocations_total 3$/m);
    expect(await b.metrics()).toBe('\n');
  });

  it('adds default labels to every series', async () => {
    const registry = createRegistry({ defaultMetrics: false, labels: { component: 'speaker' } });
    new Counter({ name: metricName('garp_sent_total'), help: 'x', registers: [registry] }).inc();
    expect(await registry.metrics()).toMatch(/^portico_garp_sent_total\{component="speaker"\} 1$/m);
  });
});

describe('metricName', () => {
  it('prefixes once', () => {
    expect(METRIC_PREFIX).toBe('portico_');
    expect(metricName('queue_depth')).toBe('portico_queue_depth');
    expect(metricName('portico_queue_depth')).toBe('portico_queue_depth');
  });

  it('rejects names Prometheus would reject', () => {
    expect(() => metricName('queue-depth')).toThrow('invalid metric name: portico_queue-depth');
  });
});

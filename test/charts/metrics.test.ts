import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Histogram, type Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FAILURE_REASONS } from '../../controllers/ipam/types.ts';
import { ControllerMetrics } from '../../controllers/metrics.ts';
import { DnsMetrics } from '../../dns/server/metrics.ts';
import { RCODE_LABELS } from '../../dns/server/stats.ts';
import { promControllerMetrics } from '../../lib/kube/controller.ts';
import { createRegistry } from '../../lib/observe/metrics.ts';
import { SpeakerMetrics } from '../../speaker/kube/metrics.ts';
import { skipUnless } from '../support/require.ts';
import { chartDir, helmTemplate } from './helm.ts';

// The alerts and the dashboard may only use metrics the code exports, with labels those metrics
// have: every name is looked up in the components' own registries, so renaming a metric without
// updating the chart fails here instead of leaving a silent, never-firing alert.

/** Metric name → label names, from the registries the three processes build. */
function exported(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (registry: Registry, defaultLabels: string[] = []) => {
    for (const m of registry.getMetricsAsArray()) {
      const labels = new Set([
        ...((m as unknown as { labelNames?: string[] }).labelNames ?? []),
        ...defaultLabels,
      ]);
      const names = m instanceof Histogram ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name];
      for (const n of names) out.set(n, n.endsWith('_bucket') ? new Set([...labels, 'le']) : labels);
    }
  };
  // controller: its own metrics, the lib/kube work-queue metrics and the process metrics.
  const controller = new ControllerMetrics(createRegistry());
  promControllerMetrics(controller.registry, 'service');
  add(controller.registry);
  // speaker and dns registries carry a default `component` label.
  const speaker = createRegistry({ defaultMetrics: false });
  new SpeakerMetrics(speaker, {
    l2: () => ({
      arpRequests: 0,
      arpReplies: 0,
      garpSent: 0,
      ndpSolicitations: 0,
      ndpAdvertisements: 0,
      unsolicitedNaSent: 0,
      conflicts: 0,
      sendErrors: 0,
    }),
    heartbeat: () => ({ sent: 0, received: 0, dropped: {} }) as never,
    vipsOwned: () => 0,
    peersAlive: () => 0,
    peersConfigured: () => 0,
  });
  add(speaker, ['component']);
  add(new DnsMetrics(createRegistry({ defaultMetrics: false })).registry, ['component']);
  return out;
}

/** Labels every target gets from Prometheus and the chart's ServiceMonitor (relabeling adds node). */
const TARGET_LABELS = ['namespace', 'pod', 'service', 'endpoint', 'container', 'instance', 'job', 'node'];

/** kube-state-metrics series, allowed in PorticoServiceWithoutIP only. */
const KSM = new Map([
  ['kube_service_spec_type', new Set(['namespace', 'service', 'uid', 'type'])],
  ['kube_service_status_load_balancer_ingress', new Set(['namespace', 'service', 'uid', 'ip', 'hostname'])],
]);

const METRIC = /\b(?:portico|workqueue|controller|kube)_[a-z0-9_]+\b/g;

/** Problems with one PromQL expression: unknown metrics, matchers or groupings on labels they lack. */
function check(expr: string, known: Map<string, Set<string>>, templateLabels: string[] = []): string[] {
  const problems: string[] = [];
  const names = [...new Set(expr.match(METRIC) ?? [])];
  const labels = new Set(TARGET_LABELS);
  for (const n of names) {
    const l = known.get(n);
    if (!l) problems.push(`unknown metric ${n}`);
    else for (const x of l) labels.add(x);
  }
  for (const m of expr.matchAll(/\b([a-z_][a-z0-9_]*)\{([^}]*)\}/g)) {
    const own = known.get(m[1]!);
    for (const matcher of m[2]!.matchAll(/([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)/g)) {
      if (own && !own.has(matcher[1]!) && !TARGET_LABELS.includes(matcher[1]!))
        problems.push(`${m[1]} has no label ${matcher[1]}`);
    }
  }
  const grouped = [...expr.matchAll(/\b(?:by|on|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!.split(',').map((s) => s.trim()),
  );
  for (const g of grouped) if (g && !labels.has(g)) problems.push(`groups by ${g}, which no series has`);
  // Labels the alert text or legend prints: after an aggregation only its grouping labels remain.
  const aggregated = /\b(?:sum|max|min|avg|count)\b/.test(expr);
  for (const t of templateLabels) {
    const ok = aggregated ? grouped.includes(t) : labels.has(t);
    if (!ok) problems.push(`prints label ${t}, which the result does not carry`);
  }
  return problems;
}

describe('the metric check itself', () => {
  const known = exported();
  it('knows the exported names, histogram series and labels', () => {
    expect(known.get('portico_pool_addresses_in_use')).toEqual(new Set(['pool', 'family']));
    expect(known.get('portico_dns_query_duration_seconds_bucket')).toEqual(new Set(['component', 'le']));
    expect(known.has('portico_speaker_vips_owned')).toBe(true);
    expect(known.has('workqueue_depth')).toBe(true);
    expect(known.has('portico_process_resident_memory_bytes')).toBe(true);
  });

  it('catches invented metrics, wrong labels and printed labels that were aggregated away', () => {
    expect(check('sum(portico_services_pending)', known)).toEqual([
      'unknown metric portico_services_pending',
    ]);
    expect(check('portico_dns_queries_total{zone="x"}', known)).toEqual([
      'portico_dns_queries_total has no label zone',
    ]);
    expect(check('sum by (zone) (portico_pool_addresses_total)', known)).toEqual([
      'groups by zone, which no series has',
    ]);
    expect(check('sum by (pool) (portico_pool_addresses_total)', known, ['family'])).toEqual([
      'prints label family, which the result does not carry',
    ]);
  });
});

describe.skipIf(skipUnless({ binaries: ['helm'] }))('chart monitoring uses real metrics', () => {
  const known = exported();

  it('every PrometheusRule alert', () => {
    const rule = helmTemplate(['--set', 'metrics.prometheusRule.enabled=true']).find(
      (d) => d.kind === 'PrometheusRule',
    )!;
    const rules = rule.spec.groups.flatMap(
      (g: { rules: Array<{ alert: string; expr: string; annotations: Record<string, string> }> }) => g.rules,
    ) as Array<{ alert: string; expr: string; annotations: Record<string, string> }>;
    expect(rules.length).toBeGreaterThanOrEqual(9);
    const problems: string[] = [];
    for (const r of rules) {
      const allowed = r.alert === 'PorticoServiceWithoutIP' ? new Map([...known, ...KSM]) : known;
      const printed = Object.values(r.annotations).flatMap((a) =>
        [...a.matchAll(/\$labels\.([a-z_]+)/g)].map((m) => m[1]!),
      );
      for (const p of check(r.expr, allowed, [...new Set(printed)])) problems.push(`${r.alert}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it('PorticoAllocationFailed matches every failure reason except OutOfPool (the Service keeps its IP)', () => {
    const rule = helmTemplate(['--set', 'metrics.prometheusRule.enabled=true']).find(
      (d) => d.kind === 'PrometheusRule',
    )!;
    const expr = rule.spec.groups[0].rules.find(
      (r: { alert: string }) => r.alert === 'PorticoAllocationFailed',
    ).expr as string;
    const listed = /result=~"([^"]+)"/.exec(expr)![1]!.split('|');
    expect(listed.sort()).toEqual(FAILURE_REASONS.filter((r) => r !== 'OutOfPool').sort());
  });

  it('every dashboard query and legend', () => {
    const dashboard = JSON.parse(readFileSync(join(chartDir, 'dashboards', 'portico.json'), 'utf8'));
    type Panel = {
      title: string;
      panels?: Panel[];
      targets?: Array<{ expr: string; legendFormat?: string }>;
    };
    const panels: Panel[] = [];
    const collect = (ps: Panel[]) => {
      for (const p of ps) {
        panels.push(p);
        collect(p.panels ?? []);
      }
    };
    collect(dashboard.panels);
    const problems: string[] = [];
    let queries = 0;
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        queries++;
        const legend = [...(t.legendFormat ?? '').matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1]!);
        for (const x of check(t.expr, known, legend)) problems.push(`${p.title}: ${x}`);
        for (const v of t.expr.matchAll(/rcode="([^"]+)"/g))
          if (!RCODE_LABELS.includes(v[1]!)) problems.push(`${p.title}: rcode ${v[1]}`);
      }
    }
    expect(queries).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });
});

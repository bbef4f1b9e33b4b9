import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LOG_LEVELS } from '../../lib/observe/log.ts';
import { skipUnless } from '../support/require.ts';
import { chartDir, helmTemplate, helmTemplateFailure } from './helm.ts';

// charts/portico/values.schema.json: helm checks it on install, upgrade, template and lint, so a
// typo or a bad value fails before anything reaches the cluster, with the value's path in the
// message.

interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  oneOf?: JsonSchema[];
}

const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as JsonSchema;
const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every value path in values.yaml that the schema does not describe (objects it leaves open stop the walk). */
function uncovered(v: Record<string, unknown>, s: JsonSchema, at: string, out: string[]): string[] {
  for (const [k, child] of Object.entries(v)) {
    const sub = s.properties?.[k];
    if (!sub) {
      out.push(`${at}.${k}`);
      continue;
    }
    if (isObject(child) && sub.properties && sub.additionalProperties === false)
      uncovered(child, sub, `${at}.${k}`, out);
  }
  return out;
}

/** Schema properties values.yaml does not set (a value documented in the schema but not in the file). */
function unset(v: Record<string, unknown>, s: JsonSchema, at: string, out: string[]): string[] {
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    if (at === '' && k === 'global') continue; // Helm's own, set by parent charts
    if (!(k in v)) out.push(`${at}.${k}`);
    else if (isObject(v[k]) && sub.properties) unset(v[k] as Record<string, unknown>, sub, `${at}.${k}`, out);
  }
  return out;
}

describe('values.schema.json', () => {
  it('describes every value in values.yaml, and nothing values.yaml leaves out', () => {
    expect(uncovered(values, schema, '', [])).toEqual([]);
    expect(unset(values, schema, '', [])).toEqual([]);
  });

  it('closes every object it lists properties of (a misspelt key is an error, not a silent no-op)', () => {
    const open: string[] = [];
    const walk = (s: JsonSchema, at: string) => {
      if (s.properties && s.additionalProperties !== false && !at.endsWith('resources')) open.push(at);
      for (const [k, p] of Object.entries(s.properties ?? {})) walk(p, `${at}.${k}`);
      if (s.items) walk(s.items, `${at}[]`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  it('documents every value', () => {
    const missing: string[] = [];
    const walk = (s: JsonSchema, at: string) => {
      for (const [k, p] of Object.entries(s.properties ?? {})) {
        if (!p.description) missing.push(`${at}.${k}`);
        walk(p, `${at}.${k}`);
      }
      if (s.items) walk(s.items, `${at}[]`);
    };
    walk(schema, '');
    expect(
      missing.filter((p) => !/resources\.(requests|limits|claims)$|imagePullSecrets\[\]/.test(p)),
    ).toEqual([]);
  });

  it('logLevel accepts exactly the levels the processes accept', () => {
    expect(schema.properties?.logLevel?.enum).toEqual([...LOG_LEVELS]);
  });
});

describe.skipIf(skipUnless({ binaries: ['helm'] }))('helm with values.schema.json', () => {
  it('the defaults pass helm lint --strict and helm template', () => {
    const out = execFileSync('helm', ['lint', chartDir, '--strict'], { encoding: 'utf8' });
    expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(helmTemplate().length).toBeGreaterThan(10);
  });

  it.each([
    [['--set', 'dns.replicas=-1'], /at '\/dns\/replicas': minimum: got -1, want 0/],
    [['--set', 'logLevel=loud'], /at '\/logLevel': value must be one of 'trace', 'debug', 'info'/],
    [
      ['--set', 'image.pullPolicy=Sometimes'],
      /at '\/image\/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/,
    ],
    [['--set', 'dns.replica=3'], /at '\/dns': additional properties 'replica' not allowed/],
    [['--set', 'controller.replicas=two'], /at '\/controller\/replicas': got string, want integer/],
    [
      ['--set-string', 'speaker.heartbeatInterval=100'],
      /at '\/speaker\/heartbeatInterval': '100' does not match pattern/,
    ],
    [
      ['--set', 'speaker.heartbeatPort=70000'],
      /at '\/speaker\/heartbeatPort': maximum: got 70,000, want 65,535/,
    ],
    [
      ['--set', 'dns.service.type=External'],
      /at '\/dns\/service\/type': value must be one of 'ClusterIP', 'NodePort', 'LoadBalancer'/,
    ],
    [['--set', 'dns.service.nodePort=70000'], /at '\/dns\/service\/nodePort'/],
    [['--set', 'dns.workers=0'], /at '\/dns\/workers'/],
    [['--set-string', 'controller.leaseDuration=0'], /at '\/controller\/leaseDuration'/],
    [['--set', 'dns.zone.name=K8s.Home.'], /at '\/dns\/zone\/name': 'K8s.Home.' does not match pattern/],
    [['--set', 'loadBalancerClass=lb'], /at '\/loadBalancerClass': 'lb' does not match pattern/],
    [
      ['--set', 'metrics.prometheusRule.poolUsageThreshold=90'],
      /poolUsageThreshold': maximum: got 90, want 1/,
    ],
    [['--set-json', 'pools=[{"name":"lan"}]'], /at '\/pools\/0': missing property 'addresses'/],
  ])('refuses %j with a message naming the value', (args, message) => {
    const r = helmTemplateFailure(args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [['--set', 'dns.workers=4']],
    [['--set', 'dns.service.nodePort=30053']],
    [['--set', 'speaker.heartbeatInterval=1m30s', '--set', 'speaker.garpRefresh=0']],
    // helm --set types only integers and booleans: 7.5 and 0.95 arrive as strings.
    [['--set', 'controller.leaseDuration=7.5', '--set', 'metrics.prometheusRule.poolUsageThreshold=0.95']],
    [['--set', 'speaker.priorityClassName=']],
    [['--set', 'dns.service.loadBalancerIP=192.0.2.53\\,2001:db8::53']],
    [['--set-json', 'global={"imageRegistry":"x"}']],
  ])('accepts %j', (args) => {
    expect(() => helmTemplate(args)).not.toThrow();
  });
});

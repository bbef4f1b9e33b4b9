// Helpers for the controller's integration tests. Every test gets its own namespace, its own
// loadBalancerClass and Lease, and pools restricted to its namespace, so tests stay independent on
// the one shared control plane (pools are cluster-scoped).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import {
  type RunningController,
  type StartControllerOptions,
  startController,
} from '../../../controllers/index.ts';
import type { ServiceObject } from '../../../controllers/service-state.ts';
import { collectionPath, isNotFound, KubeClient, objectPath, Resources } from '../../../lib/kube/index.ts';
import { REPO_ROOT } from '../../envtest/index.ts';

export const POOLS_PATH = '/apis/portico.dev/v1alpha1/ipaddresspools';
export const COND = 'portico.dev/IPAllocated';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await sleep(50);
  }
}

export interface PoolSpecInput {
  addresses: string[];
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
  allocation?: Record<string, unknown>;
}

export interface ServiceSpecInput {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ports?: Array<{ port: number; protocol?: string; name?: string }>;
  ipFamilyPolicy?: string;
  ipFamilies?: string[];
  externalTrafficPolicy?: string;
  selector?: Record<string, string>;
  loadBalancerIP?: string;
  /** undefined = the test's class; null = no class. */
  loadBalancerClass?: string | null;
  type?: string;
}

export interface EventItem {
  type?: string;
  reason?: string;
  note?: string;
  regarding?: { name?: string; kind?: string };
}

/** One test's corner of the shared cluster. */
export class TestEnv {
  readonly client: KubeClient;
  readonly kc: KubeConfig;
  readonly ns: string;
  readonly cls: string;
  readonly id = suffix();
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  private readonly pools: string[] = [];

  private constructor(kc: KubeConfig, ns: string) {
    this.kc = kc;
    this.client = new KubeClient(kc);
    this.ns = ns;
    this.cls = `test-${ns}.portico.dev/lb`;
  }

  static async create(kc: KubeConfig, prefix: string): Promise<TestEnv> {
    const ns = `${prefix}-${suffix()}`;
    const env = new TestEnv(kc, ns);
    await env.client.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { metadata: { name: ns } },
    });
    return env;
  }

  onCleanup(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c().catch(() => {});
    for (const p of this.pools.splice(0)) await this.deletePool(p).catch(() => {});
    await this.client.request({ method: 'DELETE', path: `/api/v1/namespaces/${this.ns}` }).catch(() => {});
    await this.client.close();
  }

  /** Start the controller in-process for this test (own class, own Lease in the test namespace). */
  async start(opts: StartControllerOptions = {}): Promise<RunningController> {
    const ctl = await startController({
      kubeConfig: this.freshKubeConfig(),
      identity: `test-${this.id}-${suffix()}`,
      leaseNamespace: this.ns,
      leaseName: 'portico-controller',
      lbClass: this.cls,
      handleUnclassed: false,
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 300,
      logger: pino({ level: process.env.PORTICO_TEST_LOG ?? 'silent' }),
      ...opts,
    });
    this.onCleanup(() => ctl.stop());
    return ctl;
  }

  /**
   * A separate KubeConfig for each client: client-node may cache its HTTP agent on the KubeConfig,
   * and one client closing it must not break another's requests.
   */
  freshKubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kc.exportConfig());
    return kc;
  }

  poolName(name: string): string {
    return `${name}-${this.id}`;
  }

  /** Create a pool usable only by this test's namespace (unless `allocation` is given). */
  async createPool(name: string, spec: PoolSpecInput): Promise<string> {
    const full = this.poolName(name);
    const body = {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name: full },
      spec: { allocation: { namespaces: [this.ns] }, ...spec },
    };
    await this.client.request({ method: 'POST', path: POOLS_PATH, body });
    this.pools.push(full);
    return full;
  }

  async patchPool(full: string, spec: Partial<PoolSpecInput>): Promise<void> {
    await this.client.request({
      method: 'PATCH',
      path: `${POOLS_PATH}/${full}`,
      contentType: 'application/merge-patch+json',
      body: { spec },
    });
  }

  async deletePool(full: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `${POOLS_PATH}/${full}` }).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  async getPool(full: string): Promise<{
    status?: {
      assignedIPv4?: string;
      availableIPv4?: string;
      assignedIPv6?: string;
      availableIPv6?: string;
      conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    };
  }> {
    return this.client.request({ path: `${POOLS_PATH}/${full}` });
  }

  serviceBody(name: string, s: ServiceSpecInput = {}): Record<string, unknown> {
    const spec: Record<string, unknown> = {
      type: s.type ?? 'LoadBalancer',
      ports: s.ports ?? [{ port: 80, protocol: 'TCP' }],
      selector: s.selector ?? { app: name },
    };
    if (s.loadBalancerClass !== null && (s.type ?? 'LoadBalancer') === 'LoadBalancer') {
      spec.loadBalancerClass = s.loadBalancerClass ?? this.cls;
    }
    if (s.ipFamilyPolicy) spec.ipFamilyPolicy = s.ipFamilyPolicy;
    if (s.ipFamilies) spec.ipFamilies = s.ipFamilies;
    if (s.externalTrafficPolicy) spec.externalTrafficPolicy = s.externalTrafficPolicy;
    if (s.loadBalancerIP) spec.loadBalancerIP = s.loadBalancerIP;
    const metadata: Record<string, unknown> = { name, namespace: this.ns };
    if (s.annotations) metadata.annotations = s.annotations;
    if (s.labels) metadata.labels = s.labels;
    return { apiVersion: 'v1', kind: 'Service', metadata, spec };
  }

  async createService(name: string, s: ServiceSpecInput = {}): Promise<ServiceObject> {
    return this.client.request<ServiceObject>({
      method: 'POST',
      path: collectionPath(Resources.services, this.ns),
      body: this.serviceBody(name, s),
    });
  }

  async patchService(name: string, patch: Record<string, unknown>): Promise<ServiceObject> {
    return this.client.request<ServiceObject>({
      method: 'PATCH',
      path: objectPath(Resources.services, this.ns, name),
      contentType: 'application/merge-patch+json',
      body: patch,
    });
  }

  async deleteService(name: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: objectPath(Resources.services, this.ns, name) });
  }

  async getService(name: string): Promise<ServiceObject | undefined> {
    try {
      return await this.client.request<ServiceObject>({
        path: objectPath(Resources.services, this.ns, name),
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Wait for the Service's IPAllocated condition to satisfy `pred`; returns the Service. */
  async waitService(
    name: string,
    pred: (s: ServiceObject) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<ServiceObject> {
    return until(
      async () => {
        const s = await this.getService(name);
        return s && pred(s) ? s : undefined;
      },
      timeoutMs,
      `${this.ns}/${name}: ${what}`,
    );
  }

  waitIPs(name: string, n = 1, timeoutMs = 20_000): Promise<string[]> {
    return this.waitService(
      name,
      (s) => ips(s).length === n && condition(s)?.status === 'True',
      `${n} IP(s) and IPAllocated=True`,
      timeoutMs,
    ).then(ips);
  }

  waitReason(name: string, reason: string, timeoutMs = 20_000): Promise<ServiceObject> {
    return this.waitService(
      name,
      (s) => condition(s)?.status === 'False' && condition(s)?.reason === reason,
      `IPAllocated=False reason ${reason}`,
      timeoutMs,
    );
  }

  async events(name?: string): Promise<EventItem[]> {
    const list = await this.client.request<{ items?: EventItem[] }>({
      path: collectionPath(Resources.events, this.ns),
    });
    return (list.items ?? []).filter((e) => name === undefined || e.regarding?.name === name);
  }

  /** Wait for an Event about `name` with this reason whose note contains `text`. */
  waitEvent(name: string, reason: string, text = '', timeoutMs = 20_000): Promise<EventItem> {
    return until(
      async () => (await this.events(name)).find((e) => e.reason === reason && (e.note ?? '').includes(text)),
      timeoutMs,
      `Event ${reason} about ${this.ns}/${name}${text ? ` mentioning ${JSON.stringify(text)}` : ''}`,
    );
  }
}

export function ips(s: ServiceObject | undefined): string[] {
  return (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
}

export function condition(s: ServiceObject | undefined) {
  return s?.status?.conditions?.find((c) => c.type === COND);
}

/** A controller as a real child process (`node controllers/main.ts`), with its log in `logPath`. */
export interface ChildController {
  proc: ChildProcess;
  pid: number;
  logPath: string;
  metricsPort: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log(): string;
  metrics(): Promise<string>;
  /** SIGKILL: no Lease release, no cleanup, like a node dying. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for exit (graceful: releases the Lease). */
  term(): Promise<void>;
}

export async function spawnController(opts: {
  kubeconfig: string;
  identity: string;
  args: string[];
  logDir: string;
  metricsPort: number;
}): Promise<ChildController> {
  const logPath = join(opts.logDir, `controller-${opts.identity}-${suffix()}.log`);
  const out = createWriteStream(logPath);
  const proc = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'controllers', 'main.ts'),
      '--kubeconfig',
      opts.kubeconfig,
      '--metrics-address',
      `127.0.0.1:${opts.metricsPort}`,
      ...opts.args,
    ],
    { env: { ...process.env, POD_NAME: opts.identity }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  if (proc.pid === undefined) throw new Error('controller did not start');
  const pid = proc.pid;
  return {
    proc,
    pid,
    logPath,
    metricsPort: opts.metricsPort,
    exited,
    log: () => {
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    },
    metrics: async () => {
      const res = await fetch(`http://127.0.0.1:${opts.metricsPort}/metrics`);
      return res.text();
    },
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGKILL');
      await exited;
    },
    term: async () => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGTERM');
      await exited;
    },
  };
}

/** Value of a counter/gauge line in Prometheus text (sum over lines whose labels contain `labels`). */
export function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (labels && !rest.includes(labels)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) {
      sum += v;
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// `npm run bench -- controller [--json] [--services N] [--concurrency C] [--node-options FLAGS]
//                             [--source | --entry FILE] [--rounds R]`
//   --services      Services to create (default 2000; e.g. 200 for a quick run)
//   --rounds        rounds, each on a fresh control plane (default 3); figures are min/median/max
//   --concurrency   parallel creates (default 24)
//   --node-options  NODE_OPTIONS for the controller process (default: inherited NODE_OPTIONS), e.g.
//                   "--max-old-space-size=64 --max-semi-space-size=1" as a container would set
//   (default)       the compiled build as the image ships it: `npm run build`, then
//                   dist/controllers/main.js
//   --source        controllers/main.ts through Node's type stripping (~20 MB more RSS before any
//                   work, and every module loaded from source)
//   --entry FILE    any other entry point
//   --no-metallb    leave out the MetalLB peer (see below)
//
// The IPAM controller as a real child process (`node controllers/main.ts`) against a private
// control plane: N LoadBalancer Services (default 2,000) in one pool. Measures
//   create_s        first create sent → the apiserver accepted every create (controller running)
//   allocate_s      first create sent → every Service has its IP (seen through a watch)
//   ratio           allocate_s / create_s (1.0 = the controller keeps up with the apiserver)
//   p50_ms, p99_ms  per-Service create sent → IP seen
//   rss_mb          the controller's peak resident memory (VmHWM) after allocating everything
//   cpu_s           CPU seconds (user + system) the controller spent from the first create to the
//                   last IP: unlike the wall times, barely moved by other load on the machine
//   restart_ready_s SIGTERM, start again → the new process leads with its state restored
//   restart_changes Services whose IPs differ after the restart (must be 0)
//   api_writes_per_service  writes the apiserver served while allocating (its apiserver_request_total,
//                   POST/PUT/PATCH/APPLY/DELETE), the creates excluded, per Service: what the
//                   controller costs the apiserver it shares the machine with
//   apiserver_cpu_s kube-apiserver's CPU seconds over the same span (its process_cpu_seconds_total)
//   heap_mb, young_mb, external_mb, rss_file_mb  where the RSS is once everything is allocated
//                   (from the controller's own /metrics and /proc): V8 heap committed, of it the
//                   young generation, memory outside the heap (Buffers), file-backed pages (the
//                   node binary's code)
// Beside them (test/support/bench.ts runEnvironment): node_version, v8_flags the controller ran
// with (its /proc cmdline and NODE_OPTIONS), v8_flags_in_process (what it set for itself at start,
// from its /metrics), cpu_affinity, loadavg_1m at the end of allocation.
// VIPs are IPv6 (2001:db8::/32): the IPv4 documentation ranges hold only 768 addresses. The
// control plane is made dual-stack with a large Service range for that (dualstack-plane.ts).
//
// MetalLB's controller (test/support/metallb.ts: the pinned release, built once into a cache) runs
// the same procedure right after Portico's: its own fresh control plane (so neither sees the
// other's Services, etcd history or loadBalancerClass-less claims), the same pool as a MetalLB
// IPAddressPool (metallb-system/bench, 2001:db8:b::/64), the same 2,000 Services created the same
// way, both controllers at log level warn with the admin kubeconfig. MetalLB has no leader metric;
// it counts as ready when its allocator reports the pool (first start) and every Service's address
// back in use (restart: metallb_allocator_addresses_in_use_total{pool="bench"} = N), the
// equivalent of Portico leading with its state restored. Keys metallb_* mirror ours;
//   ratio_vs_metallb  allocate_s / metallb_alloc_s (ours / theirs: below 1 = Portico allocates faster)
// The two runs share the machine one after the other, so other load on it skews both.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type RequestOptions as HttpsOptions, get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  collectionPath,
  isAlreadyExists,
  KubeApiError,
  KubeClient,
  Resources,
} from '../../lib/kube/index.ts';
import { installCrdFiles } from '../envtest/crds.ts';
import { REPO_ROOT } from '../envtest/index.ts';
import { startDualStackControlPlane } from '../integration/controllers/dualstack-plane.ts';
import { flag, freePort, runEnvironment, summarizeRounds } from '../support/bench.ts';
import {
  apiserverWrites,
  type MetalLB,
  metallbPeer,
  metallbPool,
  promSample,
  ratioVs,
} from '../support/metallb.ts';
import type { Bench, BenchRow } from './run.ts';

const NS = 'bench';
const POOL = '2001:db8:b::/64';
const METALLB_NS = 'metallb-system';

interface Svc {
  metadata?: { name?: string; resourceVersion?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssFile'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** kube-apiserver's own /metrics text, with the admin credentials of `kc`. */
async function apiserverMetrics(kc: KubeConfig): Promise<string> {
  const opts: HttpsOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL('/metrics', kc.getCurrentCluster()?.server);
  return new Promise((resolve, reject) => {
    httpsGet(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics: HTTP ${res.statusCode}`)),
      );
    }).on('error', reject);
  });
}

interface Child {
  proc: ChildProcess;
  pid: number;
  port: number;
  exited: Promise<void>;
}

/** One controller under test: how to prepare its plane, start it, and tell that it is ready. */
interface Contender {
  label: string;
  /** Namespaces and pool on a fresh control plane. */
  setup(client: KubeClient, plane: Awaited<ReturnType<typeof startDualStackControlPlane>>): Promise<void>;
  command(kubeconfig: string, port: number): { file: string; args: string[]; env: NodeJS.ProcessEnv };
  /** From its /metrics text: leading/serving with `restored` Services' addresses back in use. */
  ready(metrics: string, restored: number): boolean;
}

function porticoContender(entry: string, nodeOptions: string): Contender {
  return {
    label: 'controller',
    async setup(client) {
      for (const name of [NS, 'portico-system']) {
        await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
      }
      await client.request({
        method: 'POST',
        path: '/apis/portico.dev/v1alpha1/ipaddresspools',
        body: {
          apiVersion: 'portico.dev/v1alpha1',
          kind: 'IPAddressPool',
          metadata: { name: 'bench' },
          spec: { addresses: [POOL] },
        },
      });
    },
    command: (kubeconfig, port) => ({
      file: process.execPath,
      args: [
        entry,
        '--kubeconfig',
        kubeconfig,
        '--lease-namespace',
        'portico-system',
        '--metrics-address',
        `127.0.0.1:${port}`,
        '--log-level',
        process.env.PORTICO_BENCH_LOG_LEVEL ?? 'warn',
      ],
      env: { ...process.env, POD_NAME: 'bench-controller', NODE_OPTIONS: nodeOptions },
    }),
    // portico_controller_leader is set to 1 only after every existing assignment is restored.
    ready: (text) => /^portico_controller_leader 1$/m.test(text),
  };
}

function metallbContender(m: MetalLB): Contender {
  return {
    label: 'metallb-controller',
    async setup(client, plane) {
      await installCrdFiles(plane.cp.kubeConfig(), m.crdFiles);
      for (const name of [NS, METALLB_NS]) {
        await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
      }
      await client.request({
        method: 'POST',
        path: `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools`,
        body: metallbPool(METALLB_NS, 'bench', [POOL]),
      });
    },
    command: (kubeconfig, port) => ({
      file: m.controller,
      // The chart's controller flags, minus the webhook (it needs a Service and certificates that
      // only a cluster has; it validates objects and is not on the allocation path).
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${METALLB_NS}`,
        `--port=${port}`,
        '--webhook-mode=disabled',
        `--log-level=${process.env.PORTICO_BENCH_LOG_LEVEL ?? 'warn'}`,
      ],
      env: { ...process.env },
    }),
    ready: (text, restored) =>
      promSample(text, 'metallb_allocator_addresses_total', { pool: 'bench' }) !== undefined &&
      (promSample(text, 'metallb_allocator_addresses_in_use_total', { pool: 'bench' }) ?? 0) >= restored,
  };
}

async function startChild(c: Contender, kubeconfig: string, logDir: string, n: number): Promise<Child> {
  const port = await freePort();
  const out = createWriteStream(join(logDir, `${c.label}-${n}.log`));
  const cmd = c.command(kubeconfig, port);
  const proc = spawn(cmd.file, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Two sources into one file: neither may end it (the first to finish would, and the other's next
  // write would then throw); it ends once the process and both pipes are done.
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  proc.once('close', () => out.end());
  out.on('error', () => {}); // a log file is best effort: never fail the bench over it
  if (proc.pid === undefined) throw new Error(`${c.label} did not start`);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, pid: proc.pid, port, exited };
}

/**
 * Create one bench Service. A loaded machine makes the apiserver answer 504 (or not in time):
 * retry, and count AlreadyExists on a retry as done (the earlier attempt went through).
 */
async function createService(client: KubeClient, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.request({
        method: 'POST',
        path: collectionPath(Resources.services, NS),
        // A starved apiserver (a shared 2-core machine) can take longer than the default 30 s.
        timeoutMs: 180_000,
        body: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: NS },
          spec: {
            type: 'LoadBalancer',
            ipFamilies: ['IPv6'],
            ports: [{ port: 80, protocol: 'TCP' }],
            selector: { app: name },
          },
        },
      });
      return;
    } catch (err) {
      if (attempt > 0 && isAlreadyExists(err)) return;
      const code = err instanceof KubeApiError ? err.statusCode : -1;
      if (attempt >= 5 || !(code === 0 || code === 429 || code >= 500)) throw err;
      console.error(`bench: create ${name} failed (${code}), retrying`);
      await sleep(1000);
    }
  }
}

/** Wait until the child reports ready (see Contender.ready). */
async function waitReady(c: Contender, child: Child, restored: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const text = await fetch(`http://127.0.0.1:${child.port}/metrics`)
      .then((r) => r.text())
      .catch(() => '');
    if (c.ready(text, restored)) return;
    if (child.proc.exitCode !== null) throw new Error(`${c.label} exited with ${child.proc.exitCode}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`${c.label} not ready in time`);
    await sleep(20);
  }
}

async function listIPs(client: KubeClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cont: string | undefined;
  do {
    const page = await client.request<{ items?: Svc[]; metadata?: { continue?: string } }>({
      path: collectionPath(Resources.services, NS),
      query: { limit: 500, continue: cont },
    });
    for (const s of page.items ?? []) {
      out.set(s.metadata?.name ?? '', (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(','));
    }
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

interface Result {
  createS: number;
  allocateS: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
  restartReadyS: number;
  restartChanges: number;
  /** Write requests the apiserver served per Service while allocating, the creates excluded. */
  writesPerService: number;
  /** The controller's CPU seconds from the first create to the last IP. */
  cpuS: number;
  /** kube-apiserver's CPU seconds over the same span (creates included). */
  apiserverCpuS: number;
  /** Node version, V8 flags, CPU affinity, load (runEnvironment) and, for Portico, where its RSS is. */
  environment: BenchRow;
}

/** The whole procedure for one contender, on its own fresh control plane. */
async function measure(c: Contender, services: number, concurrency: number): Promise<Result> {
  const plane = await startDualStackControlPlane();
  const logDir = await mkdtemp(join(tmpdir(), 'portico-bench-controller-'));
  // Generous deadline: on a loaded CI machine a create can wait long for the apiserver.
  const client = new KubeClient(plane.cp.kubeConfig(), { defaultTimeoutMs: 120_000 });
  const children: Child[] = [];
  const watchAbort = new AbortController();
  try {
    await c.setup(client, plane);
    const first = await startChild(c, plane.cp.kubeconfigPath, logDir, 1);
    children.push(first);
    await waitReady(c, first, 0, 60_000);

    // Watch the namespace: the first time each Service shows an IP.
    const seen = new Map<string, number>();
    const sent = new Map<string, number>();
    let allSeen: () => void = () => {};
    const everyIP = new Promise<void>((r) => {
      allSeen = r;
    });
    const start = await client.request<{ metadata?: { resourceVersion?: string } }>({
      path: collectionPath(Resources.services, NS),
      query: { limit: 1 },
    });
    const lines = await client.watchLines({
      path: collectionPath(Resources.services, NS),
      query: { resourceVersion: start.metadata?.resourceVersion, timeoutSeconds: 3600 },
      signal: watchAbort.signal,
    });
    const watching = (async () => {
      for await (const line of lines) {
        const ev = JSON.parse(line) as { type: string; object: Svc };
        const name = ev.object?.metadata?.name;
        if (!name || seen.has(name)) continue;
        if ((ev.object.status?.loadBalancer?.ingress ?? []).some((i) => i.ip)) {
          seen.set(name, performance.now());
          if (seen.size === services) allSeen();
        }
      }
    })().catch(() => {});

    const api0 = await apiserverMetrics(plane.cp.kubeConfig());
    const cpu0 = cpuSeconds(first.pid);
    // Create with bounded concurrency.
    let peakRss = 0;
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, procStatusKb(first.pid, 'VmRSS'));
    }, 100);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const i = next++;
          if (i >= services) return;
          const name = `svc-${i}`;
          sent.set(name, performance.now());
          await createService(client, name);
        }
      }),
    );
    const createS = (performance.now() - t0) / 1000;
    await Promise.race([
      everyIP,
      sleep(600_000).then(() => {
        throw new Error(`${c.label}: only ${seen.size}/${services} Services got an IP within 10 min`);
      }),
    ]);
    const allocateS = (Math.max(...seen.values()) - t0) / 1000;
    const cpuS = cpuSeconds(first.pid) - cpu0;
    const api1 = await apiserverMetrics(plane.cp.kubeConfig());
    const writes = apiserverWrites(api1) - apiserverWrites(api0) - services;
    const apiCpu = (t: string) => promSample(t, 'process_cpu_seconds_total') ?? Number.NaN;
    const apiserverCpuS = apiCpu(api1) - apiCpu(api0);
    clearInterval(rssTimer);
    const latencies = [...seen.entries()].map(([n, t]) => t - (sent.get(n) ?? t)).sort((a, b) => a - b);
    const rssMb = Math.max(peakRss, procStatusKb(first.pid, 'VmHWM')) / 1024;
    // Portico's own /metrics say where its RSS is; MetalLB's controller is Go (no such gauges).
    const environment: BenchRow = {
      ...(c.label === 'controller' ? await memoryBreakdown(first) : {}),
      ...runEnvironment(first.pid),
    };

    // Restart: graceful stop, start again, compare every IP.
    await sleep(2000); // let the pool status and the last annotations settle
    const before = await listIPs(client);
    first.proc.kill('SIGTERM');
    await first.exited;
    const r0 = performance.now();
    const second = await startChild(c, plane.cp.kubeconfigPath, logDir, 2);
    children.push(second);
    await waitReady(c, second, services, 120_000);
    const restartReadyS = (performance.now() - r0) / 1000;
    await sleep(3000); // give a misbehaving controller the chance to move something
    const after = await listIPs(client);
    let changes = 0;
    for (const [name, ip] of before) if (after.get(name) !== ip) changes++;
    watchAbort.abort();
    await watching;
    return {
      createS,
      allocateS,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      rssMb,
      restartReadyS,
      restartChanges: changes,
      writesPerService: writes / services,
      cpuS,
      apiserverCpuS,
      environment,
    };
  } finally {
    watchAbort.abort();
    for (const ch of children) {
      if (ch.proc.exitCode === null && ch.proc.signalCode === null) ch.proc.kill('SIGKILL');
    }
    await client.close();
    await plane.stop();
    if (process.env.PORTICO_BENCH_KEEP_LOGS) console.error(`${c.label} logs kept in ${logDir}`);
    else await rm(logDir, { recursive: true, force: true });
  }
}

const r2 = (x: number, d = 2) => Number(x.toFixed(d));

/** Where the controller's memory is right now: its V8 heap (own /metrics) and file-backed RSS. */
async function memoryBreakdown(c: Child): Promise<BenchRow> {
  const text = await fetch(`http://127.0.0.1:${c.port}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const mb = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number((Number(m[1]) / 1048576).toFixed(1)) : null;
  };
  return {
    heap_mb: mb(/^portico_nodejs_heap_size_total_bytes (\S+)$/m),
    young_mb: mb(/^portico_nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)$/m),
    external_mb: mb(/^portico_nodejs_external_memory_bytes (\S+)$/m),
    rss_file_mb: Number((procStatusKb(c.pid, 'RssFile') / 1024).toFixed(1)),
    // Flags the controller set for itself (controllers/main-heap.ts): not on its command line.
    v8_flags_in_process:
      /^portico_process_in_process_v8_flags_info\{flags="([^"]*)"\} 1$/m.exec(text)?.[1] ?? 'none',
  };
}

const SPREAD = [
  'create_s',
  'allocate_s',
  'ratio',
  'p50_ms',
  'p99_ms',
  'rss_mb',
  'cpu_s',
  'restart_ready_s',
  'metallb_alloc_s',
  'metallb_rss_mb',
  'ratio_vs_metallb',
];

/** One round: Portico, then MetalLB, each on its own fresh control plane. */
async function round(
  args: string[],
  firstRound: boolean,
  metallb: MetalLB | undefined,
  log: (m: string) => void,
): Promise<BenchRow> {
  const services = arg(args, '--services', 2000);
  const concurrency = arg(args, '--concurrency', 24);
  // V8 flags for the controller process, as the chart sets them (NODE_OPTIONS); '' = Node defaults.
  const i = args.indexOf('--node-options');
  const nodeOptions = i >= 0 ? (args[i + 1] ?? '') : (process.env.NODE_OPTIONS ?? '');
  // Default: the compiled build a container image runs; --source: the TypeScript as-is.
  const e = args.indexOf('--entry');
  const source = args.includes('--source');
  if (e < 0 && !source && firstRound)
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const entry =
    e >= 0
      ? resolve(args[e + 1] ?? '')
      : source
        ? join(REPO_ROOT, 'controllers', 'main.ts')
        : join(REPO_ROOT, 'dist', 'controllers', 'main.js');
  const ours = await measure(porticoContender(entry, nodeOptions), services, concurrency);
  log(`portico: ${services} allocated in ${ours.allocateS.toFixed(2)} s`);
  const theirs = metallb ? await measure(metallbContender(metallb), services, concurrency) : undefined;
  if (theirs) log(`metallb ${metallb?.version}: ${services} allocated in ${theirs.allocateS.toFixed(2)} s`);
  return {
    bench: 'controller',
    services,
    create_s: r2(ours.createS),
    allocate_s: r2(ours.allocateS),
    ratio: r2(ours.allocateS / ours.createS, 3),
    p50_ms: r2(ours.p50Ms, 1),
    p99_ms: r2(ours.p99Ms, 1),
    rss_mb: r2(ours.rssMb, 1),
    restart_ready_s: r2(ours.restartReadyS),
    restart_changes: ours.restartChanges,
    api_writes_per_service: r2(ours.writesPerService),
    cpu_s: r2(ours.cpuS),
    apiserver_cpu_s: r2(ours.apiserverCpuS),
    controller_entry: relative(REPO_ROOT, entry),
    metallb_version: metallb?.version ?? null,
    metallb_create_s: theirs ? r2(theirs.createS) : null,
    metallb_alloc_s: theirs ? r2(theirs.allocateS) : null,
    metallb_p50_ms: theirs ? r2(theirs.p50Ms, 1) : null,
    metallb_p99_ms: theirs ? r2(theirs.p99Ms, 1) : null,
    metallb_rss_mb: theirs ? r2(theirs.rssMb, 1) : null,
    metallb_restart_ready_s: theirs ? r2(theirs.restartReadyS) : null,
    metallb_restart_changes: theirs ? theirs.restartChanges : null,
    metallb_api_writes_per_service: theirs ? r2(theirs.writesPerService) : null,
    metallb_cpu_s: theirs ? r2(theirs.cpuS) : null,
    metallb_apiserver_cpu_s: theirs ? r2(theirs.apiserverCpuS) : null,
    ratio_vs_metallb: ratioVs(ours.allocateS, theirs?.allocateS),
    ...ours.environment,
  };
}

const bench: Bench = async (args) => {
  const rounds = flag(args, 'rounds', 3);
  if (rounds < 1) throw new Error('--rounds: at least 1');
  const log = (m: string) => process.stderr.write(`controller: ${m}\n`);
  // Before anything is measured: under CI a peer that cannot be built fails the bench here.
  const metallb = metallbPeer(args, log);
  const rows: BenchRow[] = [];
  for (let r = 0; r < rounds; r++) {
    rows.push(await round(args, r === 0, metallb, log));
    log(`round ${r + 1}/${rounds}: ${JSON.stringify(rows.at(-1))}`);
  }
  return [summarizeRounds(rows, SPREAD)];
};

export default bench;

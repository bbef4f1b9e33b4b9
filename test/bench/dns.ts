// DNS benchmark: Portico vs Knot DNS vs CoreDNS (`file` plugin), same zone, same queries, same run.
//
//   npm run bench -- dns [--json] [--duration S] [--runs N] [--qps N] [--udp-io auto|native|node]
//                        [--skip-peers] [--no-saturate]
//
// Zone: 1,000 names with A records. Queries: 90% A on existing names, 5% AAAA on those names
// (NODATA + SOA), 5% names that do not exist (NXDOMAIN + SOA). dnsperf (EDNS on) is pinned to CPU 0,
// each server to CPU 1, one server at a time, `runs` × `duration` seconds each (default 5 × 6 s),
// interleaved.
// "Each server to CPU 1" means every thread: Knot pins its UDP worker threads itself (worker i to
// CPU i mod ncpus, overriding taskset), which put its only UDP worker on CPU 0 next to dnsperf —
// a co-located server is woken without an inter-processor interrupt and measured at about half the
// CPU per query. So after start every thread of every server is re-pinned to CPU 1
// (servers_threads_repinned says how many had to move) and checked again after the runs.
// Socket receive buffers: the fixed-load runs use each server's own default (Portico asks for 4 MiB,
// capped by net.core.rmem_max; Knot and CoreDNS have no setting and get net.core.rmem_default).
// The saturated runs use a second Portico with --udp-rcvbuf 0 (started and warmed up with the
// others, idle until then), so all three queue the same amount in the kernel before they drop
// (udp_rcvbuf says so).
// Cost = the server's CPU time (utime+stime of the whole process, all threads, from /proc/PID/stat)
// over the run divided by the queries it answered. Reported values are medians over runs.
// p99 latency comes from dnsperf -v (one line per query). The offered load is fixed (--qps, default
// 20,000/s; 0 = unlimited) and identical for every server. Portico runs as `npm start` runs it (no
// --udp-io flag: auto, i.e. the native path whose receive thread replays answers, ADR 045/048/049);
// the share of answers it replayed during the measured runs (warm-up excluded) is reported
// (portico_replayed_pct). ratio_knot is also given per run
// (min/max) so run-to-run spread is visible.
// Saturated run (unless --no-saturate): each server in turn, offered load stepped up from 5,000/s (3 s steps)
// until more than 0.1% of queries are lost (twice in a row); *_max_qps is the highest answered rate
// with < 0.1% loss.
// dnsperf itself has a ceiling on one core: max_qps_client_bound says when the last step that
// passed was limited by the client (answered < 95% of offered without loss), i.e. the server's
// real maximum is higher than reported.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, runEnvironment } from '../support/bench.ts';
import type { Bench, BenchRow } from './run.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const COREDNS_VERSION = 'v1.14.7'; // keep in step with test/bench/peers/coredns/go.mod
const ZONE = 'bench.k8s.home.arpa';
const NAMES = 1000;
const CLK_TCK = 100;
/**
 * Same offered load for every server, below each one's saturation point: CPU per query is then a
 * comparison of the work each does per query, and p99 is latency rather than queueing delay.
 */
const DEFAULT_QPS = 20_000;

interface Args {
  duration: number;
  runs: number;
  skipPeers: boolean;
  /** Offered load (dnsperf -Q); 0 = as fast as dnsperf can. */
  qps: number;
  /** Portico's UDP path: 'auto' (the default path: native when built; built if missing), 'native' or 'node'. */
  udpIo: 'auto' | 'native' | 'node';
  saturate: boolean;
}

function parseArgs(args: string[]): Args {
  const a: Args = {
    // Five interleaved 6 s rounds rather than three of 10 s: the same time per server, and on a
    // shared machine the median and the per-round ratios (min/max) say more.
    duration: 6,
    runs: 5,
    skipPeers: false,
    qps: DEFAULT_QPS,
    udpIo: 'auto',
    saturate: true,
  };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--duration') a.duration = Number(args[++i]);
    else if (args[i] === '--runs') a.runs = Number(args[++i]);
    else if (args[i] === '--skip-peers') a.skipPeers = true;
    else if (args[i] === '--qps') a.qps = Number(args[++i]);
    else if (args[i] === '--udp-io') {
      const v = args[++i];
      if (v !== 'auto' && v !== 'native' && v !== 'node') throw new Error('--udp-io: auto, native or node');
      a.udpIo = v;
    } else if (args[i] === '--no-saturate') a.saturate = false;
    else throw new Error(`unknown argument ${args[i]}`);
  }
  if (!(a.duration > 0) || !(a.runs >= 1)) throw new Error('--duration and --runs must be positive');
  return a;
}

/** Deterministic PRNG (mulberry32) so every run and every server sees the same query file. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ipFor(i: number): string {
  return i < 250 ? `198.51.100.${i + 1}` : `203.0.113.${(i % 250) + 1}`;
}

function writeInputs(dir: string): { yaml: string; zonefile: string; queries: string } {
  const names = Array.from({ length: NAMES }, (_, i) => `host-${String(i).padStart(4, '0')}`);
  const yaml = join(dir, 'zone.yaml');
  writeFileSync(
    yaml,
    [
      `zone: ${ZONE}`,
      'ttl: 300',
      `soa: { mname: ns.${ZONE}, rname: hostmaster.${ZONE}, minimum: 30 }`,
      `nameServers: [ns.${ZONE}]`,
      'records:',
      `  - { name: ns, type: A, values: [127.0.0.1] }`,
      ...names.map((n, i) => `  - { name: ${n}, type: A, values: ['${ipFor(i)}'] }`),
      '',
    ].join('\n'),
  );
  const zonefile = join(dir, 'bench.zone');
  writeFileSync(
    zonefile,
    [
      `$ORIGIN ${ZONE}.`,
      '$TTL 300',
      `@ IN SOA ns.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 30`,
      `@ IN NS ns.${ZONE}.`,
      'ns IN A 127.0.0.1',
      ...names.map((n, i) => `${n} IN A ${ipFor(i)}`),
      '',
    ].join('\n'),
  );
  const r = rng(42);
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const x = r();
    const n = names[Math.floor(r() * NAMES)]!;
    if (x < 0.9) lines.push(`${n}.${ZONE} A`);
    else if (x < 0.95) lines.push(`${n}.${ZONE} AAAA`);
    else lines.push(`missing-${Math.floor(r() * 1e6)}.${ZONE} A`);
  }
  const queries = join(dir, 'queries.txt');
  writeFileSync(queries, `${lines.join('\n')}\n`);
  return { yaml, zonefile, queries };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

async function waitForDns(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const out = execFileSync(
        'dig',
        ['@127.0.0.1', '-p', String(port), `host-0001.${ZONE}`, '+short', '+tries=1', '+time=1'],
        {
          encoding: 'utf8',
        },
      );
      if (out.trim() !== '') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server on port ${port} did not answer within ${timeoutMs} ms`);
}

interface Server {
  name: string;
  port: number;
  proc: ChildProcess;
  /** Threads that were not on CPU 1 after start (and were moved there). */
  repinned: number;
}

const SERVER_CPU = '1';

const sysctl = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim());

/** Each thread's allowed CPU list (Cpus_allowed_list of /proc/PID/task/TID/status). */
function threadCpus(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    try {
      return (
        /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '?'
      );
    } catch {
      return SERVER_CPU; // the thread exited meanwhile
    }
  });
}

/** Pin every thread of `pid` to the servers' CPU; returns how many were elsewhere. */
function pinAllThreads(pid: number): number {
  const off = threadCpus(pid).filter((c) => c !== SERVER_CPU).length;
  execFileSync('taskset', ['-a', '-p', '-c', SERVER_CPU, String(pid)], { stdio: 'ignore' });
  return off;
}

async function startServer(
  name: string,
  cmd: string[],
  port: number,
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<Server> {
  const log = join(cwd, `${name}.log`);
  const proc = spawn('taskset', ['-c', SERVER_CPU, ...cmd], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  proc.once('exit', () => writeFileSync(log, stderr));
  try {
    await waitForDns(port);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${name}: ${(e as Error).message}\n${stderr.slice(-2000)}`);
  }
  return { name, port, proc, repinned: pinAllThreads(proc.pid!) };
}

async function stopServer(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

interface RunResult {
  qps: number;
  completed: number;
  lost: number;
  cpuUsPerQ: number;
  p99Ms: number | null;
}

function runDnsperf(
  s: Server,
  queries: string,
  duration: number,
  verbose: boolean,
  qps: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const pid = s.proc.pid!;
    const before = cpuTicks(pid);
    const args = [
      '-c',
      '0',
      'dnsperf',
      '-s',
      '127.0.0.1',
      '-p',
      String(s.port),
      '-d',
      queries,
      '-l',
      String(duration),
      '-e',
    ];
    if (verbose) args.push('-v');
    if (qps > 0) args.push('-Q', String(qps));
    // Enough queries in flight that the offered rate, not dnsperf's window, sets the load; a 4 MiB
    // client socket buffer so a burst of answers after a scheduling hiccup is not dropped by the
    // client (that would count as a lost query against the server).
    args.push('-q', '500', '-b', '4096');
    // stdout (one line per query with -v) goes to a file, parsed after the run: a pipe into this
    // process would make the bench runner itself compete for CPU and throttle dnsperf.
    // Not in the server's directory: the zone file's watcher must not see these writes.
    const outFile = join(tmpdir(), `portico-bench-dnsperf-${process.pid}-${s.name}.out`);
    const fd = openSync(outFile, 'w');
    const p = spawn('taskset', args, { stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.once('error', reject);
    p.once('exit', (code) => {
      const after = cpuTicks(pid);
      const out = readFileSync(outFile, 'utf8');
      rmSync(outFile);
      const latencies: number[] = [];
      let summary = '';
      for (const l of out.split('\n')) {
        if (l.startsWith('> ')) {
          const v = Number(l.slice(l.lastIndexOf(' ') + 1));
          if (Number.isFinite(v)) latencies.push(v);
        } else summary += `${l}\n`;
      }
      const num = (re: RegExp) => Number(re.exec(summary)?.[1] ?? Number.NaN);
      const completed = num(/Queries completed:\s+(\d+)/);
      const lost = num(/Queries lost:\s+(\d+)/);
      const rate = num(/Queries per second:\s+([\d.]+)/);
      if (code !== 0 || !Number.isFinite(completed)) {
        reject(
          new Error(`dnsperf against ${s.name} failed (exit ${code}):\n${(summary + stderr).slice(-2000)}`),
        );
        return;
      }
      let p99Ms: number | null = null;
      if (latencies.length > 0) {
        latencies.sort((a, b) => a - b);
        p99Ms = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]! * 1000;
      }
      resolve({
        qps: rate,
        completed,
        lost,
        cpuUsPerQ: (((after - before) / CLK_TCK) * 1e6) / Math.max(1, completed),
        p99Ms,
      });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function ensureCoreDns(): string {
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'portico', 'coredns');
  const bin = join(dir, `coredns-${COREDNS_VERSION}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: join(here, 'peers', 'coredns'), stdio: 'inherit' });
  return bin;
}

/** Portico's own counters: every answered query, and those the native path replayed (ADR 048). */
async function scrapePortico(port: number): Promise<{ queries: number; replayed: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const total = (name: string) =>
    [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
  return { queries: total('portico_dns_queries_total'), replayed: total('portico_dns_udp_replayed_total') };
}

/** Highest offered rate (3 s steps, rising) answered with < 0.1% loss. Bounded: at most 12 steps. */
async function saturate(
  s: Server,
  queries: string,
): Promise<{ maxQps: number; clientBound: boolean; steps: number }> {
  let best = 0;
  let clientBound = false;
  let steps = 0;
  // From 5,000/s (a loaded CI machine loses 0.1% at 20,000/s with every server) up by 1.3× to ~90,000/s.
  for (let offered = 5_000; steps < 12; offered = Math.round(offered * 1.3)) {
    steps++;
    // A step that loses is tried once more before the search stops (for every server alike): on a
    // shared machine one scheduling hiccup drops a whole socket buffer's worth of queries.
    let r = await runDnsperf(s, queries, 3, false, offered);
    const lossy = (x: RunResult) => x.completed + x.lost === 0 || x.lost / (x.completed + x.lost) >= 0.001;
    if (lossy(r)) r = await runDnsperf(s, queries, 3, false, offered);
    if (lossy(r)) break;
    best = Math.max(best, Math.round(r.qps));
    clientBound = r.qps < 0.95 * offered;
    if (clientBound) break; // the client cannot offer more: the server's ceiling is higher
  }
  return { maxQps: best, clientBound, steps };
}

/** Build dns/native (the batched UDP addon) if it is not built yet or older than its source. */
function ensureNativeUdp(): void {
  const built = join(repo, 'dns', 'native', 'build', 'Release', 'portico_udp.node');
  const src = join(repo, 'dns', 'native', 'udp.c');
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(src).mtimeMs) return;
  execFileSync(process.execPath, [join(repo, 'dns', 'native', 'build.ts')], { stdio: 'inherit' });
}

function knotConfig(dir: string, port: number, zonefile: string): string {
  const conf = join(dir, 'knot.conf');
  mkdirSync(join(dir, 'knot-run'), { recursive: true });
  mkdirSync(join(dir, 'knot-db'), { recursive: true });
  writeFileSync(
    conf,
    [
      'server:',
      `    rundir: "${join(dir, 'knot-run')}"`,
      `    listen: 127.0.0.1@${port}`,
      '    udp-workers: 1',
      '    tcp-workers: 1',
      '    background-workers: 1',
      'database:',
      `    storage: "${join(dir, 'knot-db')}"`,
      'log:',
      '  - target: stderr',
      '    any: warning',
      'zone:',
      `  - domain: ${ZONE}`,
      `    file: "${zonefile}"`,
      '    journal-content: none',
      '    zonefile-sync: -1',
      '',
    ].join('\n'),
  );
  return conf;
}

const bench: Bench = async (argv) => {
  const args = parseArgs(argv);
  // Keep this runner (and its threads) off the servers' CPU.
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'portico-bench-dns-'));
  try {
    const { yaml, zonefile, queries } = writeInputs(dir);
    const ports = {
      portico: await freePort(),
      porticoSat: await freePort(),
      knot: await freePort(),
      coredns: await freePort(),
    };
    const metricsPort = await freePort();
    const metricsPortSat = await freePort();
    if (args.udpIo !== 'node') ensureNativeUdp();
    const servers: Server[] = [];
    const startPortico = (port: number, metrics: number, porticoExtra: string[]) =>
      startServer(
        'portico',
        [
          process.execPath,
          join(repo, 'dns', 'main.ts'),
          '--config',
          yaml,
          '--port',
          String(port),
          '--workers',
          '1',
          ...(args.udpIo === 'auto' ? [] : ['--udp-io', args.udpIo]),
          ...porticoExtra,
          '--metrics-address',
          `127.0.0.1:${metrics}`,
          '--log-level',
          'warn',
        ],
        port,
        dir,
      );
    servers.push(await startPortico(ports.portico, metricsPort, []));
    // For the saturated runs (same kernel receive buffer as Knot and CoreDNS, see the header): a
    // second Portico with --udp-rcvbuf 0, started and warmed with the others, idle until then.
    const porticoSat = args.saturate
      ? await startPortico(ports.porticoSat, metricsPortSat, ['--udp-rcvbuf', '0'])
      : undefined;
    if (!args.skipPeers) {
      servers.push(
        await startServer('knot', ['knotd', '-c', knotConfig(dir, ports.knot, zonefile)], ports.knot, dir),
      );
      const corefile = join(dir, 'Corefile');
      writeFileSync(corefile, `${ZONE}:${ports.coredns} {\n    bind 127.0.0.1\n    file ${zonefile}\n}\n`);
      servers.push(await startServer('coredns', [ensureCoreDns(), '-conf', corefile], ports.coredns, dir));
    }
    const results = new Map<string, RunResult[]>();
    const saturated = new Map<string, { maxQps: number; clientBound: boolean; steps: number }>();
    let replayedPct: number | null = null;
    let allOnServerCpu = true;
    let environment: BenchRow = {};
    let servedBy = '';
    try {
      // Warm-up (JIT, caches).
      for (const s of porticoSat ? [...servers, porticoSat] : servers)
        await runDnsperf(s, queries, 2, false, args.qps);
      const m0 = await scrapePortico(metricsPort);
      for (let r = 0; r < args.runs; r++) {
        for (const s of servers) {
          // -v (one line per query, for p99) for every server, so each sees the same client.
          const res = await runDnsperf(s, queries, args.duration, true, args.qps);
          results.set(s.name, [...(results.get(s.name) ?? []), res]);
        }
      }
      environment = runEnvironment(servers[0]?.proc.pid);
      const m1 = await scrapePortico(metricsPort);
      const m = { queries: m1.queries - m0.queries, replayed: m1.replayed - m0.replayed };
      replayedPct = m.queries > 0 ? (100 * m.replayed) / m.queries : null;
      servedBy = m1.replayed > 0 ? 'native+replay' : args.udpIo;
      for (const s of porticoSat ? [...servers, porticoSat] : servers)
        if (threadCpus(s.proc.pid!).some((c) => c !== SERVER_CPU)) allOnServerCpu = false;
      if (porticoSat)
        for (const s of [porticoSat, ...servers.slice(1)]) saturated.set(s.name, await saturate(s, queries));
    } finally {
      for (const s of porticoSat ? [...servers, porticoSat] : servers) await stopServer(s);
    }
    const med = (name: string, k: keyof RunResult) => {
      const xs = (results.get(name) ?? []).map((x) => x[k]).filter((x): x is number => typeof x === 'number');
      return xs.length ? median(xs) : null;
    };
    const sum = (name: string) => (results.get(name) ?? []).reduce((a, x) => a + x.lost, 0);
    const p = med('portico', 'cpuUsPerQ');
    const k = med('knot', 'cpuUsPerQ');
    const c = med('coredns', 'cpuUsPerQ');
    // Per-run ratios (run i of Portico against run i of Knot: interleaved, so close in time).
    const perRun = (results.get('portico') ?? []).map((x, i) => {
      const kn = results.get('knot')?.[i]?.cpuUsPerQ;
      return kn ? x.cpuUsPerQ / kn : null;
    });
    const ratios = perRun.filter((x): x is number => x !== null);
    const round = (x: number | null, d = 2) => (x === null ? null : Number(x.toFixed(d)));
    const sat = (name: string) => saturated.get(name);
    const row: BenchRow = {
      bench: 'dns',
      portico_qps: round(med('portico', 'qps'), 0),
      portico_cpu_us_per_q: round(p),
      knot_cpu_us_per_q: round(k),
      coredns_cpu_us_per_q: round(c),
      ratio_knot: p !== null && k ? round(p / k) : null,
      ratio_knot_min: ratios.length ? round(Math.min(...ratios)) : null,
      ratio_knot_max: ratios.length ? round(Math.max(...ratios)) : null,
      ratio_coredns: p !== null && c ? round(p / c) : null,
      lost: sum('portico'),
      portico_p99_ms: round(med('portico', 'p99Ms'), 3),
      knot_p99_ms: round(med('knot', 'p99Ms'), 3),
      coredns_p99_ms: round(med('coredns', 'p99Ms'), 3),
      knot_qps: round(med('knot', 'qps'), 0),
      coredns_qps: round(med('coredns', 'qps'), 0),
      peers_lost: args.skipPeers ? null : sum('knot') + sum('coredns'),
      offered_qps: args.qps === 0 ? 'max' : args.qps,
      portico_udp_io: servedBy,
      portico_replayed_pct: round(replayedPct, 1),
      portico_max_qps: sat('portico')?.maxQps ?? null,
      knot_max_qps: sat('knot')?.maxQps ?? null,
      coredns_max_qps: sat('coredns')?.maxQps ?? null,
      max_qps_client_bound: args.saturate
        ? [...saturated]
            .filter(([, v]) => v.clientBound)
            .map(([n]) => n)
            .join(',') || 'none'
        : null,
      // Every thread of every server on CPU 1 (Knot moves its UDP worker to CPU 0 by itself: re-pinned).
      servers_threads_repinned: servers.map((s) => `${s.name} ${s.repinned}`).join(', '),
      servers_all_threads_on_cpu1: allOnServerCpu,
      udp_rcvbuf: `fixed load: portico ${Math.min(4 << 20, sysctl('rmem_max'))} (its default: 4 MiB capped by rmem_max), knot and coredns ${sysctl('rmem_default')} (rmem_default); saturated: ${sysctl('rmem_default')} for every server`,
      runs: args.runs,
      duration_s: args.duration,
      // Of the Portico server process; dnsperf runs on CPU 0, each server on CPU 1.
      ...environment,
    };
    return [row];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;

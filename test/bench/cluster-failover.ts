// `npm run bench -- cluster-failover [--json] [--trials N] [--graceful N] [--no-build]`
//
// Client-visible failover on a real cluster: runs the user's kind script (test/e2e/kind/run.sh)
// with the images test/cluster/build.sh makes offline (built first unless --no-build; the
// script's own output goes to stderr), and reports what its client loop saw. The client, a
// container on the kind network that is not a node, requests app.<zone> through the Gateway's VIP
// every 50 ms; an outage is the time from its last success before a failure to its first success
// after it (0 when no request failed).
//   - kill trials (default 5): `docker kill` of the node that owns the VIP;
//   - graceful trials (default 5): the owner's speaker pod deleted (SIGTERM: leave, then stop).
// Needs root and Docker (test/cluster/docker.sh start).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../envtest/index.ts';
import { flag, percentile, runEnvironment } from '../support/bench.ts';
import type { Bench, BenchRow } from './run.ts';

/** KEY=VALUE lines of the env file test/cluster/build.sh writes. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

function buildImages(): Record<string, string> {
  const r = spawnSync('bash', [join(REPO_ROOT, 'test/cluster/build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`test/cluster/build.sh failed (${r.status})`);
  const envFile = r.stdout.trim().split('\n').pop() ?? '';
  return parseEnvFile(readFileSync(envFile, 'utf8'));
}

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unavailable';
}

const bench: Bench = async (args) => {
  const trials = flag(args, 'trials', 5);
  const graceful = flag(args, 'graceful', 5);
  if (trials < 1) throw new Error('--trials: at least 1');
  const env = args.includes('--no-build') ? {} : buildImages();
  const work = mkdtempSync(join(tmpdir(), 'portico-cluster-failover-'));
  const results = join(work, 'results.json');
  const started = Date.now();
  try {
    const bin = env.CLUSTER_BIN;
    const r = spawnSync('bash', [join(REPO_ROOT, 'test/e2e/kind/run.sh')], {
      // The script's report (CHECK lines) on stderr, so --json keeps stdout to JSON lines.
      stdio: ['ignore', 2, 2],
      env: {
        ...process.env,
        ...env,
        PATH: bin ? `${bin}:${process.env.PATH}` : process.env.PATH,
        FAILOVER_TRIALS: String(trials),
        GRACEFUL_TRIALS: String(graceful),
        RESULTS_JSON: results,
      },
    });
    if (r.status !== 0) throw new Error(`test/e2e/kind/run.sh failed (${r.status ?? r.signal})`);
    const out = JSON.parse(readFileSync(results, 'utf8')) as {
      kill_outages_ms: number[];
      graceful_outages_ms: number[];
    };
    const kill = out.kill_outages_ms;
    const soft = out.graceful_outages_ms;
    const row: BenchRow = {
      bench: 'cluster-failover',
      kill_trials: kill.length,
      outage_ms_p50: percentile(kill, 50),
      outage_ms_max: percentile(kill, 100),
      outage_ms_min: percentile(kill, 0),
      graceful_trials: soft.length,
      graceful_outage_ms_p50: percentile(soft, 50),
      graceful_outage_ms_max: percentile(soft, 100),
      probe_interval_ms: 50,
      e2e_s: Math.round((Date.now() - started) / 1000),
      kind_node_image: env.KIND_NODE_IMAGE ?? process.env.KIND_NODE_IMAGE ?? 'kind default',
      docker_server: docker(['version', '-f', '{{.Server.Version}}']),
      cgroup: docker(['info', '-f', '{{.CgroupVersion}}']),
      node: process.version,
      // The speakers run in pods with the chart's flags; this is the machine the cluster runs on.
      cpus: runEnvironment().cpu_affinity ?? null,
      loadavg_1m: runEnvironment().loadavg_1m ?? null,
    };
    return [row];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

export default bench;

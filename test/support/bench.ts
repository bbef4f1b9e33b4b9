// Small helpers the benches under test/bench share (kept out of test/bench/, where every file is a
// bench the runner lists).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import type { BenchRow } from '../bench/run.ts';

/** `--name N` from a bench's arguments: a whole number 0..10000, else `dflt`. */
export function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0 || v > 10_000) throw new Error(`--${name}: a whole number 0..10000`);
  return v;
}

/** Nearest-rank percentile (p in 0..100); null for no samples. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * The V8 flags a Node process runs with, from its command line (the options between the node
 * binary and the script, in `--flag=value` form as the benches pass them) and its NODE_OPTIONS;
 * 'none (Node defaults)' when there are none. `cmdline` is argv as /proc/<pid>/cmdline holds it.
 */
export function v8FlagsOf(cmdline: readonly string[], nodeOptions: string | undefined): string {
  const flags: string[] = [];
  for (const a of cmdline.slice(1)) {
    if (!a.startsWith('-')) break; // the script: what follows is the program's own arguments
    flags.push(a);
  }
  const env = (nodeOptions ?? '').trim();
  if (env !== '') flags.push(...env.split(/\s+/));
  return flags.length > 0 ? flags.join(' ') : 'none (Node defaults)';
}

function procFile(pid: number | 'self', file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * What a bench's figures depend on besides the code, printed beside them: the Node version, the V8
 * flags of the measured process (`pid`, default this one; read from /proc, so flags a process set
 * for itself by re-executing show too), the CPUs it may run on and the load average right now.
 * Call it at the end of a run so loadavg_1m covers the measurement.
 */
export function runEnvironment(pid?: number): BenchRow {
  const p = pid ?? 'self';
  const cmdline = procFile(p, 'cmdline')
    .split('\0')
    .filter((a) => a !== '');
  const environ = procFile(p, 'environ').split('\0');
  const nodeOptions = environ.find((e) => e.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length);
  const affinity = /^Cpus_allowed_list:\s*(\S+)/m.exec(procFile(p, 'status'))?.[1] ?? 'unknown';
  return {
    node_version: process.version,
    v8_flags: cmdline.length > 0 ? v8FlagsOf(cmdline, nodeOptions) : 'unknown',
    cpu_affinity: `${affinity} of ${cpus().length}`,
    loadavg_1m: Number(loadavg()[0]?.toFixed(2)),
  };
}

/**
 * One row from several rounds of the same bench: every key in `spread` becomes `<key>_min`,
 * `<key>_median` and `<key>_max` (the run-to-run spread), `rounds` says how many there were. Other
 * keys: a value every round agrees on as is; numbers that differ by their maximum (counts that must
 * stay 0, like restart_changes, show their worst round); strings that differ joined with ' | '.
 */
export function summarizeRounds(rows: readonly BenchRow[], spread: readonly string[]): BenchRow {
  if (rows.length === 0) throw new Error('summarizeRounds: no rounds');
  const out: BenchRow = {};
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  for (const k of keys) {
    const vals = rows.map((r) => r[k] ?? null);
    if (spread.includes(k)) {
      const nums = vals.filter((v): v is number => typeof v === 'number');
      out[`${k}_min`] = nums.length > 0 ? Math.min(...nums) : null;
      out[`${k}_median`] = median(nums);
      out[`${k}_max`] = nums.length > 0 ? Math.max(...nums) : null;
      continue;
    }
    if (vals.every((v) => v === vals[0])) out[k] = vals[0] ?? null;
    else if (vals.every((v) => typeof v === 'number')) out[k] = Math.max(...(vals as number[]));
    else out[k] = [...new Set(vals.map(String))].join(' | ');
  }
  out.rounds = rows.length;
  return out;
}

/** Median (mean of the middle two for an even count); null for no samples. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A TCP port free on 127.0.0.1 right now (for a child process to bind next). */
export function freePort(): Promise<number> {
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

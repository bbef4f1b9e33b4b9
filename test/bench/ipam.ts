// `npm run bench -- ipam [--json] [--n=100000]`: the pure allocator's cost per operation, IPv4 (/15)
// against IPv6 (/64), through the public Allocator API a reconciler uses (allocate / release).
//
// Phases per family, each on a fresh allocator with one pool:
//   alloc    n Services allocate (lowest free first: the common case)
//   release  the n Services are released in a shuffled order (fragments the used runs)
//   refill   n/2 allocate again into the holes left by releasing every other Service
// Heap is measured after a forced GC with the n Services held (the allocator's resident cost).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Allocator } from '../../controllers/ipam/index.ts';
import type { ServiceRequest } from '../../controllers/ipam/types.ts';
import type { Bench, BenchRow } from './run.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

// Deterministic shuffle (mulberry32) so runs are comparable.
function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface FamilyResult {
  allocMs: number;
  /** Process CPU time of the alloc phase (less sensitive than wall time to a busy machine). */
  allocCpuMs: number;
  releaseMs: number;
  refillMs: number;
  heapMb: number;
  lastIp: string;
}

function runFamily(family: 'IPv4' | 'IPv6', cidr: string, n: number): FamilyResult {
  const requests: ServiceRequest[] = [];
  for (let i = 0; i < n; i++) {
    requests.push({ namespace: 'bench', name: `svc-${i}`, ipFamilies: [family], ports: [{ port: 80 }] });
  }
  const keys = requests.map((r) => `${r.namespace}/${r.name}`);
  const baseHeap = heapMb();
  const a = new Allocator();
  a.setPools([{ name: 'bench', spec: { addresses: [cidr] } }]);

  let lastIp = '';
  const c0 = process.cpuUsage();
  let t0 = performance.now();
  for (const r of requests) {
    const res = a.allocate(r);
    if (!res.ok) throw new Error(`${family} allocation failed: ${res.message}`);
    lastIp = res.ips[0]!;
  }
  const allocMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const allocCpuMs = (cpu.user + cpu.system) / 1000;
  const held = heapMb() - baseHeap;

  const order = shuffled(keys, 42);
  t0 = performance.now();
  for (const k of order) a.release(k);
  const releaseMs = performance.now() - t0;

  // Fragment: hold everyone again, release every other one, then refill the holes.
  for (const r of requests) a.allocate(r);
  for (let i = 0; i < n; i += 2) a.release(keys[i]!);
  t0 = performance.now();
  for (let i = 0; i < n; i += 2) {
    const res = a.allocate(requests[i]!);
    if (!res.ok) throw new Error(`${family} refill failed: ${res.message}`);
  }
  const refillMs = performance.now() - t0;
  return { allocMs, allocCpuMs, releaseMs, refillMs, heapMb: held, lastIp };
}

const bench: Bench = async (args) => {
  const nArg = args.find((a) => a.startsWith('--n='));
  const roundsArg = args.find((a) => a.startsWith('--rounds='));
  const n = nArg ? Number(nArg.slice(4)) : 100_000;
  const rounds = roundsArg ? Number(roundsArg.slice(9)) : 3;
  // Warm-up on a small run so both families are measured with optimised code.
  runFamily('IPv4', '198.18.0.0/15', 5000);
  runFamily('IPv6', '2001:db8::/64', 5000);
  // Shared CI machines are noisy: alternate the families and keep each one's best round (the
  // least disturbed estimate of its own cost), so neither family is favoured by timing luck.
  const best = (a: FamilyResult | null, b: FamilyResult): FamilyResult =>
    a === null
      ? b
      : {
          allocMs: Math.min(a.allocMs, b.allocMs),
          allocCpuMs: Math.min(a.allocCpuMs, b.allocCpuMs),
          releaseMs: Math.min(a.releaseMs, b.releaseMs),
          refillMs: Math.min(a.refillMs, b.refillMs),
          heapMb: Math.max(a.heapMb, b.heapMb),
          lastIp: b.lastIp,
        };
  let v4: FamilyResult | null = null;
  let v6: FamilyResult | null = null;
  for (let r = 0; r < rounds; r++) {
    v4 = best(v4, runFamily('IPv4', '198.18.0.0/15', n));
    v6 = best(v6, runFamily('IPv6', '2001:db8::/64', n));
  }
  if (v4 === null || v6 === null) throw new Error('--rounds must be at least 1');
  const perS = (ms: number, count: number) => Math.round(count / (ms / 1000));
  const row: BenchRow = {
    bench: 'ipam',
    n,
    rounds,
    v4_alloc_per_s: perS(v4.allocMs, n),
    v6_alloc_per_s: perS(v6.allocMs, n),
    v6_over_v4_time_ratio: Number((v6.allocMs / v4.allocMs).toFixed(3)),
    v6_over_v4_cpu_ratio: Number((v6.allocCpuMs / v4.allocCpuMs).toFixed(3)),
    v4_release_per_s: perS(v4.releaseMs, n),
    v6_release_per_s: perS(v6.releaseMs, n),
    v4_refill_per_s: perS(v4.refillMs, n / 2),
    v6_refill_per_s: perS(v6.refillMs, n / 2),
    heap_mb_100k: Number(Math.max(v4.heapMb, v6.heapMb).toFixed(1)),
    v4_heap_mb: Number(v4.heapMb.toFixed(1)),
    v6_heap_mb: Number(v6.heapMb.toFixed(1)),
    v4_last_ip: v4.lastIp,
    v6_last_ip: v6.lastIp,
  };
  return [row];
};

export default bench;

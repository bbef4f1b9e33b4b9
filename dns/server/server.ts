// The DNS server process shell: serving threads + metrics + readiness.
//
// workers = 1: the main thread serves (the benchmark's configuration: one core, no cross-thread
// hops). workers = N > 1: N worker threads each bind the same UDP+TCP port with SO_REUSEPORT and the
// kernel spreads load across them; the main thread keeps the zone table, metrics and health.
// Each worker rebuilds the snapshots from the same ZoneInputs (serials included), so every thread
// serves byte-identical answers.
//
// Readiness: not ready until the first zone update (the source has synced) and every thread listens.
// Before the first update the sockets answer SERVFAIL (docs/decisions/042-servfail-until-synced.md).

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import { DEFAULT_EDNS_SIZE } from '../wire/constants.ts';
import type { SnapshotSet } from '../zone/snapshot.ts';
import type { ZoneInput } from '../zone/spec.ts';
import { type ListenerOptions, type Listeners, startListeners } from './listeners.ts';
import { DnsMetrics } from './metrics.ts';
import type { RateLimitOptions } from './rrl.ts';
import type { StatsSnapshot } from './stats.ts';

/**
 * The URL of a module next to `metaUrl`, with `metaUrl`'s own extension: `.ts` when running from
 * source, `.js` in the compiled build (tsc rewrites import specifiers, not URLs built by hand —
 * the image shipped a DNS server that crashed on start looking for worker.ts; found by the kind
 * e2e).
 */
export function siblingModule(name: string, metaUrl: string): URL {
  const ext = /\.[cm]?[jt]s$/.exec(new URL(metaUrl).pathname)?.[0] ?? '.js';
  return new URL(`./${name}${ext}`, metaUrl);
}

export interface DnsServerOptions {
  /** Listen address. Default 127.0.0.1. */
  address?: string;
  /** UDP and TCP port; 0 = a free one (same for both). Default 5353. */
  port?: number;
  /** Serving threads; 'auto' = one per CPU. Default 1. */
  workers?: number | 'auto';
  /** Largest UDP response to EDNS clients, also advertised. Default 1232. */
  maxUdpPayload?: number;
  /** Close a TCP connection idle this long (RFC 7766 §6.2.3). Default 10 000. */
  tcpIdleTimeoutMs?: number;
  /** Concurrent TCP connections per thread; more are refused. Default 1 000. */
  tcpMaxConnections?: number;
  /** Off unless set. */
  rateLimit?: RateLimitOptions;
  /** Measure latency on 1 in N queries. Default 16. */
  latencySampleEvery?: number;
  /** prom-client registry to register into. Default: a new one. */
  registry?: Registry;
  /** How often threads fold their counters into the metrics. Default 1 000 ms. */
  statsIntervalMs?: number;
  /** UDP I/O path: 'auto' (batched native when built, else node:dgram), 'native' or 'node'. */
  udpIo?: 'auto' | 'native' | 'node';
  /** SO_RCVBUF for UDP sockets; 0 = the kernel's default. Default 4 MiB (capped by net.core.rmem_max). */
  udpRcvbuf?: number;
}

export interface DnsServer {
  readonly address: string;
  readonly port: number;
  /** The UDP path serving: 'native' (recvmmsg/sendmmsg) or 'node' (node:dgram). */
  readonly udpIo: 'native' | 'node';
  readonly metrics: DnsMetrics;
  /** Serve new snapshots. `inputs` are what built `set`; worker threads rebuild from them. */
  update(u: { set: SnapshotSet; inputs: ZoneInput[] }): void;
  /** Synced and listening. */
  ready(): boolean;
  /** Fold every thread's counters into the metrics now. */
  collect(): Promise<void>;
  close(): Promise<void>;
}

interface WorkerHandle {
  worker: Worker;
  id: string;
}

export async function startDnsServer(opts: DnsServerOptions = {}): Promise<DnsServer> {
  const workers = opts.workers === 'auto' ? availableParallelism() : Math.max(1, opts.workers ?? 1);
  const listenerOpts: ListenerOptions = {
    address: opts.address ?? '127.0.0.1',
    port: opts.port ?? 5353,
    maxUdpPayload: Math.max(512, Math.min(65535, opts.maxUdpPayload ?? DEFAULT_EDNS_SIZE)),
    tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs ?? 10_000,
    tcpMaxConnections: opts.tcpMaxConnections ?? 1000,
    rateLimit: opts.rateLimit,
    reusePort: workers > 1,
    latencySampleEvery: opts.latencySampleEvery ?? 16,
    udpIo: opts.udpIo ?? 'auto',
    ...(opts.udpRcvbuf !== undefined ? { udpRcvbuf: opts.udpRcvbuf } : {}),
  };
  const metrics = new DnsMetrics(opts.registry, listenerOpts.latencySampleEvery);
  let synced = false;
  let closed = false;

  if (workers === 1) {
    const l: Listeners = await startListeners(listenerOpts);
    const collect = async () => metrics.apply('main', l.drain());
    const timer = setInterval(collect, opts.statsIntervalMs ?? 1000);
    timer.unref();
    return {
      address: listenerOpts.address,
      port: l.port,
      udpIo: l.udpIo,
      metrics,
      update({ set }) {
        l.setSnapshots(set);
        metrics.zones(set);
        synced = true;
      },
      ready: () => synced && !closed,
      collect,
      async close() {
        closed = true;
        clearInterval(timer);
        await l.close();
        await collect();
      },
    };
  }

  // Worker threads: the first binds (possibly port 0) and tells us the port; the rest join it.
  const handles: WorkerHandle[] = [];
  const waiters = new Map<string, (s: StatsSnapshot) => void>();
  const spawn = (i: number, port: number) =>
    new Promise<{ handle: WorkerHandle; port: number; udpIo: 'native' | 'node' }>((resolve, reject) => {
      const worker = new Worker(siblingModule('worker', import.meta.url), {
        workerData: { options: { ...listenerOpts, port }, statsIntervalMs: opts.statsIntervalMs ?? 1000 },
      });
      const handle = { worker, id: `worker-${i}` };
      worker.on(
        'message',
        (m: {
          type: string;
          port?: number;
          udpIo?: 'native' | 'node';
          stats?: StatsSnapshot;
          error?: string;
        }) => {
          if (m.type === 'listening') resolve({ handle, port: m.port!, udpIo: m.udpIo ?? 'node' });
          else if (m.type === 'error') reject(new Error(m.error));
          else if (m.type === 'stats' && m.stats) {
            metrics.apply(handle.id, m.stats);
            const w = waiters.get(handle.id);
            if (w) {
              waiters.delete(handle.id);
              w(m.stats);
            }
          }
        },
      );
      worker.once('error', reject);
    });
  const first = await spawn(0, listenerOpts.port);
  handles.push(first.handle);
  for (let i = 1; i < workers; i++) handles.push((await spawn(i, first.port)).handle);
  for (const h of handles) {
    h.worker.on('exit', (code) => {
      // A serving thread must never die quietly: that would halve capacity and hide a bug.
      if (!closed) {
        console.error(`dns ${h.id} exited with code ${code}; exiting`);
        process.exit(1);
      }
    });
  }
  let lastInputs: ZoneInput[] | undefined;
  return {
    address: listenerOpts.address,
    port: first.port,
    udpIo: first.udpIo,
    metrics,
    update({ set, inputs }) {
      lastInputs = inputs;
      for (const h of handles) h.worker.postMessage({ type: 'zones', inputs: lastInputs });
      metrics.zones(set);
      synced = true;
    },
    ready: () => synced && !closed,
    async collect() {
      await Promise.all(
        handles.map(
          (h) =>
            new Promise<void>((resolve) => {
              waiters.set(h.id, () => resolve());
              h.worker.postMessage({ type: 'drain' });
            }),
        ),
      );
    },
    async close() {
      closed = true;
      await Promise.all(handles.map((h) => h.worker.terminate()));
    },
  };
}

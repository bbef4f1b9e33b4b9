// Portico DNS: the single binary.
//
//   node dns/main.ts --config examples/zone.yaml            standalone: zones from a YAML file
//   node dns/main.ts --kubeconfig ~/.kube/config ...         Kubernetes mode (dns/kubernetes.ts)
//
// Standalone mode loads the file before it answers anything, then reloads it on change; a broken
// edit is logged and the previous zones stay served.

import { FlagError, OBSERVE_FLAGS, parseFlags } from '../lib/observe/flags.ts';
import { createRegistry } from '../lib/observe/metrics.ts';
import { createLogger, DNS_EVENT_LOOP_SAMPLE_MS, startObserveServer } from './observe.ts';
import { udpFallbackWarning } from './server/native-udp.ts';
import type { RateLimitOptions } from './server/rrl.ts';
import { type DnsServer, startDnsServer } from './server/server.ts';
import { loadZoneFile, watchZoneFile } from './static.ts';
import { describe } from './zone/snapshot.ts';
import { ZoneTable } from './zone/table.ts';

export const usage = `usage: node dns/main.ts (--config FILE | --kubernetes | --kubeconfig FILE) [options]
  --config FILE           zones (YAML, DNSZone spec shape); reloaded when it changes
  --kubernetes            Kubernetes mode: zones from DNSZones, Gateway API routes and Services,
                          credentials from $KUBECONFIG, in-cluster, then ~/.kube/config
  --kubeconfig FILE       Kubernetes mode with this kubeconfig
  --address ADDR          listen address (default 127.0.0.1)
  --port N                UDP+TCP port (default 5353; 0 = any free port)
  --workers N|auto        serving threads (default 1)
  --max-udp-payload N     EDNS UDP payload cap (default 1232)
  --rate-limit N          responses per second per /24 (v4) or /56 (v6); off by default
  --udp-io auto|native|node  UDP path: batched recvmmsg/sendmmsg addon (dns/native) or node:dgram
                          (default auto: native when built; a warning is logged when it is not)
  --udp-rcvbuf BYTES      UDP socket receive buffer (default 4194304, capped by net.core.rmem_max;
                          0 = the kernel's default)
  --metrics-address ADDR  serve /metrics /healthz /readyz, e.g. 127.0.0.1:9153 (off by default)
  --log-level LEVEL       pino level (default info)
  --help`;

export interface StandaloneOptions {
  config: string;
  address?: string;
  port?: number;
  workers?: number | 'auto';
  maxUdpPayload?: number;
  rateLimit?: RateLimitOptions;
  /** host:port for /metrics /healthz /readyz (the --metrics-address flag); off when absent. */
  observe?: string;
  logLevel?: string;
  udpIo?: 'auto' | 'native' | 'node';
  udpRcvbuf?: number;
  /** Debounce for file reloads. */
  reloadDebounceMs?: number;
}

export interface Standalone {
  server: DnsServer;
  observePort: number | undefined;
  close(): Promise<void>;
}

export async function runStandalone(o: StandaloneOptions): Promise<Standalone> {
  const log = createLogger({ name: 'portico-dns', level: o.logLevel ?? 'info' });
  // Load first: a file that does not parse at start-up is a configuration error, not a degraded state.
  const specs = await loadZoneFile(o.config);
  const server = await startDnsServer({
    address: o.address ?? '127.0.0.1',
    port: o.port ?? 5353,
    workers: o.workers ?? 1,
    ...(o.maxUdpPayload !== undefined ? { maxUdpPayload: o.maxUdpPayload } : {}),
    ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    ...(o.udpIo ? { udpIo: o.udpIo } : {}),
    ...(o.udpRcvbuf !== undefined ? { udpRcvbuf: o.udpRcvbuf } : {}),
    registry: createRegistry({
      labels: { component: 'dns' },
      eventLoopMonitoringPrecisionMs: DNS_EVENT_LOOP_SAMPLE_MS,
    }),
  });
  const table = new ZoneTable();
  const apply = (reason: string, s: typeof specs) => {
    const u = table.update(s);
    server.update(u);
    log.info({ reason, zones: describe(u.set), changed: u.changed }, 'zones loaded');
  };
  apply('start', specs);
  const stopWatch = watchZoneFile(
    o.config,
    (s) => apply('file changed', s),
    (err) =>
      log.error({ err: err.message, file: o.config }, 'zone file rejected; still serving the previous zones'),
    o.reloadDebounceMs ?? 200,
  );
  const obs = o.observe
    ? await startObserveServer({
        address: o.observe,
        registry: server.metrics.registry,
        ready: () => (server.ready() ? { ready: true } : { ready: false, reason: 'zones not loaded' }),
        beforeScrape: () => server.collect(),
        logger: log,
      })
    : undefined;
  const fallback = udpFallbackWarning(o.udpIo, server.udpIo);
  if (fallback) log.warn(fallback);
  log.info(
    { address: server.address, port: server.port, udpIo: server.udpIo, observe: obs?.port },
    `serving DNS on ${server.address}:${server.port} (udp+tcp); try: dig @${server.address} -p ${server.port} <name>`,
  );
  return {
    server,
    observePort: obs?.port,
    async close() {
      stopWatch();
      await obs?.close();
      await server.close();
    },
  };
}

function parseWorkers(v: string | undefined): number | 'auto' | undefined {
  if (v === undefined) return undefined;
  if (v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new FlagError('--workers must be a positive integer or auto');
  return n;
}

function parseUdpIo(v: string): 'auto' | 'native' | 'node' {
  if (v === 'auto' || v === 'native' || v === 'node') return v;
  throw new FlagError('--udp-io must be auto, native or node');
}

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new FlagError(`--${name} must be a non-negative integer`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const values = parseFlags(argv, {
    ...OBSERVE_FLAGS,
    config: { type: 'string' },
    kubeconfig: { type: 'string' },
    kubernetes: { type: 'boolean' },
    address: { type: 'string' },
    port: { type: 'string' },
    workers: { type: 'string' },
    'max-udp-payload': { type: 'string' },
    'rate-limit': { type: 'string' },
    'udp-io': { type: 'string' },
    'udp-rcvbuf': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const rate = intArg('rate-limit', values['rate-limit']);
  const common = {
    ...(values.address ? { address: values.address } : {}),
    ...(values.port !== undefined ? { port: intArg('port', values.port)! } : {}),
    ...(values.workers !== undefined ? { workers: parseWorkers(values.workers)! } : {}),
    ...(values['max-udp-payload'] !== undefined
      ? { maxUdpPayload: intArg('max-udp-payload', values['max-udp-payload'])! }
      : {}),
    ...(rate ? { rateLimit: { responsesPerSecond: rate } } : {}),
    ...(values['metrics-address'] ? { observe: values['metrics-address'] } : {}),
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
    ...(values['udp-io'] !== undefined ? { udpIo: parseUdpIo(values['udp-io']) } : {}),
    ...(values['udp-rcvbuf'] !== undefined ? { udpRcvbuf: intArg('udp-rcvbuf', values['udp-rcvbuf'])! } : {}),
  };
  const kubernetes = values.kubernetes === true || values.kubeconfig !== undefined;
  if (values.config !== undefined && kubernetes)
    throw new FlagError('--config and --kubernetes/--kubeconfig are exclusive: one binary, two modes');
  // Kubernetes mode: the same server fed by dns/sources (Gateway API, Services, DNSZones). Loaded on
  // demand so standalone mode never pays for the Kubernetes client.
  const s = kubernetes
    ? await (await import('./kubernetes.ts')).runKubernetes({
        ...common,
        ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
      })
    : values.config
      ? await runStandalone({ ...common, config: values.config })
      : undefined;
  if (!s) throw new FlagError(`--config FILE, --kubernetes or --kubeconfig FILE is required\n${usage}`);
  const stop = () => {
    s.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof FlagError ? 2 : 1);
  });
}

/**
 * One small HTTP server per process: `/metrics` (Prometheus text), `/healthz` (the process is
 * alive and its event loop answers) and `/readyz` (200 only when the component says it is ready,
 * e.g. caches synced; 503 with the reason otherwise). Kubernetes probes and Prometheus scrape it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { formatListenAddress, parseListenAddress } from './flags.ts';
import type { Logger } from './log.ts';

export interface ReadyStatus {
  ready: boolean;
  /** Shown in the 503 body, e.g. "informer services not synced". */
  reason?: string;
}

export interface ObserveServerOptions {
  /** `:9100`, `127.0.0.1:9100`, `[::1]:0`, … (see parseListenAddress). */
  address: string;
  registry?: Registry;
  /** Default: always ready. A throw counts as not ready, with the error as the reason. */
  ready?: () => boolean | ReadyStatus;
  /**
   * Default: alive whenever the event loop answers. A process with a stuck internal loop (e.g. a
   * watchdog that fired) returns false so the kubelet restarts it. A throw counts as unhealthy.
   */
  healthy?: () => boolean | ReadyStatus;
  /** Runs before each scrape, e.g. to pull counters from worker threads into the registry. */
  beforeScrape?: () => Promise<void>;
  logger?: Logger;
}

export interface ObserveServer {
  /** Bound host (`::` / `0.0.0.0` when listening everywhere) and the real port (even for :0). */
  host: string;
  port: number;
  /** Bound address as `host:port` / `[v6]:port`, for logs. */
  address: string;
  /** Base URL for clients, e.g. http://127.0.0.1:9100. */
  url: string;
  /** Stop listening and drop keep-alive connections. Idempotent. */
  close(): Promise<void>;
}

function evaluate(check: (() => boolean | ReadyStatus) | undefined, what: string): ReadyStatus {
  if (!check) return { ready: true };
  try {
    const r = check();
    return typeof r === 'boolean' ? { ready: r } : r;
  } catch (err) {
    return {
      ready: false,
      reason: `${what} check failed: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function handle(opts: ObserveServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz': {
      const h = evaluate(opts.healthy, 'health');
      if (h.ready) send(res, 200, 'ok\n');
      else send(res, 503, `unhealthy${h.reason ? `: ${h.reason}` : ''}\n`);
      return;
    }
    case '/readyz': {
      const r = evaluate(opts.ready, 'readiness');
      if (r.ready) send(res, 200, 'ok\n');
      else send(res, 503, `not ready${r.reason ? `: ${r.reason}` : ''}\n`);
      return;
    }
    case '/metrics': {
      if (!opts.registry) {
        send(res, 404, 'no metrics registry\n');
        return;
      }
      try {
        await opts.beforeScrape?.();
        const text = await opts.registry.metrics();
        send(res, 200, text, opts.registry.contentType);
      } catch (err) {
        opts.logger?.error({ err }, 'collecting metrics failed');
        send(res, 500, `collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      return;
    }
    default:
      send(res, 404, 'not found; try /metrics, /healthz or /readyz\n');
  }
}

export async function startObserveServer(opts: ObserveServerOptions): Promise<ObserveServer> {
  const addr = parseListenAddress(opts.address, 'metrics-address');
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      // handle() catches its own failures; this is the last line so a bug never kills the process.
      opts.logger?.error({ err }, 'observe server request failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Probes and scrapes are tiny; do not let a slow client hold a socket for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = formatListenAddress(addr);
      const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
      reject(new Error(`observe server cannot listen on ${where}: ${why}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => opts.logger?.error({ err }, 'observe server error'));

  const bound = server.address() as AddressInfo;
  const urlHost =
    addr.host === undefined ? '127.0.0.1' : bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  opts.logger?.info(
    { address: formatListenAddress({ host: addr.host, port: bound.port }) },
    'observe server listening',
  );

  let closing: Promise<void> | undefined;
  return {
    host: bound.address,
    port: bound.port,
    address: formatListenAddress({ host: bound.address, port: bound.port }),
    url: `http://${urlHost}:${bound.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

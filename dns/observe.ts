// Thin seam to logging and the health/metrics endpoint. lib/observe (createLogger,
// startObserveServer) is the project-wide home for these; until the DNS binary is wired to it,
// this file keeps the same shapes so swapping is a one-line import change.

import { createServer, type Server } from 'node:http';
import { type Logger, pino } from 'pino';
import type { Registry } from 'prom-client';

export function createLogger(opts: { level?: string; name: string }): Logger {
  return pino({ name: opts.name, level: opts.level ?? 'info' });
}

export interface ObserveServer {
  port: number;
  close(): Promise<void>;
}

/** /metrics (Prometheus text), /healthz (process alive), /readyz (200 only when `ready()`). */
export function startObserveServer(opts: {
  address: string;
  registry: Registry;
  ready: () => boolean;
  beforeScrape?: () => Promise<void>;
}): Promise<ObserveServer> {
  const [host, portText] = splitHostPort(opts.address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      (opts.beforeScrape ?? (async () => {}))()
        .then(() => opts.registry.metrics())
        .then(
          (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
    } else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => {
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : 0,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

export function splitHostPort(s: string): [string, string] {
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`expected host:port, got "${s}"`);
  return [m[1]!, m[2]!];
}

// Logger and the /metrics /healthz /readyz server of the controller process.
// lib/observe is meant to provide these (createLogger, startObserveServer); it did not exist yet
// when the controller was written, so this is a small local stand-in with the same shape. Swap the
// imports in controller.ts for lib/observe once it lands.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';

export type { Logger } from 'pino';

export function createLogger(opts: { level?: string; name: string }): Logger {
  return pino({ name: opts.name, level: opts.level ?? 'info' });
}

export interface ObserveServer {
  /** host:port actually bound (port 0 picks a free one). */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Parse `host:port`, `:port`, `[v6]:port` or `port`. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const t = text.trim();
  let host = '0.0.0.0';
  let portText = t;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] as string;
  } else if (t.includes(':')) {
    const i = t.lastIndexOf(':');
    if (i > 0) host = t.slice(0, i);
    portText = t.slice(i + 1);
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new Error(`invalid listen address ${JSON.stringify(text)}: expected host:port`);
  }
  return { host, port: Number(portText) };
}

export async function startObserveServer(opts: {
  address: string;
  registry: Registry;
  ready: () => boolean;
  healthy?: () => boolean;
}): Promise<ObserveServer> {
  const { host, port } = parseListenAddress(opts.address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      const ok = opts.healthy ? opts.healthy() : true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
      return;
    }
    if (path === '/readyz') {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'caches not synced\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    address: `${shown}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

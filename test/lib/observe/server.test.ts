import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../lib/observe/metrics.ts';
import {
  type ObserveServer,
  type ObserveServerOptions,
  startObserveServer,
} from '../../../lib/observe/server.ts';

const servers: ObserveServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(opts: Partial<ObserveServerOptions> = {}): Promise<ObserveServer> {
  const s = await startObserveServer({ address: '127.0.0.1:0', ...opts });
  servers.push(s);
  return s;
}

async function get(
  url: string,
  method = 'GET',
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    // agent: false: a fresh connection per request, so a closed server shows as refused.
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('observe server', () => {
  it('binds an ephemeral port on loopback and reports it', async () => {
    const s = await start();
    expect(s.host).toBe('127.0.0.1');
    expect(s.port).toBeGreaterThan(0);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    expect(s.address).toBe(`127.0.0.1:${s.port}`);
  });

  it('/healthz follows healthy() when given: 503 with the reason', async () => {
    let stuck = false;
    const s = await start({ healthy: () => (stuck ? { ready: false, reason: 'watch loop stalled' } : true) });
    expect((await get(`${s.url}/healthz`)).status).toBe(200);
    stuck = true;
    expect(await get(`${s.url}/healthz`)).toMatchObject({
      status: 503,
      body: 'unhealthy: watch loop stalled\n',
    });
  });

  it('runs beforeScrape before each scrape, and a failing hook is a 500', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const c = new Counter({ name: 'portico_worker_queries_total', help: 'x', registers: [registry] });
    let fail = false;
    const s = await start({
      registry,
      beforeScrape: async () => {
        if (fail) throw new Error('worker gone');
        c.inc(); // stands in for merging counters from worker threads
      },
    });
    expect((await get(`${s.url}/metrics`)).body).toMatch(/^portico_worker_queries_total 1$/m);
    expect((await get(`${s.url}/metrics`)).body).toMatch(/^portico_worker_queries_total 2$/m);
    fail = true;
    expect(await get(`${s.url}/metrics`)).toMatchObject({
      status: 500,
      body: 'collecting metrics failed: worker gone\n',
    });
  });

  it('/healthz answers 200 while the process lives', async () => {
    const s = await start({ ready: () => false });
    expect(await get(`${s.url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('/readyz follows ready(): 503 with the reason, then 200', async () => {
    let synced = false;
    const s = await start({
      ready: () => (synced ? true : { ready: false, reason: 'informer services not synced' }),
    });
    expect(await get(`${s.url}/readyz`)).toMatchObject({
      status: 503,
      body: 'not ready: informer services not synced\n',
    });
    synced = true;
    expect(await get(`${s.url}/readyz`)).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('/readyz accepts a plain boolean and treats a throwing check as not ready', async () => {
    const no = await start({ ready: () => false });
    expect(await get(`${no.url}/readyz`)).toMatchObject({ status: 503, body: 'not ready\n' });
    const broken = await start({
      ready: () => {
        throw new Error('cache gone');
      },
    });
    expect(await get(`${broken.url}/readyz`)).toMatchObject({
      status: 503,
      body: 'not ready: readiness check failed: cache gone\n',
    });
    // …and the server survives it.
    expect((await get(`${broken.url}/healthz`)).status).toBe(200);
  });

  it('/metrics serves the registry in Prometheus text format', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const c = new Counter({ name: 'portico_test_total', help: 'test counter', registers: [registry] });
    c.inc(2);
    const s = await start({ registry });
    const res = await get(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# HELP portico_test_total test counter');
    expect(res.body).toMatch(/^portico_test_total 2$/m);
    c.inc();
    expect((await get(`${s.url}/metrics`)).body).toMatch(/^portico_test_total 3$/m);
  });

  it('/metrics reports a failing collector as 500 and keeps serving', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    new Counter({
      name: 'portico_broken_total',
      help: 'x',
      registers: [registry],
      collect() {
        throw new Error('collector exploded');
      },
    });
    const s = await start({ registry });
    expect(await get(`${s.url}/metrics`)).toMatchObject({ status: 500 });
    expect((await get(`${s.url}/healthz`)).status).toBe(200);
  });

  it('HEAD works, other methods get 405, unknown paths 404, query strings are ignored', async () => {
    const s = await start();
    expect(await get(`${s.url}/healthz`, 'HEAD')).toMatchObject({ status: 200, body: '' });
    const post = await get(`${s.url}/healthz`, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await get(`${s.url}/nope`)).status).toBe(404);
    expect((await get(`${s.url}/metrics`)).status).toBe(404); // no registry given
    expect((await get(`${s.url}/readyz?verbose=1`)).status).toBe(200);
  });

  it('listens on IPv6 loopback', async () => {
    const s = await start({ address: '[::1]:0' });
    expect(s.url).toBe(`http://[::1]:${s.port}`);
    expect((await get(`${s.url}/healthz`)).status).toBe(200);
  });

  it('fails clearly when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(startObserveServer({ address: `127.0.0.1:${port}` })).rejects.toThrow(
        `observe server cannot listen on 127.0.0.1:${port}: address already in use`,
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('rejects a malformed address before binding', async () => {
    await expect(startObserveServer({ address: 'localhost' })).rejects.toThrow(
      /--metrics-address: 'localhost' is not host:port/,
    );
  });

  it('close() stops listening, drops keep-alive connections and is idempotent', async () => {
    const s = await startObserveServer({ address: '127.0.0.1:0' });
    // A keep-alive connection that would otherwise hold close() open.
    const agentRes = await new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/healthz`, { headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(agentRes).toBe(200);
    await Promise.all([s.close(), s.close()]);
    await expect(get(`${s.url}/healthz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

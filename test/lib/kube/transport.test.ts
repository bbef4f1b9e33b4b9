import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeClient } from '../../../lib/kube/client.ts';
import { LoadedKubeConfig, type UserInfo } from '../../../lib/kube/kubeconfig.ts';
import { skipUnless } from '../../support/require.ts';

// Real sockets on loopback only: what nock cannot show (TLS material, connection reuse, abort).

function config(server: string, cluster: Record<string, unknown> = {}, user: UserInfo = { token: 't' }) {
  return new LoadedKubeConfig({
    clusters: [{ name: 'c', server, ...cluster }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return String((server.address() as AddressInfo).port);
}

describe('KubeClient over plain HTTP on loopback', () => {
  let server: Server;
  let base: string;
  let connections = 0;
  let watchRes: ServerResponse | undefined;
  beforeAll(async () => {
    server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith('/watch')) {
        watchRes = res;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ auth: req.headers.authorization ?? null }));
    });
    server.on('connection', () => connections++);
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  test('sequential requests reuse one keep-alive connection', async () => {
    const c = new KubeClient(config(base));
    const before = connections;
    for (let i = 0; i < 5; i++)
      await expect(c.request({ path: '/x' })).resolves.toEqual({ auth: 'Bearer t' });
    expect(connections - before).toBe(1);
    await c.close();
  });

  test('aborting a watch ends its iteration promptly', async () => {
    const c = new KubeClient(config(base));
    const ctl = new AbortController();
    const lines = await c.watchLines({ path: '/watch', signal: ctl.signal });
    const got: string[] = [];
    const t0 = Date.now();
    const done = (async () => {
      try {
        for await (const l of lines) {
          got.push(l);
          ctl.abort();
        }
      } catch {
        // an aborted stream may end by throwing; either way it must end
      }
    })();
    await done;
    expect(got).toEqual(['{"type":"ADDED"}']);
    expect(Date.now() - t0).toBeLessThan(2_000);
    watchRes?.end();
    await c.close();
  });
});

describe.skipIf(skipUnless({ binaries: ['openssl'] }))(
  'KubeClient over TLS with a client certificate',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-tls-'));
    const f = (n: string) => join(dir, n);
    let server: Server | undefined;
    let base = '';
    beforeAll(async () => {
      const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
      ssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
      const issue = (name: string, cn: string, ext: string) => {
        writeFileSync(f(`${name}.ext`), `${ext}\n`);
        ssl('req', ...ec, '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
        ssl(
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-days',
          '1',
          '-extfile',
          `${name}.ext`,
          '-out',
          `${name}.crt`,
        );
      };
      issue('server', 'kubernetes.test', 'subjectAltName=DNS:kubernetes.test');
      issue('client', 'portico-admin', 'extendedKeyUsage=clientAuth');
      server = createHttpsServer(
        {
          key: readFileSync(f('server.key')),
          cert: readFileSync(f('server.crt')),
          ca: readFileSync(f('ca.crt')),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          const peer = (req.socket as TLSSocket).getPeerCertificate();
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ cn: peer.subject?.CN ?? null }));
        },
      );
      base = `https://127.0.0.1:${await listen(server)}`;
    }, 30_000);
    afterAll(() => {
      server?.closeAllConnections();
      server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const clientFiles: UserInfo = { certFile: f('client.crt'), keyFile: f('client.key') };

    test('CA file + tls-server-name + client cert/key files: the server sees our certificate', async () => {
      const c = new KubeClient(
        config(base, { caFile: f('ca.crt'), tlsServerName: 'kubernetes.test' }, clientFiles),
      );
      await expect(c.request({ path: '/x' })).resolves.toEqual({ cn: 'portico-admin' });
      await c.close();
    });

    test('inline base64 data works the same as files', async () => {
      const b64 = (n: string) => readFileSync(f(n)).toString('base64');
      const c = new KubeClient(
        config(
          base,
          { caData: b64('ca.crt'), tlsServerName: 'kubernetes.test' },
          { certData: b64('client.crt'), keyData: b64('client.key') },
        ),
      );
      await expect(c.request({ path: '/x' })).resolves.toEqual({ cn: 'portico-admin' });
      await c.close();
    });

    test('without the right server name or CA the handshake fails (statusCode 0); skip-verify accepts it', async () => {
      const wrongName = new KubeClient(config(base, { caFile: f('ca.crt') }, clientFiles));
      await expect(wrongName.request({ path: '/x', timeoutMs: 3_000 })).rejects.toMatchObject({
        statusCode: 0,
      });
      const noCa = new KubeClient(config(base, { tlsServerName: 'kubernetes.test' }, clientFiles));
      await expect(noCa.request({ path: '/x', timeoutMs: 3_000 })).rejects.toMatchObject({ statusCode: 0 });
      const skip = new KubeClient(config(base, { skipTLSVerify: true }, clientFiles));
      await expect(skip.request({ path: '/x' })).resolves.toEqual({ cn: 'portico-admin' });
      for (const c of [wrongName, noCa, skip]) await c.close();
    });
  },
);

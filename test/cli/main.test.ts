// The CLI shell without a cluster: exit codes, usage, and how API failures read. A local HTTP
// server stands in for an apiserver only to produce error answers (401/403/404); what real answers
// look like is test/integration/cli/cli.test.ts on the envtest apiserver.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../cli/main.ts';

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, '../../cli/main.ts');

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  return { io: { stdout, stderr, env: {} as NodeJS.ProcessEnv }, out: () => out, err: () => err };
}

let dir = '';
let server: Server;
let serverUrl = '';
/** What the fake server answers, by path prefix. */
const answers: Array<[string, number, unknown]> = [];
/** Authorization headers the fake server saw. */
const seenAuth: string[] = [];

async function kubeconfig(
  name: string,
  server: string,
  user: Record<string, unknown> = { token: 't' },
  cluster: Record<string, unknown> = {},
) {
  const file = join(dir, name);
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-cli-'));
  server = createServer((req, res) => {
    if (req.headers.authorization) seenAuth.push(req.headers.authorization);
    const hit = answers.find(([prefix]) => req.url?.startsWith(prefix));
    const [, code, body] = hit ?? [
      '',
      404,
      { kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' },
    ];
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('portico (in process)', () => {
  test('--help: usage on stdout, exit 0', async () => {
    const c = capture();
    expect(await main(['--help'], c.io)).toBe(0);
    expect(c.out()).toMatch(/^portico: see what Portico did/);
    expect(c.out()).toContain('portico why SERVICE');
    expect(c.err()).toBe('');
  });
  test('no arguments: usage on stderr, exit 2', async () => {
    const c = capture();
    expect(await main([], c.io)).toBe(2);
    expect(c.err()).toContain('Usage:');
    expect(c.out()).toBe('');
  });
  test('a usage error: one line and a pointer to --help, exit 2', async () => {
    const c = capture();
    expect(await main(['status', '-o', 'xml'], c.io)).toBe(2);
    expect(c.err()).toBe(
      "portico: -o xml: unknown output format; use table, json, yaml\nRun 'portico --help' for usage.\n",
    );
  });
  test('a kubeconfig that does not exist: exit 1', async () => {
    const c = capture();
    expect(await main(['status', '--kubeconfig', join(dir, 'nope')], c.io)).toBe(1);
    expect(c.err()).toBe(`portico: kubeconfig ${join(dir, 'nope')} does not exist\n`);
  });
  test('an exec credential plugin runs (through client-node) and its token reaches the apiserver', async () => {
    answers.length = 0;
    seenAuth.length = 0;
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec-plugin' },
    });
    const kc = await kubeconfig(
      'exec.yaml',
      serverUrl,
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: process.execPath,
          args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
          interactiveMode: 'Never',
        },
      },
      // client-node refuses plain http unless told TLS checks are off (there is no TLS here).
      { 'insecure-skip-tls-verify': true },
    );
    const c = capture();
    // The fake server knows no CRDs: the command fails after authenticating, which is the point.
    expect(await main(['status', '--kubeconfig', kc], c.io)).toBe(1);
    expect(c.err()).toMatch(/Portico's CRDs are not installed/);
    expect(seenAuth).toContain('Bearer from-exec-plugin');
  });
  test('a broken exec plugin: exit 1 with its error', async () => {
    const kc = await kubeconfig('exec-bad.yaml', serverUrl, {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: join(dir, 'no-such-plugin') },
    });
    const c = capture();
    expect(await main(['status', '--kubeconfig', kc], c.io)).toBe(1);
    expect(c.err()).toMatch(/^portico: .*no-such-plugin/);
  });
  test('an unknown --context: exit 1', async () => {
    const kc = await kubeconfig('ctx.yaml', serverUrl);
    const c = capture();
    expect(await main(['status', '--kubeconfig', kc, '--context', 'other'], c.io)).toBe(1);
    expect(c.err()).toBe('portico: kubeconfig has no context "other"\n');
  });
  test('an apiserver nobody listens on: exit 1, names the server', async () => {
    // A port that was free a moment ago: connection refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const kc = await kubeconfig('down.yaml', `http://127.0.0.1:${port}`);
    const c = capture();
    expect(await main(['status', '--kubeconfig', kc], c.io)).toBe(1);
    expect(c.err()).toBe(
      `portico: cannot reach the Kubernetes API at http://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}); check --kubeconfig / --context / KUBECONFIG and that the cluster is running\n`,
    );
  });

  test.each([
    [
      401,
      { kind: 'Status', code: 401, reason: 'Unauthorized', message: 'Unauthorized' },
      /rejected the credentials \(401 Unauthorized\)/,
    ],
    [
      403,
      {
        kind: 'Status',
        code: 403,
        reason: 'Forbidden',
        message: 'ipaddresspools.portico.dev is forbidden: User "bob" cannot list resource',
      },
      /^portico: forbidden: ipaddresspools.portico.dev is forbidden: User "bob"/,
    ],
    [
      404,
      {
        kind: 'Status',
        code: 404,
        reason: 'NotFound',
        message: 'the server could not find the requested resource',
      },
      /Portico's CRDs are not installed in the cluster at http:\/\/127\.0\.0\.1:\d+ \(ipaddresspools\.portico\.dev not found\): install the chart first/,
    ],
  ])('the apiserver answers %i: exit 1 with one clear sentence', async (code, body, want) => {
    answers.length = 0;
    answers.push(['/apis/portico.dev/', code, body]);
    const kc = await kubeconfig(`e${code}.yaml`, serverUrl);
    const c = capture();
    expect(await main(['status', '--kubeconfig', kc], c.io)).toBe(1);
    expect(c.err()).toMatch(want);
    expect(c.err().trim().split('\n')).toHaveLength(1);
    expect(c.out()).toBe('');
  });

  test('CRDs from a chart older than BGP mode (BGP kinds 404): status works, one note, no BGP part', async () => {
    answers.length = 0;
    const empty = { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] };
    for (const kind of ['bgppeers', 'bgpadvertisements', 'bgpsessionstates'])
      answers.push([
        `/apis/portico.dev/v1alpha1/${kind}`,
        404,
        {
          kind: 'Status',
          code: 404,
          reason: 'NotFound',
          message: 'the server could not find the requested resource',
        },
      ]);
    answers.push(['/apis/', 200, empty], ['/api/', 200, empty]);
    const kc = await kubeconfig('old-crds.yaml', serverUrl);
    const c = capture();
    expect(await main(['status', '-o', 'json', '--kubeconfig', kc], c.io)).toBe(0);
    expect(c.err()).toBe('');
    const r = JSON.parse(c.out());
    expect(r.bgp).toBeNull();
    expect(r.notes).toEqual([
      'BGPPeers could not be read (API not found), BGPAdvertisements could not be read (API not found), BGPSessionStates could not be read (API not found); the BGP part of the report is missing (CRDs from a chart older than BGP mode?)',
    ]);
  });

  test('why: a Service that does not exist is exit 1; the namespace comes from -n', async () => {
    answers.length = 0;
    const kc = await kubeconfig('why.yaml', serverUrl);
    const c = capture();
    expect(await main(['why', 'web', '-n', 'team', '--kubeconfig', kc], c.io)).toBe(1);
    expect(c.err()).toBe('portico: Service team/web not found\n');
  });
});

describe('portico (as a program)', () => {
  test('started through a symlink, as npm bins are', async () => {
    const link = join(dir, 'kubectl-portico');
    await symlink(MAIN, link);
    const { stdout } = await run(process.execPath, [link, '--help']);
    expect(stdout).toMatch(/^portico: see what Portico did/);
  });
  test('the exit code reaches the shell', async () => {
    const err = await run(process.execPath, [MAIN, 'nope']).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "nope"') });
  });
});

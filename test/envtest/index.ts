import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type AddressInfo, createServer, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrdFiles } from './crds.ts';
import {
  type ManagedProcess,
  registerTempDir,
  removeTempDir,
  spawnGroup,
  startReaper,
  tailLog,
} from './processes.ts';
import { type Assets, type Log, provision } from './provision.ts';
import { kubeconfigYaml, writeServiceAccountKubeconfig } from './serviceaccount.ts';

/**
 * A real etcd + kube-apiserver for tests: TypeScript's answer to controller-runtime's envtest.
 * Usage: test/envtest/README.md. Why it is built this way: docs/decisions/001-envtest-from-go-modules.md.
 */

export interface ControlPlane {
  /** Admin kubeconfig (user `admin` in group system:masters, static token). */
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT (or the bind address when one was given). */
  server: string;
  kubeConfig(): KubeConfig;
  /** SIGKILL kube-apiserver; etcd keeps running. */
  killApiServer(): Promise<void>;
  /** Start kube-apiserver again on the same port + the same etcd, wait until ready. */
  startApiServer(): Promise<void>;
  /** Kubeconfig path for a ServiceAccount token (creates the namespace and SA when missing). */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** Kill everything, remove temp folders. Idempotent. */
  stop(): Promise<void>;
  /** Temp folder holding data, certs, logs and kubeconfigs (removed by stop()). */
  dir: string;
  /** Current process ids (undefined when not running), for tests of the harness itself. */
  pids(): { etcd?: number; kubeApiserver?: number };
  /** Where the binaries came from and how long each start phase took (ms). */
  assets: Assets;
  timings: { provisionMs: number; etcdMs: number; apiServerMs: number; crdsMs: number; totalMs: number };
}

export interface StartOptions {
  /** Address kube-apiserver listens on (default 127.0.0.1). etcd always stays on loopback. */
  bindAddress?: string;
  /** Install charts/portico/crds/*.yaml + the Gateway API standard CRDs (default true). */
  installCrds?: boolean;
  /** Progress messages (provisioning can take minutes on a fresh machine). */
  log?: Log;
}

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PORTICO_CRD_DIR = join(REPO_ROOT, 'charts', 'portico', 'crds');

const READY_TIMEOUT_MS = 90_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** One GET; resolves to the status code, or undefined when nothing answers yet. */
function probe(url: string, token?: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'GET',
        timeout: 5000,
        // Readiness only: the CA is read from the cert dir afterwards and pinned in the kubeconfig.
        rejectUnauthorized: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function waitUntil(what: string, proc: ManagedProcess, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.exit) {
      throw new Error(
        `${proc.name} exited (code ${proc.exit.code}, signal ${proc.exit.signal}) before ${what}; ` +
          `last log lines (${proc.logPath}):\n${tailLog(proc.logPath)}`,
      );
    }
    if (await ok()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${READY_TIMEOUT_MS} ms waiting for ${what}:\n${tailLog(proc.logPath)}`,
      );
    }
    await sleep(100);
  }
}

/**
 * With PORTICO_ENVTEST_LOG_DIR set, copy etcd/kube-apiserver logs there before the temp folder
 * goes (CI can upload them when a test failed).
 */
async function keepLogs(dir: string): Promise<void> {
  const dest = process.env.PORTICO_ENVTEST_LOG_DIR;
  if (!dest) return;
  const out = join(dest, basename(dir));
  await mkdir(out, { recursive: true });
  for (const f of await readdir(dir)) if (f.endsWith('.log')) await copyFile(join(dir, f), join(out, f));
}

/** Did this process die because its listen address was taken? */
function portInUse(proc: ManagedProcess): boolean {
  return /address already in use/i.test(tailLog(proc.logPath, 50));
}

function hostForUrl(addr: string): string {
  return isIPv6(addr) ? `[${addr}]` : addr;
}

/** The CA that signed kube-apiserver's self-generated serving cert (the file holds cert + CA). */
async function servingCa(certFile: string): Promise<string> {
  const pem = await readFile(certFile, 'utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  const ca = blocks.find((b) => new X509Certificate(b).ca);
  return ca ?? pem;
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const assets = await provision({ log });
  const tProvisioned = Date.now();

  const dir = await mkdtemp(join(tmpdir(), 'portico-envtest-'));
  registerTempDir(dir);
  const reaperPid = startReaper(dir);
  let etcd: ManagedProcess | undefined;
  let apiserver: ManagedProcess | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // apiserver first: it would otherwise log etcd connection errors for its last moments.
    await apiserver?.kill('SIGKILL');
    await etcd?.kill('SIGKILL');
    if (reaperPid) {
      try {
        process.kill(reaperPid, 'SIGKILL');
      } catch {
        // already exited
      }
    }
    await keepLogs(dir).catch(() => {});
    removeTempDir(dir);
  };

  try {
    const bind = opts.bindAddress ?? '127.0.0.1';
    const unspecified = bind === '0.0.0.0' || bind === '::';
    const advertise = unspecified ? '127.0.0.1' : bind;
    let securePort = await freePort(bind);
    let server = `https://${hostForUrl(advertise)}:${securePort}`;

    // Credentials: a static admin token (system:masters) and the ServiceAccount token signing key.
    const adminToken = randomBytes(24).toString('hex');
    await writeFile(join(dir, 'tokens.csv'), `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = join(dir, 'apiserver-certs');
    await mkdir(certDir);

    // etcd on loopback, its own ports; fsync off: test data is throwaway and fsync dominates on CI.
    // Free ports are picked by binding port 0 and closing; another process may grab one in between,
    // so a start that fails with EADDRINUSE is retried on fresh ports.
    let etcdClient = '';
    for (let attempt = 1; ; attempt++) {
      etcdClient = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
      const etcdPeer = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
      const dataDir = join(dir, 'etcd');
      await rm(dataDir, { recursive: true, force: true });
      const proc = spawnGroup(
        'etcd',
        assets.etcd,
        [
          '--name=envtest',
          `--data-dir=${dataDir}`,
          `--listen-client-urls=${etcdClient}`,
          `--advertise-client-urls=${etcdClient}`,
          `--listen-peer-urls=${etcdPeer}`,
          `--initial-advertise-peer-urls=${etcdPeer}`,
          `--initial-cluster=envtest=${etcdPeer}`,
          '--unsafe-no-fsync=true',
          '--log-level=warn',
        ],
        { stateDir: dir, logPath: join(dir, `etcd${attempt > 1 ? `.${attempt}` : ''}.log`) },
      );
      etcd = proc;
      const url = etcdClient;
      try {
        await waitUntil('etcd /health', proc, async () => (await probe(`${url}/health`)) === 200);
        break;
      } catch (err) {
        await proc.kill('SIGKILL');
        if (attempt >= 3 || !portInUse(proc)) throw err;
        log(`envtest: etcd port taken, retrying on other ports`);
      }
    }
    const tEtcd = Date.now();

    const apiserverArgs = () => [
      `--etcd-servers=${etcdClient}`,
      `--bind-address=${bind}`,
      `--advertise-address=${advertise}`,
      `--secure-port=${securePort}`,
      `--cert-dir=${certDir}`, // self-signed serving cert + CA, kept across restarts
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No controller-manager here, so no `default` ServiceAccount in each namespace: the
      // ServiceAccount admission plugin would reject every Pod.
      '--disable-admission-plugins=ServiceAccount',
      // A loopback advertise address is not a valid Endpoints IP; nothing here needs that object.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
    ];
    let launches = 0;
    const launchApiServer = async (): Promise<void> => {
      launches++;
      const proc = spawnGroup('kube-apiserver', assets.kubeApiserver, apiserverArgs(), {
        stateDir: dir,
        logPath: join(dir, `kube-apiserver${launches > 1 ? `.${launches}` : ''}.log`),
      });
      apiserver = proc;
      await waitUntil(
        'kube-apiserver /readyz',
        proc,
        async () => (await probe(`${server}/readyz`, adminToken)) === 200,
      );
      // The bootstrap controller creates `default` shortly after readyz; tests use it right away.
      await waitUntil(
        'namespace default',
        proc,
        async () => (await probe(`${server}/api/v1/namespaces/default`, adminToken)) === 200,
      );
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await launchApiServer();
        break;
      } catch (err) {
        const proc = apiserver;
        await proc?.kill('SIGKILL');
        if (attempt >= 3 || !proc || !portInUse(proc)) throw err;
        log(`envtest: kube-apiserver port ${securePort} taken, retrying on another port`);
        securePort = await freePort(bind);
        server = `https://${hostForUrl(advertise)}:${securePort}`;
      }
    }
    const tApi = Date.now();

    const caPem = await servingCa(join(certDir, 'apiserver.crt'));
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(server, caPem, 'admin', adminToken), { mode: 0o600 });
    const kubeConfig = () => {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    };

    if (opts.installCrds !== false) {
      const files: string[] = [];
      if (existsSync(PORTICO_CRD_DIR)) {
        for (const f of (await readdir(PORTICO_CRD_DIR)).sort()) {
          if (/\.ya?ml$/.test(f)) files.push(join(PORTICO_CRD_DIR, f));
        }
      }
      for (const f of (await readdir(assets.gatewayApiCrdDir)).sort()) {
        if (/\.ya?ml$/.test(f)) files.push(join(assets.gatewayApiCrdDir, f));
      }
      await installCrdFiles(kubeConfig(), files);
    }
    const tCrds = Date.now();

    const cp: ControlPlane = {
      kubeconfigPath,
      server,
      dir,
      assets,
      kubeConfig,
      timings: {
        provisionMs: tProvisioned - t0,
        etcdMs: tEtcd - tProvisioned,
        apiServerMs: tApi - tEtcd,
        crdsMs: tCrds - tApi,
        totalMs: tCrds - t0,
      },
      pids: () => ({
        etcd: etcd && !etcd.exit ? etcd.pid : undefined,
        kubeApiserver: apiserver && !apiserver.exit ? apiserver.pid : undefined,
      }),
      async killApiServer() {
        if (stopped) throw new Error('control plane is stopped');
        await apiserver?.kill('SIGKILL');
      },
      async startApiServer() {
        if (stopped) throw new Error('control plane is stopped');
        if (apiserver && !apiserver.exit) return;
        await launchApiServer();
      },
      serviceAccountKubeconfig: (namespace: string, name: string) =>
        writeServiceAccountKubeconfig(
          kubeConfig(),
          namespace,
          name,
          join(dir, `sa-${namespace}-${name}.kubeconfig`),
        ),
      stop,
    };
    return cp;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import {
  access,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Provisioning of the test control plane's binaries and the Gateway API CRDs.
 *
 * Binaries come from `KUBEBUILDER_ASSETS` (controller-runtime's convention: a folder holding `etcd`
 * and `kube-apiserver`) when it is set; otherwise they are built with Go from the pinned wrapper
 * modules in ./controlplane into a cache folder keyed by a hash of those modules' go.mod/go.sum, so
 * a rebuild happens exactly when a pin changes. See docs/decisions/001-envtest-from-go-modules.md.
 */

export const CONTROLPLANE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'controlplane');

/** The wrapper modules whose go.mod/go.sum make up the cache key. */
const WRAPPER_MODULES = ['etcd', 'kube-apiserver', 'kubectl', 'gateway-api'] as const;

/** Bump when the cache layout or build recipe changes without a pin changing. */
const RECIPE_VERSION = '3';

interface BuildTarget {
  binary: 'etcd' | 'kube-apiserver' | 'kubectl';
  module: 'etcd' | 'kube-apiserver' | 'kubectl';
  pkg: string;
}

const TARGETS: Record<BuildTarget['binary'], BuildTarget> = {
  etcd: { binary: 'etcd', module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' },
  'kube-apiserver': {
    binary: 'kube-apiserver',
    module: 'kube-apiserver',
    pkg: 'k8s.io/kubernetes/cmd/kube-apiserver',
  },
  kubectl: { binary: 'kubectl', module: 'kubectl', pkg: 'k8s.io/kubernetes/cmd/kubectl' },
};

export interface Assets {
  /** Where the binaries came from. */
  source: 'KUBEBUILDER_ASSETS' | 'cache';
  etcd: string;
  kubeApiserver: string;
  /** Folder of Gateway API standard CRD yaml files (CustomResourceDefinitions and possibly others). */
  gatewayApiCrdDir: string;
  /** The cache folder for this key (`<root>/<key>`). */
  cacheDir: string;
  key: string;
}

export type Log = (msg: string) => void;

const silent: Log = () => {};

export function cacheRoot(): string {
  return process.env.PORTICO_ENVTEST_CACHE || join(homedir(), '.cache', 'portico', 'envtest');
}

/** sha256 over every wrapper module's go.mod + go.sum (+ platform and recipe), first 16 hex chars. */
export async function cacheKey(controlplaneDir = CONTROLPLANE_DIR): Promise<string> {
  const h = createHash('sha256');
  h.update(`recipe ${RECIPE_VERSION} ${process.platform}/${process.arch}\n`);
  for (const mod of WRAPPER_MODULES) {
    for (const f of ['go.mod', 'go.sum']) {
      const path = join(controlplaneDir, mod, f);
      h.update(`${mod}/${f}\n`);
      h.update(await readFile(path));
    }
  }
  return h.digest('hex').slice(0, 16);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsc.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GOFLAGS: process.env.GOFLAGS ?? '' } },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException;
          if (e.code === 'ENOENT') {
            reject(new Error(`${cmd} not found on PATH: Go is needed to provision the test control plane`));
            return;
          }
          reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stderr}`));
          return;
        }
        resolve(stdout);
      },
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock file holding the owner's pid. A lock whose owner is gone is stale and taken over,
 * so a build killed half-way never blocks the next one.
 */
async function withLock<T>(lockPath: string, log: Log, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockPath), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        log(`envtest: removing stale lock ${lockPath} (pid ${owner} is gone)`);
        await rm(lockPath, { force: true });
        continue;
      }
      if (!Number.isInteger(owner)) {
        // Just created by someone who has not written the pid yet, or a corrupt file: give it a
        // moment, then treat an old pid-less file as stale.
        const age = Date.now() - (await stat(lockPath).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
        if (age > 10_000) await rm(lockPath, { force: true });
      }
      if (!announced) {
        log(`envtest: waiting for another process (pid ${owner}) provisioning into the same cache`);
        announced = true;
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/** The `require`d version of `modulePath` in wrapper `module`'s go.mod. */
export async function pinnedVersion(module: string, modulePath: string): Promise<string> {
  const gomod = await readFile(join(CONTROLPLANE_DIR, module, 'go.mod'), 'utf8');
  const escaped = modulePath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^(?:require\\s+|\\s+)${escaped}\\s+(v\\S+)`, 'm').exec(gomod);
  if (!m?.[1]) throw new Error(`no ${modulePath} require in ${module}/go.mod`);
  return m[1];
}

/**
 * The version stamp Kubernetes' own build (hack/lib/version.sh) puts in with -X: without it the
 * binaries report v0.0.0-master+$Format:%H$, which `kubectl version` and version-sniffing clients
 * reject.
 */
async function kubernetesLdflags(module: string): Promise<string[]> {
  const version = await pinnedVersion(module, 'k8s.io/kubernetes');
  const m = /^v(\d+)\.(\d+)\./.exec(version);
  if (!m) throw new Error(`unexpected k8s.io/kubernetes version ${version}`);
  const vars = { gitVersion: version, gitMajor: m[1], gitMinor: m[2], gitTreeState: 'clean' };
  const flags: string[] = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [k, v] of Object.entries(vars)) flags.push(`-X ${pkg}.${k}=${v}`);
  }
  return ['-ldflags', flags.join(' ')];
}

async function goBuild(target: BuildTarget, outDir: string, log: Log): Promise<number> {
  const started = Date.now();
  const out = join(outDir, target.binary);
  log(`envtest: building ${target.binary} from ${target.pkg} (first build takes minutes)`);
  const ldflags = target.pkg.startsWith('k8s.io/kubernetes/') ? await kubernetesLdflags(target.module) : [];
  await run(
    'go',
    ['build', '-trimpath', ...ldflags, '-o', out, target.pkg],
    join(CONTROLPLANE_DIR, target.module),
  );
  const secs = (Date.now() - started) / 1000;
  log(`envtest: built ${target.binary} in ${secs.toFixed(1)} s`);
  return secs;
}

/** `go mod download` the pinned gateway-api module (go.sum-verified) and copy its standard CRDs. */
async function fetchGatewayApiCrds(outDir: string, log: Log): Promise<string> {
  const moduleDir = join(CONTROLPLANE_DIR, 'gateway-api');
  const version = await pinnedVersion('gateway-api', 'sigs.k8s.io/gateway-api');
  const info = JSON.parse(
    await run('go', ['mod', 'download', '-json', 'sigs.k8s.io/gateway-api'], moduleDir),
  ) as {
    Dir?: string;
    Error?: string;
  };
  if (info.Error || !info.Dir) throw new Error(`go mod download sigs.k8s.io/gateway-api: ${info.Error}`);
  const src = join(info.Dir, 'config', 'crd', 'standard');
  await mkdir(outDir, { recursive: true });
  const files = (await readdir(src)).filter((f) => f.endsWith('.yaml')).sort();
  if (files.length === 0) throw new Error(`no CRDs under ${src}`);
  for (const f of files) await copyFile(src + '/' + f, join(outDir, f));
  log(`envtest: Gateway API ${version}: copied ${files.length} standard CRD files`);
  return version;
}

/**
 * Make sure `<root>/<key>/<part>` exists. The part is produced in a temp folder under the cache root
 * and renamed into place under a per-part lock, so a reader never sees a half-built part and two
 * processes never build the same part at once (the second waits, then finds it done).
 */
async function ensurePart(
  part: 'bin' | 'gateway-api' | 'kubectl',
  log: Log,
  produce: (tmp: string) => Promise<void>,
): Promise<{ path: string; dir: string; key: string }> {
  const root = cacheRoot();
  const key = await cacheKey();
  const dir = join(root, key);
  const path = join(dir, part);
  if (await exists(path)) return { path, dir, key };
  await withLock(join(root, `${key}.${part}.lock`), log, async () => {
    if (await exists(path)) return; // someone else finished while we waited
    // Temp folders of this part can only be left over from a builder that died: we hold the lock.
    const prefix = `.tmp-${key}-${part}-`;
    for (const f of await readdir(root)) {
      if (f.startsWith(prefix)) await rm(join(root, f), { recursive: true, force: true });
    }
    const tmp = join(root, `${prefix}${randomBytes(4).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    try {
      await produce(tmp);
      await mkdir(dir, { recursive: true });
      await rename(tmp, path);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
  return { path, dir, key };
}

async function ensureGatewayApi(log: Log) {
  return ensurePart('gateway-api', log, async (tmp) => {
    const version = await fetchGatewayApiCrds(tmp, log);
    await writeFile(join(tmp, 'VERSION'), `${version}\n`);
  });
}

async function ensureBinaries(log: Log) {
  return ensurePart('bin', log, async (tmp) => {
    const started = Date.now();
    const seconds: Record<string, number> = {};
    for (const t of [TARGETS.etcd, TARGETS['kube-apiserver']]) seconds[t.binary] = await goBuild(t, tmp, log);
    seconds.total = (Date.now() - started) / 1000;
    const record = { key: await cacheKey(), seconds, builtAt: new Date().toISOString() };
    await writeFile(join(tmp, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    log(`envtest: built the control plane binaries in ${seconds.total.toFixed(1)} s`);
  });
}

export async function provision(opts: { log?: Log } = {}): Promise<Assets> {
  const log = opts.log ?? silent;
  const gateway = await ensureGatewayApi(log);
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets) {
    const etcd = join(assets, 'etcd');
    const kubeApiserver = join(assets, 'kube-apiserver');
    for (const b of [etcd, kubeApiserver]) {
      if (!(await isExecutable(b))) {
        throw new Error(`KUBEBUILDER_ASSETS=${assets}: ${b} is missing or not executable`);
      }
    }
    return {
      source: 'KUBEBUILDER_ASSETS',
      etcd,
      kubeApiserver,
      gatewayApiCrdDir: gateway.path,
      cacheDir: gateway.dir,
      key: gateway.key,
    };
  }
  const bin = await ensureBinaries(log);
  return {
    source: 'cache',
    etcd: join(bin.path, 'etcd'),
    kubeApiserver: join(bin.path, 'kube-apiserver'),
    gatewayApiCrdDir: gateway.path,
    cacheDir: bin.dir,
    key: bin.key,
  };
}

/**
 * Build kubectl from the same pinned k8s.io/kubernetes into `<cache>/<key>/kubectl/kubectl` on
 * demand (only the CLI needs it; a distro kubectl may be of another minor version or a wrapper).
 */
export async function provisionKubectl(opts: { log?: Log } = {}): Promise<string> {
  const log = opts.log ?? silent;
  const part = await ensurePart('kubectl', log, async (tmp) => {
    await goBuild(TARGETS.kubectl, tmp, log);
  });
  return join(part.path, 'kubectl');
}

/** The pinned kubectl when it was built before (provisionKubectl), else undefined. Never builds. */
export async function cachedKubectl(): Promise<string | undefined> {
  const path = join(cacheRoot(), await cacheKey(), 'kubectl', 'kubectl');
  return (await isExecutable(path)) ? path : undefined;
}

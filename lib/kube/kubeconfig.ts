import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

// The YAML parser is loaded on first use only (~2 MB RSS): an in-cluster process never needs it.
const requireLazily = createRequire(import.meta.url);
function parseYaml(text: string): unknown {
  return (requireLazily('yaml') as typeof import('yaml')).parse(text);
}

/**
 * Kubeconfig loading without @kubernetes/client-node.
 *
 * Importing client-node costs ~90 MB of RSS (it pulls undici and the whole generated API), which
 * alone breaks the speaker's memory budget. Portico needs only a cluster (server + TLS) and static
 * credentials, so we parse the file ourselves. Exec and auth-provider plugins are not supported:
 * selecting such a user is a clear error naming it. See lib/kube/README.md (Kubeconfig and transport).
 *
 * The shapes below are structural: a client-node `KubeConfig` satisfies `KubeConfigLike`, so
 * tests and callers that already hold one can keep passing it to `KubeClient`.
 */

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What KubeClient reads from a cluster entry (client-node's `Cluster` has the same fields). */
export interface ClusterInfo {
  readonly name?: string;
  readonly server: string;
  readonly caData?: string | null;
  readonly caFile?: string | null;
  readonly skipTLSVerify?: boolean | null;
  readonly tlsServerName?: string | null;
}

/** What KubeClient reads from a user entry (client-node's `User` has the same fields). */
export interface UserInfo {
  readonly name?: string;
  readonly certData?: string | null;
  readonly certFile?: string | null;
  readonly keyData?: string | null;
  readonly keyFile?: string | null;
  readonly token?: string | null;
  /** Re-read periodically: projected ServiceAccount tokens rotate. */
  readonly tokenFile?: string | null;
  readonly username?: string | null;
  readonly password?: string | null;
  readonly impersonateUser?: string | null;
  // Only present on client-node objects (plugins); our loader refuses them.
  readonly exec?: unknown;
  readonly authProvider?: unknown;
}

export interface ContextInfo {
  readonly name: string;
  readonly cluster: string;
  readonly user: string;
  readonly namespace?: string;
}

/** Anything KubeClient can connect with: our LoadedKubeConfig or client-node's KubeConfig. */
export interface KubeConfigLike {
  getCurrentCluster(): ClusterInfo | null;
  getCurrentUser(): UserInfo | null;
}

/** A parsed kubeconfig: the lightweight stand-in for client-node's KubeConfig. */
export class LoadedKubeConfig implements KubeConfigLike {
  clusters: ClusterInfo[];
  users: UserInfo[];
  contexts: ContextInfo[];
  currentContext: string;

  constructor(init: {
    clusters: ClusterInfo[];
    users: UserInfo[];
    contexts: ContextInfo[];
    currentContext: string;
  }) {
    this.clusters = init.clusters;
    this.users = init.users;
    this.contexts = init.contexts;
    this.currentContext = init.currentContext;
  }

  getCurrentContext(): string {
    return this.currentContext;
  }
  setCurrentContext(name: string): void {
    if (!this.contexts.some((c) => c.name === name)) throw new Error(`kubeconfig has no context "${name}"`);
    this.currentContext = name;
  }
  getContextObject(name: string): ContextInfo | null {
    return this.contexts.find((c) => c.name === name) ?? null;
  }
  getCurrentCluster(): ClusterInfo | null {
    const ctx = this.getContextObject(this.currentContext);
    return ctx ? (this.clusters.find((c) => c.name === ctx.cluster) ?? null) : null;
  }
  getCurrentUser(): UserInfo | null {
    const ctx = this.getContextObject(this.currentContext);
    return ctx ? (this.users.find((u) => u.name === ctx.user) ?? null) : null;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const abs = (base: string, p: string | undefined): string | undefined =>
  p === undefined ? undefined : isAbsolute(p) ? p : join(base, p);

interface ParsedFile {
  clusters: ClusterInfo[];
  users: UserInfo[];
  contexts: ContextInfo[];
  currentContext: string | undefined;
}

/** Parse one kubeconfig document; relative file references resolve against `baseDir` (like kubectl). */
export function parseKubeconfig(text: string, baseDir: string, source = 'kubeconfig'): ParsedFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObj(doc)) throw new Error(`${source}: expected a mapping at the top level`);
  const list = (key: string): Obj[] => {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new Error(`${source}: ${key} must be a list`);
    return v.map((e, i) => {
      if (!isObj(e) || !str(e.name)) throw new Error(`${source}: ${key}[${i}].name is missing`);
      return e;
    });
  };
  const clusters = list('clusters').map((e, i): ClusterInfo => {
    const c = isObj(e.cluster) ? e.cluster : undefined;
    const server = str(c?.server);
    if (!c || !server) throw new Error(`${source}: clusters[${i}] (${e.name}) has no cluster.server`);
    return {
      name: e.name as string,
      server: server.replace(/\/+$/, ''),
      caData: str(c['certificate-authority-data']),
      caFile: abs(baseDir, str(c['certificate-authority'])),
      skipTLSVerify: c['insecure-skip-tls-verify'] === true,
      tlsServerName: str(c['tls-server-name']),
    };
  });
  const users = list('users').map((e): UserInfo => {
    const u = isObj(e.user) ? e.user : {};
    return {
      name: e.name as string,
      certData: str(u['client-certificate-data']),
      certFile: abs(baseDir, str(u['client-certificate'])),
      keyData: str(u['client-key-data']),
      keyFile: abs(baseDir, str(u['client-key'])),
      token: str(u.token),
      tokenFile: abs(baseDir, str(u.tokenFile) ?? str(u['token-file'])),
      username: str(u.username),
      password: str(u.password),
      impersonateUser: str(u.as),
      exec: u.exec ?? undefined,
      authProvider: u['auth-provider'] ?? undefined,
    };
  });
  const contexts = list('contexts').map((e, i): ContextInfo => {
    const c = isObj(e.context) ? e.context : {};
    const cluster = str(c.cluster);
    const user = str(c.user) ?? '';
    if (!cluster) throw new Error(`${source}: contexts[${i}] (${e.name}) has no context.cluster`);
    const ns = str(c.namespace);
    return { name: e.name as string, cluster, user, ...(ns ? { namespace: ns } : {}) };
  });
  return { clusters, users, contexts, currentContext: str(doc['current-context']) };
}

function readKubeconfigFile(file: string): ParsedFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
  }
  return parseKubeconfig(text, dirname(file), file);
}

/** kubectl's merge rule for a $KUBECONFIG list: the first file to define a name (or current-context) wins. */
export function mergeKubeconfigs(files: ParsedFile[]): LoadedKubeConfig {
  const clusters = new Map<string, ClusterInfo>();
  const users = new Map<string, UserInfo>();
  const contexts = new Map<string, ContextInfo>();
  let current: string | undefined;
  for (const f of files) {
    for (const c of f.clusters) if (!clusters.has(c.name as string)) clusters.set(c.name as string, c);
    for (const u of f.users) if (!users.has(u.name as string)) users.set(u.name as string, u);
    for (const c of f.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
    current ??= f.currentContext;
  }
  return new LoadedKubeConfig({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext: current ?? '',
  });
}

/** The in-cluster config: the ServiceAccount token file is re-read by KubeClient as it rotates. */
export function inClusterConfig(env: NodeJS.ProcessEnv, root = ''): LoadedKubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST is not set');
  const hostPart = isIPv6(host) ? `[${host}]` : host;
  // Same rule as client-go / client-node: well-known plain-HTTP ports mean http.
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return new LoadedKubeConfig({
    clusters: [
      {
        name: 'inCluster',
        server: `${scheme}://${hostPart}:${port}`,
        caFile: `${root}${SERVICE_ACCOUNT_DIR}/ca.crt`,
      },
    ],
    users: [{ name: 'inClusterUser', tokenFile: `${root}${SERVICE_ACCOUNT_DIR}/token` }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    currentContext: 'inClusterContext',
  });
}

export interface LoadKubeConfigOptions {
  /** Explicit kubeconfig path (e.g. `--kubeconfig`). Wins over everything else. */
  kubeconfig?: string;
  /** Context to select; default: the file's current-context. */
  context?: string;
  /** For tests: the environment to read KUBECONFIG / KUBERNETES_SERVICE_HOST / HOME from. */
  env?: NodeJS.ProcessEnv;
  /** For tests: a directory prefixed to the in-cluster service-account paths. */
  inClusterRoot?: string;
}

/**
 * Resolution order: explicit path → $KUBECONFIG (colon-separated list, first file wins per name)
 * → in-cluster (KUBERNETES_SERVICE_HOST + mounted token) → ~/.kube/config. In-cluster wins over
 * the home file because a pod that happens to carry a ~/.kube/config should still use its
 * ServiceAccount.
 */
export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  const root = opts.inClusterRoot ?? '';
  let kc: LoadedKubeConfig;
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) throw new Error(`kubeconfig ${opts.kubeconfig} does not exist`);
    kc = mergeKubeconfigs([readKubeconfigFile(opts.kubeconfig)]);
  } else if (env.KUBECONFIG) {
    // kubectl skips list entries that do not exist; at least one must.
    const files = env.KUBECONFIG.split(':').filter((f) => f.length > 0 && existsSync(f));
    if (files.length === 0) throw new Error(`KUBECONFIG=${env.KUBECONFIG} names no existing file`);
    kc = mergeKubeconfigs(files.map(readKubeconfigFile));
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(`${root}${SERVICE_ACCOUNT_DIR}/token`)) {
    kc = inClusterConfig(env, root);
  } else {
    const home = env.HOME ?? homedir();
    const file = join(home, '.kube', 'config');
    if (!existsSync(file)) {
      throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod');
    }
    kc = mergeKubeconfigs([readKubeconfigFile(file)]);
  }
  if (opts.context) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) {
    throw new Error(
      kc.currentContext
        ? `kubeconfig context "${kc.currentContext}" does not name a known cluster`
        : 'no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod',
    );
  }
  const user = kc.getCurrentUser();
  if (user) assertSupportedUser(user);
  return kc;
}

/** Exec and auth-provider plugins would need child processes / cloud SDKs: refuse them clearly. */
export function assertSupportedUser(user: UserInfo): void {
  if (user.exec) {
    throw new Error(
      `kubeconfig user "${user.name ?? '?'}" uses an exec credential plugin, which Portico does not support: use a token, token file or client certificate`,
    );
  }
  if (user.authProvider) {
    throw new Error(
      `kubeconfig user "${user.name ?? '?'}" uses an auth-provider plugin, which Portico does not support: use a token, token file or client certificate`,
    );
  }
}

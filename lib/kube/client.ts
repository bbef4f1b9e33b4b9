import { existsSync } from 'node:fs';
import {
  type ApiConstructor,
  ApiException,
  type ApiType,
  type HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { type KubeLogger, noopLogger } from './log.ts';

/**
 * The Kubernetes client used by every Portico process.
 *
 * Credentials, TLS and auth plugins come from @kubernetes/client-node's KubeConfig; the generated
 * typed APIs are available through `api()`. For the plumbing in lib/kube (informers, leases,
 * events, server-side apply) we use `request()`/`watch()` below: one small typed path for any
 * resource (core, apps, custom), full control over timeouts and abort, the Status body of a
 * failure, a streamed body for watches, and one reused connection pool (the generated client
 * builds a fresh undici Agent, hence a fresh TLS handshake, per call). See docs/decisions/010.
 */

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  /** Explicit kubeconfig path (e.g. `--kubeconfig`). Wins over everything else. */
  kubeconfig?: string;
  /** Context to select; default: the file's current-context. */
  context?: string;
  /** For tests: the environment to read KUBECONFIG / KUBERNETES_SERVICE_HOST from. */
  env?: NodeJS.ProcessEnv;
  /** For tests: a directory prefixed to the in-cluster service-account paths. */
  inClusterRoot?: string;
}

/**
 * Resolution order: explicit path → $KUBECONFIG (colon-separated list, merged) → in-cluster
 * (KUBERNETES_SERVICE_HOST + mounted token) → ~/.kube/config. In-cluster wins over the home file
 * because a pod that happens to carry a ~/.kube/config should still use its ServiceAccount.
 */
export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): KubeConfig {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  const root = opts.inClusterRoot ?? '';
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) throw new Error(`kubeconfig ${opts.kubeconfig} does not exist`);
    kc.loadFromFile(opts.kubeconfig);
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(':').filter((f) => f.length > 0);
    const [first, ...rest] = files;
    if (first === undefined) throw new Error('KUBECONFIG is set but names no file');
    kc.loadFromFile(first);
    for (const f of rest) {
      const more = new KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more, true);
    }
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(`${root}${SERVICE_ACCOUNT_DIR}/token`)) {
    kc.loadFromCluster(root);
  } else {
    kc.loadFromDefault();
  }
  if (opts.context) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod');
  }
  return kc;
}

/** Which collection a resource lives in. `group: ''` is the core group (/api/v1). */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  /** Kind and apiVersion are needed for apply bodies; informers do not need them. */
  kind?: string;
}

export function apiVersionOf(ref: ResourceRef): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}

/** `/api/v1/namespaces/ns/services` or `/apis/g/v/plural` (cluster-wide or cluster-scoped). */
export function collectionPath(ref: ResourceRef, namespace?: string): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  if (ref.namespaced && namespace) return `${base}/namespaces/${encodeURIComponent(namespace)}/${ref.plural}`;
  return `${base}/${ref.plural}`;
}

export function objectPath(
  ref: ResourceRef,
  namespace: string | undefined,
  name: string,
  sub?: string,
): string {
  if (ref.namespaced && !namespace) throw new Error(`${ref.plural} is namespaced: a namespace is required`);
  const p = `${collectionPath(ref, namespace)}/${encodeURIComponent(name)}`;
  return sub ? `${p}/${sub}` : p;
}

/** Well-known resources used across Portico. CRDs: build a ResourceRef from lib/api/group.ts. */
export const Resources = {
  services: { group: '', version: 'v1', plural: 'services', namespaced: true, kind: 'Service' },
  configmaps: { group: '', version: 'v1', plural: 'configmaps', namespaced: true, kind: 'ConfigMap' },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', namespaced: false, kind: 'Namespace' },
  nodes: { group: '', version: 'v1', plural: 'nodes', namespaced: false, kind: 'Node' },
  secrets: { group: '', version: 'v1', plural: 'secrets', namespaced: true, kind: 'Secret' },
  endpointslices: {
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    namespaced: true,
    kind: 'EndpointSlice',
  },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true, kind: 'Lease' },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', namespaced: true, kind: 'Event' },
} as const satisfies Record<string, ResourceRef>;

/** The `Status` body Kubernetes returns with a failure. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

/** A non-2xx answer from the apiserver (or a transport failure with statusCode 0). */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string | undefined;
  readonly status: KubeStatus | undefined;
  readonly method: string;
  readonly path: string;
  constructor(
    method: string,
    path: string,
    statusCode: number,
    status: KubeStatus | undefined,
    text?: string,
  ) {
    const why = status?.message ?? text ?? 'no body';
    super(`${method} ${path}: HTTP ${statusCode}${status?.reason ? ` ${status.reason}` : ''}: ${why}`);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = status?.reason;
    this.status = status;
    this.method = method;
    this.path = path;
  }
}

/** HTTP status of an error from either our client or the generated one; undefined if neither. */
export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.statusCode;
  if (err instanceof ApiException) return err.code;
  if (typeof err === 'object' && err !== null) {
    const e = err as { statusCode?: unknown; code?: unknown };
    if (typeof e.statusCode === 'number') return e.statusCode;
    if (typeof e.code === 'number') return e.code;
  }
  return undefined;
}
export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
export const isGone = (err: unknown): boolean => statusCodeOf(err) === 410;
export const isAlreadyExists = (err: unknown): boolean => statusCodeOf(err) === 409;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. `/api/v1/namespaces/default/services`. */
  path: string;
  query?: Query;
  /** Serialized as JSON (JSON is valid YAML, so this also serves apply-patch+yaml). */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request deadline; default 30 s. */
  timeoutMs?: number;
}

export interface WatchStreamOptions {
  path: string;
  query?: Query;
  signal: AbortSignal;
  /** Deadline for the response headers only; the body may stream for as long as it likes. */
  connectTimeoutMs?: number;
}

export interface KubeClientOptions {
  logger?: KubeLogger;
  defaultTimeoutMs?: number;
}

/**
 * Minimal typed HTTP client on top of client-node's KubeConfig + fetch transport.
 * Every call re-applies authentication (tokens rotate), but TLS connections are pooled in one
 * dispatcher for the life of the client.
 */
export class KubeClient {
  readonly kc: KubeConfig;
  readonly server: string;
  readonly log: KubeLogger;
  private readonly http = new IsomorphicFetchHttpLibrary();
  private dispatcher: ReturnType<RequestContext['getDispatcher']>;
  private readonly defaultTimeoutMs: number;

  constructor(kc: KubeConfig, opts: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('KubeConfig has no current cluster');
    this.kc = kc;
    this.server = cluster.server.replace(/\/+$/, '');
    this.log = opts.logger ?? noopLogger;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 30_000;
  }

  /** A generated client-node API (e.g. `client.api(CoreV1Api).listNamespacedService({ namespace })`). */
  api<T extends ApiType>(ctor: ApiConstructor<T>): T {
    return this.kc.makeApiClient(ctor);
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  private async send(
    method: string,
    url: string,
    signal: AbortSignal,
    body?: string,
    contentType?: string,
  ): Promise<ResponseContext> {
    const ctx = new RequestContext(url, method as HttpMethod);
    await this.kc.applySecurityAuthentication(ctx);
    // Reuse one connection pool: applySecurityAuthentication builds a new Agent each call.
    if (this.dispatcher === undefined) this.dispatcher = ctx.getDispatcher();
    if (this.dispatcher !== undefined) ctx.setDispatcher(this.dispatcher);
    ctx.setHeaderParam('Accept', 'application/json');
    if (body !== undefined) {
      ctx.setHeaderParam('Content-Type', contentType ?? 'application/json');
      ctx.setBody(body);
    }
    ctx.setSignal(signal);
    return this.http.send(ctx).toPromise();
  }

  /** One request; resolves with the parsed JSON body, rejects with KubeApiError on non-2xx. */
  async request<T>(opts: RequestOptions): Promise<T> {
    const method = opts.method ?? 'GET';
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.defaultTimeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    let res: ResponseContext;
    let text: string;
    try {
      res = await this.send(method, this.url(opts.path, opts.query), signal, body, opts.contentType);
      text = await res.body.text();
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      throw transportError(method, opts.path, err);
    }
    if (res.httpStatusCode < 200 || res.httpStatusCode >= 300) {
      throw new KubeApiError(method, opts.path, res.httpStatusCode, parseStatus(text), text.slice(0, 500));
    }
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeApiError(
        method,
        opts.path,
        res.httpStatusCode,
        undefined,
        `unparsable body: ${text.slice(0, 200)}`,
      );
    }
  }

  /**
   * Open a watch (or any streaming GET) and yield its body line by line. The iterator ends when
   * the server closes the stream; it throws on transport errors; aborting `signal` ends it.
   */
  async watchLines(opts: WatchStreamOptions): Promise<AsyncIterable<string>> {
    const connect = AbortSignal.timeout(opts.connectTimeoutMs ?? this.defaultTimeoutMs);
    const headerSignal = new AbortController();
    const onConnectTimeout = () => headerSignal.abort(connect.reason);
    const onAbort = () => headerSignal.abort(opts.signal.reason);
    connect.addEventListener('abort', onConnectTimeout, { once: true });
    opts.signal.addEventListener('abort', onAbort, { once: true });
    if (opts.signal.aborted) headerSignal.abort(opts.signal.reason);
    let res: ResponseContext;
    try {
      res = await this.send('GET', this.url(opts.path, { ...opts.query, watch: true }), headerSignal.signal);
    } catch (err) {
      opts.signal.removeEventListener('abort', onAbort);
      throw transportError('GET', opts.path, err);
    } finally {
      // Headers are in: the connect deadline no longer applies to the long-lived body.
      connect.removeEventListener('abort', onConnectTimeout);
    }
    if (res.httpStatusCode !== 200) {
      opts.signal.removeEventListener('abort', onAbort);
      const text = await res.body.text().catch(() => '');
      throw new KubeApiError('GET', opts.path, res.httpStatusCode, parseStatus(text), text.slice(0, 500));
    }
    const stream = res.body.stream();
    if (!stream) throw new KubeApiError('GET', opts.path, 200, undefined, 'watch response has no body');
    return splitLines(stream, () => opts.signal.removeEventListener('abort', onAbort));
  }

  // Typed conveniences over request(); `ref` says where the resource lives.

  get<T>(ref: ResourceRef, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ path: objectPath(ref, namespace, name), ...(signal ? { signal } : {}) });
  }

  /** GET, or undefined on 404. */
  async getOrUndefined<T>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** All items of a collection (follows `continue`). */
  async list<T>(
    ref: ResourceRef,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.request<{ items?: T[]; metadata?: { continue?: string } }>({
        path: collectionPath(ref, opts.namespace),
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: 500,
          continue: cont,
        },
      });
      out.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  create<T>(
    ref: ResourceRef,
    body: T & { metadata?: { namespace?: string } },
    opts: { fieldManager?: string } = {},
  ): Promise<T> {
    return this.request<T>({
      method: 'POST',
      path: collectionPath(ref, body.metadata?.namespace),
      query: { fieldManager: opts.fieldManager },
      body,
    });
  }

  /** JSON merge patch (RFC 7386): `null` deletes a key. */
  mergePatch<T>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    sub?: string,
  ): Promise<T> {
    return this.request<T>({
      method: 'PATCH',
      path: objectPath(ref, namespace, name, sub),
      contentType: 'application/merge-patch+json',
      body: patch,
    });
  }

  /** DELETE; resolves false when it was already gone. */
  async delete(ref: ResourceRef, namespace: string | undefined, name: string): Promise<boolean> {
    try {
      await this.request({ method: 'DELETE', path: objectPath(ref, namespace, name) });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Close pooled connections. */
  async close(): Promise<void> {
    const d = this.dispatcher as { close?: () => Promise<void> } | undefined;
    this.dispatcher = undefined;
    await d?.close?.().catch(() => {});
  }
}

function parseStatus(text: string): KubeStatus | undefined {
  try {
    const v = JSON.parse(text) as KubeStatus;
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

function transportError(method: string, path: string, err: unknown): Error {
  if (err instanceof KubeApiError) return err;
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const detail = [e?.name, e?.message, e?.cause?.code, e?.cause?.message].filter(Boolean).join(': ');
  const out = new KubeApiError(method, path, 0, undefined, `transport: ${detail || String(err)}`);
  (out as { cause?: unknown }).cause = err;
  return out;
}

async function* splitLines(stream: ReadableStream<Uint8Array>, cleanup: () => void): AsyncGenerator<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      // Scan with an index and cut the buffer once per chunk: no quadratic copying on big chunks.
      let start = 0;
      let nl = buf.indexOf('\n', start);
      while (nl >= 0) {
        const line = buf.slice(start, nl).trim();
        start = nl + 1;
        if (line.length > 0) yield line;
        nl = buf.indexOf('\n', start);
      }
      buf = buf.slice(start);
    }
    const rest = (buf + decoder.decode()).trim();
    if (rest.length > 0) yield rest;
  } finally {
    cleanup();
    // Cancelling releases the socket back (or destroys it) whether we finished, threw or were aborted.
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

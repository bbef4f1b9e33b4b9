import { readFileSync } from 'node:fs';
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
// Types only: importing @kubernetes/client-node at runtime costs ~90 MB RSS per process (undici +
// the generated API). A unit test (test/lib/kube/no-client-node.test.ts) keeps it that way.
import type { ApiConstructor, ApiType } from '@kubernetes/client-node';
import { assertSupportedUser, type KubeConfigLike, type UserInfo } from './kubeconfig.ts';
import { type KubeLogger, noopLogger } from './log.ts';

export {
  type ClusterInfo,
  type ContextInfo,
  type KubeConfigLike,
  LoadedKubeConfig,
  type LoadKubeConfigOptions,
  loadKubeConfig,
  SERVICE_ACCOUNT_DIR,
  type UserInfo,
} from './kubeconfig.ts';

/**
 * The Kubernetes client used by every Portico process.
 *
 * Credentials and TLS come from a kubeconfig (lib/kube/kubeconfig.ts, or a client-node KubeConfig
 * passed by a test: both have the same shape). For the plumbing in lib/kube (informers, leases,
 * events, server-side apply) we use `request()`/`watchLines()` below over node:https: one small
 * typed path for any resource (core, apps, custom), full control over timeouts and abort, the
 * Status body of a failure, a streamed body for watches, and one keep-alive connection pool per
 * client. See docs/decisions/010 and lib/kube/README.md.
 */

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
  // client-node's ApiException carries `code`; matched by shape so we never import it at runtime.
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

/** How often a token file is re-read: projected ServiceAccount tokens rotate (client-go: 1 min). */
const TOKEN_FILE_TTL_MS = 60_000;

interface SendResult {
  res: IncomingMessage;
  req: ClientRequest;
}

/**
 * Minimal typed HTTP client over node:http(s). Every call re-applies authentication (token files
 * rotate), but TLS connections are pooled in one keep-alive Agent for the life of the client.
 */
export class KubeClient {
  readonly kc: KubeConfigLike;
  readonly server: string;
  readonly log: KubeLogger;
  private readonly defaultTimeoutMs: number;
  private readonly agent: HttpAgent;
  private readonly isHttps: boolean;
  private readonly user: UserInfo | null;
  private tokenCache: { token: string; readAt: number } | undefined;

  constructor(kc: KubeConfigLike, opts: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('KubeConfig has no current cluster');
    this.kc = kc;
    this.server = cluster.server.replace(/\/+$/, '');
    this.log = opts.logger ?? noopLogger;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 30_000;
    this.user = kc.getCurrentUser();
    if (this.user && !tokenFileOf(this.user) && !hasPluginDelegate(kc)) assertSupportedUser(this.user);
    this.isHttps = new URL(this.server).protocol === 'https:';
    const ca = fileOrData(cluster.caFile, cluster.caData);
    const cert = this.user ? fileOrData(this.user.certFile, this.user.certData) : undefined;
    const key = this.user ? fileOrData(this.user.keyFile, this.user.keyData) : undefined;
    this.agent = this.isHttps
      ? new HttpsAgent({
          keepAlive: true,
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          // Unset unless asked: Node then honours NODE_TLS_REJECT_UNAUTHORIZED like before.
          ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
          ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
        })
      : new HttpAgent({ keepAlive: true });
  }

  /**
   * A generated client-node API (e.g. `client.api(CoreV1Api).listNamespacedService({ namespace })`).
   * Only works when this client was built from a client-node KubeConfig: lib/kube never loads
   * client-node itself.
   */
  api<T extends ApiType>(ctor: ApiConstructor<T>): T {
    const make = (this.kc as { makeApiClient?: (c: ApiConstructor<T>) => T }).makeApiClient;
    if (typeof make !== 'function') {
      throw new Error('KubeClient.api() needs a @kubernetes/client-node KubeConfig (use request() instead)');
    }
    return make.call(this.kc, ctor);
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** Headers carrying the credentials, recomputed per request (token files rotate). */
  private async authHeaders(): Promise<Record<string, string>> {
    const h: Record<string, string> = {};
    const u = this.user;
    if (!u) return h;
    if (u.impersonateUser) h['Impersonate-User'] = u.impersonateUser;
    const tokenFile = tokenFileOf(u);
    if (u.token) {
      h.Authorization = `Bearer ${u.token}`;
    } else if (tokenFile) {
      const now = Date.now();
      if (!this.tokenCache || now - this.tokenCache.readAt >= TOKEN_FILE_TTL_MS) {
        try {
          this.tokenCache = { token: readFileSync(tokenFile, 'utf8').trim(), readAt: now };
        } catch (err) {
          // Keep the last token if a rotation races the read; fail only if we never had one.
          if (!this.tokenCache) throw err;
        }
      }
      h.Authorization = `Bearer ${this.tokenCache.token}`;
    } else if (u.username) {
      h.Authorization = `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`;
    } else if ((u.exec || u.authProvider) && hasPluginDelegate(this.kc)) {
      // A client-node KubeConfig with a plugin (tests, library users): let it compute the header.
      const o: { headers: Record<string, string> } = { headers: {} };
      await this.kc.applyToHTTPSOptions(o);
      if (o.headers.Authorization) h.Authorization = o.headers.Authorization;
    }
    return h;
  }

  /** Send one request; resolves once the response headers are in. Aborting `signal` destroys it. */
  private async send(
    method: string,
    url: string,
    signal: AbortSignal,
    body?: string,
    contentType?: string,
  ): Promise<SendResult> {
    signal.throwIfAborted();
    const headers: Record<string, string> = { Accept: 'application/json', ...(await this.authHeaders()) };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.from(body);
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    signal.throwIfAborted();
    const doRequest = this.isHttps ? httpsRequest : httpRequest;
    return new Promise<SendResult>((resolve, reject) => {
      const req = doRequest(url, { method, headers, agent: this.agent });
      const onAbort = () => req.destroy(toError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.once('response', (res) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ res, req });
      });
      req.end(payload);
    });
  }

  /** One request; resolves with the parsed JSON body, rejects with KubeApiError on non-2xx. */
  async request<T>(opts: RequestOptions): Promise<T> {
    const method = opts.method ?? 'GET';
    const deadline = withDeadline(opts.signal, opts.timeoutMs ?? this.defaultTimeoutMs);
    const signal = deadline.signal;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    let status: number;
    let text: string;
    try {
      const { res, req } = await this.send(
        method,
        this.url(opts.path, opts.query),
        signal,
        body,
        opts.contentType,
      );
      status = res.statusCode ?? 0;
      text = await readText(res, req, signal);
    } catch (err) {
      throw transportError(method, opts.path, err);
    } finally {
      deadline.dispose();
    }
    if (status < 200 || status >= 300) {
      throw new KubeApiError(method, opts.path, status, parseStatus(text), text.slice(0, 500));
    }
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeApiError(method, opts.path, status, undefined, `unparsable body: ${text.slice(0, 200)}`);
    }
  }

  /**
   * Open a watch (or any streaming GET) and yield its body line by line. The iterator ends when
   * the server closes the stream; it throws on transport errors; aborting `signal` ends it.
   */
  async watchLines(opts: WatchStreamOptions): Promise<AsyncIterable<string>> {
    const connect = withDeadline(opts.signal, opts.connectTimeoutMs ?? this.defaultTimeoutMs);
    let sent: SendResult;
    try {
      sent = await this.send('GET', this.url(opts.path, { ...opts.query, watch: true }), connect.signal);
    } catch (err) {
      throw transportError('GET', opts.path, err);
    } finally {
      connect.dispose();
    }
    // Headers are in: the connect deadline no longer applies to the long-lived body.
    const { res, req } = sent;
    if (res.statusCode !== 200) {
      const text = await readText(res, req, opts.signal).catch(() => '');
      throw new KubeApiError('GET', opts.path, res.statusCode ?? 0, parseStatus(text), text.slice(0, 500));
    }
    const onAbort = () => req.destroy(toError(opts.signal.reason));
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
    return splitLines(res, () => {
      opts.signal.removeEventListener('abort', onAbort);
      // An unfinished body cannot go back to the pool: drop its socket. A finished one already went back.
      if (!res.complete) req.destroy();
    });
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
    this.agent.destroy();
  }
}

/** client-node's in-cluster user names its token file through a `tokenFile` auth provider. */
function tokenFileOf(u: UserInfo): string | undefined {
  if (u.tokenFile) return u.tokenFile;
  const ap = u.authProvider as { name?: unknown; config?: { tokenFile?: unknown } } | undefined | null;
  if (ap?.name === 'tokenFile' && typeof ap.config?.tokenFile === 'string') return ap.config.tokenFile;
  return undefined;
}

interface PluginDelegate {
  applyToHTTPSOptions(opts: { headers: Record<string, string> }): Promise<void>;
}

/** A client-node KubeConfig can run its own exec/auth-provider plugins; ours cannot. */
function hasPluginDelegate(kc: KubeConfigLike): kc is KubeConfigLike & PluginDelegate {
  return typeof (kc as Partial<PluginDelegate>).applyToHTTPSOptions === 'function';
}

function fileOrData(file: string | null | undefined, data: string | null | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

/**
 * A signal that aborts when `outer` does or after `ms`, and `dispose()` to detach it once the
 * request is done. Not `AbortSignal.any([outer, AbortSignal.timeout(ms)])`: on Node 24 every signal
 * made by any() stays registered on `outer` until `outer` itself is collected, and `outer` here is
 * typically a leader term's signal that lives for hours, so each request leaked a little
 * (nodejs/node#64476: 40,000 requests, ~100 MB). The timeout reason is the same TimeoutError
 * DOMException AbortSignal.timeout() gives.
 */
export function withDeadline(
  outer: AbortSignal | undefined,
  ms: number,
): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const timer = setTimeout(
    () => ctl.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  );
  timer.unref();
  const onOuter = () => ctl.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: ctl.signal,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}

/** The whole body as text; rejects with the abort reason if `signal` fires first. */
function readText(res: IncomingMessage, req: ClientRequest, signal: AbortSignal): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onAbort = () => {
      const reason = toError(signal.reason);
      req.destroy(reason);
      reject(reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    res.once('aborted', () => {
      signal.removeEventListener('abort', onAbort);
      reject(new Error('response aborted'));
    });
  });
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
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string; message?: string };
  };
  const detail = [e?.name, e?.code, e?.message, e?.cause?.code, e?.cause?.message].filter(Boolean).join(': ');
  const out = new KubeApiError(method, path, 0, undefined, `transport: ${detail || String(err)}`);
  (out as { cause?: unknown }).cause = err;
  return out;
}

async function* splitLines(res: IncomingMessage, cleanup: () => void): AsyncGenerator<string> {
  // setEncoding keeps multi-byte characters split across chunks intact.
  res.setEncoding('utf8');
  let buf = '';
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      buf += chunk;
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
    const rest = buf.trim();
    if (rest.length > 0) yield rest;
  } finally {
    cleanup();
  }
}

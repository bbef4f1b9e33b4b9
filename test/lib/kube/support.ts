import { PassThrough } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import nock from 'nock';
import { KubeClient } from '../../../lib/kube/client.ts';

/** A fake API server address that only nock answers (no socket ever leaves the process). */
export const SERVER = 'https://k8s.test';

export function fakeKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: SERVER, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'test-token' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

export function fakeClient(): KubeClient {
  return new KubeClient(fakeKubeConfig(), { defaultTimeoutMs: 5_000 });
}

export function api(): nock.Scope {
  return nock(SERVER);
}

/** A watch body we feed event by event; `end()` closes the stream like a server timeout. */
export class WatchFeed {
  readonly stream = new PassThrough();
  send(type: string, object: unknown): void {
    this.stream.write(`${JSON.stringify({ type, object })}\n`);
  }
  end(): void {
    this.stream.end();
  }
}

export async function until(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function svc(name: string, rv: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv },
    ...extra,
  };
}

/**
 * nock reply callbacks that take the request body never answer when the client is undici (the
 * body is never handed over), so capture the body in the matcher: it runs first, then the
 * reply callback (arity 0) reads `last`.
 */
export class Capture<T = unknown> {
  last: T | undefined;
  all: T[] = [];
  private readonly accept: (b: unknown) => boolean;
  /** `accept`: nock may offer other requests' bodies to a matcher too; narrow it when needed. */
  constructor(accept: (b: unknown) => boolean = () => true) {
    this.accept = accept;
  }
  readonly match = (b: unknown): boolean => {
    if (!this.accept(b)) return false;
    this.last = b as T;
    this.all.push(b as T);
    return true;
  };
}

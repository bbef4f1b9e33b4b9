// Helpers for the DNS Kubernetes-mode integration tests: objects as a Gateway implementation and a
// user would write them, and DNS clients over real sockets (dig, kdig, Node's resolver).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { promisify } from 'node:util';
import { API_VERSION, GROUP, PLURALS, VERSION } from '../../../lib/api/group.ts';
import type { DNSZone, DNSZoneSpec } from '../../../lib/api/types.ts';
import { collectionPath, type KubeClient, objectPath, Resources } from '../../../lib/kube/client.ts';

const run = promisify(execFile);
const GW = 'gateway.networking.k8s.io';
export const CONTROLLER = 'example.com/test-gateway-controller';

export const gatewayRes = { group: GW, version: 'v1', plural: 'gateways', namespaced: true, kind: 'Gateway' };
export const httpRouteRes = {
  group: GW,
  version: 'v1',
  plural: 'httproutes',
  namespaced: true,
  kind: 'HTTPRoute',
};
export const zoneRes = {
  group: GROUP,
  version: VERSION,
  plural: PLURALS.DNSZone,
  namespaced: false,
  kind: 'DNSZone',
};

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

export async function freshNamespace(client: KubeClient, prefix: string, labels?: Record<string, string>) {
  const name = `${prefix}-${suffix()}`;
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels } } });
  return name;
}

const MERGE = 'application/merge-patch+json';

export interface ListenerSpec {
  name: string;
  hostname?: string;
  port?: number;
  protocol?: string;
  allowedRoutes?: unknown;
}

export async function createGateway(
  client: KubeClient,
  ns: string,
  name: string,
  listeners: ListenerSpec[],
  gatewayClassName = 'test',
): Promise<void> {
  await client.request({
    method: 'POST',
    path: collectionPath(gatewayRes, ns),
    body: {
      apiVersion: `${GW}/v1`,
      kind: 'Gateway',
      metadata: { name, namespace: ns },
      spec: {
        gatewayClassName,
        listeners: listeners.map((l) => ({ port: 80, protocol: 'HTTP', ...l })),
      },
    },
  });
}

/** What a Gateway implementation writes once it has an address for the Gateway. */
export async function setGatewayAddresses(
  client: KubeClient,
  ns: string,
  name: string,
  addresses: Array<{ type?: 'IPAddress' | 'Hostname'; value: string }>,
): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: objectPath(gatewayRes, ns, name, 'status'),
    contentType: MERGE,
    body: { status: { addresses: addresses.map((a) => ({ type: a.type ?? 'IPAddress', value: a.value })) } },
  });
}

export interface RefSpec {
  kind?: 'Gateway' | 'ListenerSet';
  name: string;
  namespace?: string;
  sectionName?: string;
}

export async function createHTTPRoute(
  client: KubeClient,
  ns: string,
  name: string,
  parentRefs: RefSpec[],
  hostnames: string[],
): Promise<void> {
  await client.request({
    method: 'POST',
    path: collectionPath(httpRouteRes, ns),
    body: {
      apiVersion: `${GW}/v1`,
      kind: 'HTTPRoute',
      metadata: { name, namespace: ns },
      spec: { parentRefs, hostnames },
    },
  });
}

export async function setRouteParents(
  client: KubeClient,
  ns: string,
  name: string,
  parents: Array<{ ref: RefSpec; accepted: boolean }>,
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.request({
    method: 'PATCH',
    path: objectPath(httpRouteRes, ns, name, 'status'),
    contentType: MERGE,
    body: {
      status: {
        parents: parents.map((p) => ({
          // As implementations write it: defaults spelled out.
          parentRef: { group: GW, kind: 'Gateway', ...p.ref },
          controllerName: CONTROLLER,
          conditions: [
            {
              type: 'Accepted',
              status: p.accepted ? 'True' : 'False',
              reason: p.accepted ? 'Accepted' : 'NotAllowedByListeners',
              message: p.accepted ? 'accepted' : 'no listener admits this route',
              lastTransitionTime: now,
            },
          ],
        })),
      },
    },
  });
}

export const listenerSetRes = {
  group: GW,
  version: 'v1',
  plural: 'listenersets',
  namespaced: true,
  kind: 'ListenerSet',
};

/** A ListenerSet on `gateway`, Accepted as the Gateway implementation would report it. */
export async function createAcceptedListenerSet(
  client: KubeClient,
  ns: string,
  name: string,
  gateway: { name: string; namespace: string },
  listeners: ListenerSpec[],
): Promise<void> {
  await client.request({
    method: 'POST',
    path: collectionPath(listenerSetRes, ns),
    body: {
      apiVersion: `${GW}/v1`,
      kind: 'ListenerSet',
      metadata: { name, namespace: ns },
      spec: { parentRef: gateway, listeners: listeners.map((l) => ({ port: 80, protocol: 'HTTP', ...l })) },
    },
  });
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.request({
    method: 'PATCH',
    path: objectPath(listenerSetRes, ns, name, 'status'),
    contentType: MERGE,
    body: {
      status: {
        conditions: [
          {
            type: 'Accepted',
            status: 'True',
            reason: 'Accepted',
            message: 'attached',
            lastTransitionTime: now,
          },
        ],
      },
    },
  });
}

export async function patchRouteSpec(
  client: KubeClient,
  ns: string,
  name: string,
  spec: unknown,
): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: objectPath(httpRouteRes, ns, name),
    contentType: MERGE,
    body: { spec },
  });
}

export async function createLBService(
  client: KubeClient,
  ns: string,
  name: string,
  annotations: Record<string, string>,
  ingressIPs: string[],
): Promise<void> {
  await client.request({
    method: 'POST',
    path: collectionPath(Resources.services, ns),
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, annotations },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name } },
    },
  });
  if (ingressIPs.length > 0) {
    await client.request({
      method: 'PATCH',
      path: objectPath(Resources.services, ns, name, 'status'),
      contentType: MERGE,
      body: { status: { loadBalancer: { ingress: ingressIPs.map((ip) => ({ ip })) } } },
    });
  }
}

export async function createZone(client: KubeClient, name: string, spec: DNSZoneSpec): Promise<void> {
  await client.request({
    method: 'POST',
    path: collectionPath(zoneRes),
    body: { apiVersion: API_VERSION, kind: 'DNSZone', metadata: { name }, spec },
  });
}

export function getZone(client: KubeClient, name: string): Promise<DNSZone> {
  return client.request<DNSZone>({ path: objectPath(zoneRes, undefined, name) });
}

export async function deleteObject(
  client: KubeClient,
  res: { group: string; version: string; plural: string; namespaced: boolean },
  ns: string | undefined,
  name: string,
): Promise<void> {
  await client.request({ method: 'DELETE', path: objectPath(res, ns, name) }).catch(() => {});
}

export async function until<T>(
  probe: () => Promise<T> | T,
  ok: (v: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const t0 = Date.now();
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}${lastErr ? `; error: ${String(lastErr)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- DNS clients

export interface DigResult {
  status: string;
  flags: string;
  answer: string[][];
  authority: string[][];
}

/** Query with dig or kdig; records come back as whitespace-split fields (name ttl class type data…). */
export async function query(
  tool: 'dig' | 'kdig',
  port: number,
  name: string,
  type: string,
  tcp: boolean,
): Promise<DigResult> {
  const args = [`@127.0.0.1`, '-p', String(port), name, type, tcp ? '+tcp' : '+notcp'];
  if (tool === 'dig') args.push('+time=2', '+tries=1', '+norecurse');
  else args.push('+time=2', '+retry=0', '+norecurse');
  const { stdout } = await run(tool, args, { timeout: 10_000 });
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
  // dig: ';; flags: qr aa;'  kdig: ';; Flags: qr aa;'
  const flags = /^;; flags: ([a-z ]*)/im.exec(stdout)?.[1]?.trim().toLowerCase() ?? '';
  const out: DigResult = { status, flags, answer: [], authority: [] };
  let section: 'answer' | 'authority' | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (/^;; ANSWER SECTION/.test(line)) section = 'answer';
    else if (/^;; AUTHORITY SECTION/.test(line)) section = 'authority';
    else if (/^;; [A-Z]+ SECTION/.test(line)) section = undefined;
    else if (line === '' || line.startsWith(';')) {
      if (line === '') section = undefined;
    } else if (section) out[section].push(line.split(/\s+/));
  }
  return out;
}

/** The sorted A/AAAA data in an answer. */
export function addresses(r: DigResult, type = 'A'): string[] {
  return r.answer
    .filter((f) => f[3] === type)
    .map((f) => f[4]!)
    .sort();
}

export function nodeResolver(port: number): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

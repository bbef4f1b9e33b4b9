import { readFile } from 'node:fs/promises';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../../lib/kube/client.ts';

/**
 * Install manifests (CRDs, and whatever else a CRD bundle ships, e.g. Gateway API's
 * ValidatingAdmissionPolicy) by server-side apply, then wait until every CRD is Established, so a
 * test can use the new kinds the moment setup returns.
 */

const FIELD_MANAGER = 'portico-envtest';
const ESTABLISH_TIMEOUT_MS = 60_000;

/** The apiserver's own message (Status.message) instead of client-node's full HTTP dump. */
export function apiErrorMessage(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: unknown };
  if (typeof e?.code === 'number' && e.body !== undefined) {
    let body = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        return `HTTP ${e.code}: ${body}`;
      }
    }
    const msg = (body as { message?: unknown })?.message;
    if (typeof msg === 'string') return `HTTP ${e.code}: ${msg}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export async function readManifests(files: string[]): Promise<KubernetesObject[]> {
  const out: KubernetesObject[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(await readFile(file, 'utf8'));
    for (const doc of docs) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const obj = doc.toJS() as KubernetesObject | null;
      if (!obj) continue; // empty document (leading/trailing ---)
      if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
        throw new Error(`${file}: a document without apiVersion/kind/metadata.name`);
      }
      out.push(obj);
    }
  }
  return out;
}

function established(crd: V1CustomResourceDefinition): boolean {
  const conds = crd.status?.conditions ?? [];
  const ok = (t: string) => conds.some((c) => c.type === t && c.status === 'True');
  return ok('Established') && ok('NamesAccepted');
}

export async function waitEstablished(kc: KubeConfig, names: string[]): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + ESTABLISH_TIMEOUT_MS;
  const pending = new Set(names);
  while (pending.size) {
    for (const name of [...pending]) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (established(crd)) pending.delete(name);
    }
    if (!pending.size) break;
    if (Date.now() > deadline) {
      throw new Error(`CRDs not Established after ${ESTABLISH_TIMEOUT_MS} ms: ${[...pending].join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * API path of a cluster-scoped manifest object. CRD bundles hold only cluster-scoped kinds
 * (CustomResourceDefinition, ValidatingAdmissionPolicy[Binding]); anything namespaced is refused.
 */
export function clusterObjectPath(obj: KubernetesObject): string {
  if (obj.metadata?.namespace)
    throw new Error(`${obj.kind} ${obj.metadata.name}: namespaced objects are not supported`);
  const kind = (obj.kind ?? '').toLowerCase();
  const plural = kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
  const apiVersion = obj.apiVersion ?? '';
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}/${plural}/${obj.metadata?.name}`;
}

/** Apply every document of `files` (CRDs first), wait for the CRDs; returns the CRD names. */
export async function installCrdFiles(kc: KubeConfig, files: string[]): Promise<string[]> {
  const objects = await readManifests(files);
  const isCrd = (o: KubernetesObject) => o.kind === 'CustomResourceDefinition';
  // Raw apply-patch, not KubernetesObjectApi: client-node round-trips bodies through its typed
  // models, which drop `default`, `enum` and every `x-kubernetes-*` key under schema properties.
  const client = new KubeClient(kc);
  const apply = async (obj: KubernetesObject) => {
    try {
      await client.request({
        method: 'PATCH',
        path: clusterObjectPath(obj),
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: 'application/apply-patch+yaml',
        body: obj,
      });
    } catch (err) {
      throw new Error(`applying ${obj.kind} ${obj.metadata?.name}: ${apiErrorMessage(err)}`);
    }
  };
  // CRDs concurrently (each one makes the apiserver rebuild its OpenAPI; a burst is cheaper than a
  // queue), then the rest in file order, since those may depend on each other (policy, binding).
  await Promise.all(objects.filter(isCrd).map(apply));
  for (const obj of objects.filter((o) => !isCrd(o))) await apply(obj);
  const names = objects.filter(isCrd).map((o) => o.metadata?.name ?? '');
  await waitEstablished(kc, names);
  return names;
}

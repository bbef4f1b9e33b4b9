import { readFile } from 'node:fs/promises';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

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

/** Apply every document of `files` (CRDs first), wait for the CRDs; returns the CRD names. */
export async function installCrdFiles(kc: KubeConfig, files: string[]): Promise<string[]> {
  const objects = await readManifests(files);
  const isCrd = (o: KubernetesObject) => o.kind === 'CustomResourceDefinition';
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of [...objects.filter(isCrd), ...objects.filter((o) => !isCrd(o))]) {
    try {
      await client.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (err) {
      throw new Error(`applying ${obj.kind} ${obj.metadata?.name}: ${apiErrorMessage(err)}`);
    }
  }
  const names = objects.filter(isCrd).map((o) => o.metadata?.name ?? '');
  await waitEstablished(kc, names);
  return names;
}

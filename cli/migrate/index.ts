// `portico migrate metallb`: print Portico objects equivalent to MetalLB's, from YAML/JSON files
// and/or a live cluster, with a finding for everything that cannot be carried. The conversion is
// the pure lib/api/metallb.ts; this file is the thin I/O shell (read, convert, print).
//
// Output contract (README "Migrating from MetalLB"):
// - stdout: the objects, ready for `kubectl apply -f -`. YAML (default): one document per object,
//   preceded by a comment header that repeats every finding as `# warning: …` / `# note: …`, so
//   the reasons travel with the manifest into review. `-o json`: one `v1 List`, nothing else.
// - stderr: every finding as one `warning: …` / `note: …` line, whatever the format.
// - exit 0 when the input was read (findings or not), 1 when an input cannot be read (missing
//   file, bad YAML, cluster unreachable, metallb.io API absent), 2 on a usage error.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import {
  type ConversionResult,
  checkServices,
  convertMetalLB,
  flattenLists,
  formatFinding,
  METALLB_GROUP,
  type MigratingService,
} from '../../lib/api/metallb.ts';
import {
  isNotFound,
  KubeClient,
  loadKubeConfig,
  type ResourceRef,
  Resources,
  statusCodeOf,
} from '../../lib/kube/index.ts';
import { runIfEntrypoint } from '../../lib/observe/entrypoint.ts';

export const USAGE = `usage: portico migrate metallb [-f FILE|DIR]... [--from-cluster] [flags]

Prints Portico IPAddressPools, L2Advertisements, BGPPeers and BGPAdvertisements equivalent to
MetalLB's (metallb.io IPAddressPool, L2Advertisement, BGPPeer v1beta2/v1beta1, BGPAdvertisement;
Community aliases are resolved), ready for \`kubectl apply -f -\`. Everything that cannot be
carried (BFD, VRFs, plain-text passwords, fields Portico lacks) is reported as a warning; nothing is
dropped silently, and a plain-text BGP password is never printed.

  -f, --filename FILE|DIR   MetalLB manifests (YAML or JSON; a directory: its *.yaml, *.yml and
                            *.json files; "-" = stdin). Repeatable.
      --from-cluster        read MetalLB's objects from the cluster
  -n, --namespace NS        namespace MetalLB runs in, for --from-cluster (default metallb-system)
  -A, --all-namespaces      read every namespace (--from-cluster)
      --kubeconfig PATH     kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
      --lb-class CLASS      the loadBalancerClass Portico will serve, for the Service check
                            (default portico.dev/lb)
      --portico-namespace NS
                            the namespace Portico runs in (its speaker reads BGP password
                            Secrets only there; default portico-system)
  -o, --output yaml|json    yaml (default): documents with the findings as leading # comments;
                            json: one v1 List
  -h, --help

With --from-cluster, LoadBalancer Services are checked too: an IP in no converted pool, an
address-pool annotation naming a pool not carried, a class Portico does not serve.

Findings go to stderr as "warning: ..." / "note: ..." lines. Exit 0 when the input was read
(with or without findings), 1 when an input cannot be read, 2 on a usage error.`;

export interface MigrateIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  kubeconfig?: string;
}

/** A reading failure: exit code 1 with this message. */
class InputError extends Error {}

interface Options {
  files: string[];
  fromCluster: boolean;
  namespace: string | null;
  output: 'yaml' | 'json';
  kubeconfig?: string;
  lbClass?: string;
  porticoNamespace: string;
}

type Parsed = { ok: true; help: boolean; options: Options } | { ok: false; error: string };

export function parseMigrateArgs(args: string[]): Parsed {
  const [sub, ...rest] = args;
  if (sub === '-h' || sub === '--help') return { ok: true, help: true, options: defaults() };
  if (sub !== 'metallb')
    return {
      ok: false,
      error:
        sub === undefined
          ? 'missing source: metallb'
          : `unknown source ${JSON.stringify(sub)} (only metallb)`,
    };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        'from-cluster': { type: 'boolean' },
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        kubeconfig: { type: 'string' },
        'lb-class': { type: 'string' },
        'portico-namespace': { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  if (values.help === true) return { ok: true, help: true, options: defaults() };
  const files = (values.filename as string[] | undefined) ?? [];
  const fromCluster = values['from-cluster'] === true;
  if (files.length === 0 && !fromCluster)
    return { ok: false, error: 'give -f FILE|DIR, --from-cluster, or both' };
  const output = (values.output as string | undefined) ?? 'yaml';
  if (output !== 'yaml' && output !== 'json')
    return { ok: false, error: `-o: yaml or json, not ${JSON.stringify(output)}` };
  const all = values['all-namespaces'] === true;
  const ns = values.namespace as string | undefined;
  if (all && ns !== undefined) return { ok: false, error: '-n and -A exclude each other' };
  if (
    !fromCluster &&
    (all || ns !== undefined || values.kubeconfig !== undefined || values['lb-class'] !== undefined)
  )
    return { ok: false, error: '-n, -A, --kubeconfig and --lb-class apply to --from-cluster only' };
  const porticoNs = (values['portico-namespace'] as string | undefined) ?? DEFAULT_PORTICO_NAMESPACE;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(porticoNs) || porticoNs.length > 63)
    return { ok: false, error: `--portico-namespace: ${JSON.stringify(porticoNs)} is not a namespace name` };
  const options: Options = {
    files,
    fromCluster,
    namespace: all ? null : (ns ?? 'metallb-system'),
    output,
    porticoNamespace: porticoNs,
  };
  if (typeof values.kubeconfig === 'string') options.kubeconfig = values.kubeconfig;
  if (typeof values['lb-class'] === 'string') options.lbClass = values['lb-class'];
  return { ok: true, help: false, options };
}

/** Where the chart is installed in the README (and the controller's default Lease namespace). */
export const DEFAULT_PORTICO_NAMESPACE = 'portico-system';

function defaults(): Options {
  return {
    files: [],
    fromCluster: false,
    namespace: 'metallb-system',
    output: 'yaml',
    porticoNamespace: DEFAULT_PORTICO_NAMESPACE,
  };
}

// ------------------------------------------------------------------------------------- reading

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseDocuments(text: string, where: string): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new InputError(`${where}: ${doc.errors[0]?.message}`);
    const v = doc.toJS() as unknown;
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

const MANIFEST = /\.(ya?ml|json)$/i;

export async function readInputFiles(paths: readonly string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(...parseDocuments(await readStdin(), 'stdin'));
      continue;
    }
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch (err) {
      throw new InputError(
        `${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : String(err)}`,
      );
    }
    const files = st.isDirectory()
      ? (await readdir(p))
          .filter((f) => MANIFEST.test(f))
          .sort()
          .map((f) => join(p, f))
      : [p];
    for (const f of files) {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch (err) {
        throw new InputError(`${f}: ${String(err)}`);
      }
      out.push(...parseDocuments(text, f));
    }
  }
  return out;
}

/** The MetalLB resources read from a cluster (BFD profiles only to report them). */
export const METALLB_RESOURCES: ReadonlyArray<ResourceRef & { kind: string; versions: string[] }> = [
  { kind: 'IPAddressPool', plural: 'ipaddresspools', versions: ['v1beta1'] },
  { kind: 'L2Advertisement', plural: 'l2advertisements', versions: ['v1beta1'] },
  { kind: 'BGPPeer', plural: 'bgppeers', versions: ['v1beta2', 'v1beta1'] },
  { kind: 'BGPAdvertisement', plural: 'bgpadvertisements', versions: ['v1beta1'] },
  { kind: 'Community', plural: 'communities', versions: ['v1beta1'] },
  { kind: 'BFDProfile', plural: 'bfdprofiles', versions: ['v1beta1'] },
].map((r) => ({ ...r, group: METALLB_GROUP, version: r.versions[0]!, namespaced: true }));

interface DiscoveryGroup {
  versions?: Array<{ version?: string }>;
}
interface ResourceList {
  resources?: Array<{ name?: string }>;
}

export async function readCluster(client: KubeClient, namespace: string | null): Promise<unknown[]> {
  let group: DiscoveryGroup;
  try {
    group = await client.request<DiscoveryGroup>({ path: `/apis/${METALLB_GROUP}` });
  } catch (err) {
    if (isNotFound(err))
      throw new InputError(`the cluster serves no ${METALLB_GROUP} API: MetalLB's CRDs are not installed`);
    throw new InputError(`reading the cluster: ${err instanceof Error ? err.message : String(err)}`);
  }
  const served = new Map<string, Set<string>>();
  for (const v of group.versions ?? []) {
    if (!v.version) continue;
    const list = await client.request<ResourceList>({ path: `/apis/${METALLB_GROUP}/${v.version}` });
    served.set(v.version, new Set((list.resources ?? []).map((r) => r.name ?? '')));
  }
  const out: unknown[] = [];
  for (const r of METALLB_RESOURCES) {
    const version = r.versions.find((v) => served.get(v)?.has(r.plural));
    if (!version) continue;
    const ref = { ...r, version };
    const items = await client.list<Record<string, unknown>>(ref, namespace === null ? {} : { namespace });
    for (const it of items) out.push({ ...it, apiVersion: `${METALLB_GROUP}/${version}`, kind: r.kind });
  }
  return out;
}

// ------------------------------------------------------------------------------------- printing

function objectsOf(r: ConversionResult): Array<Record<string, unknown>> {
  return [...r.pools, ...r.l2Advertisements, ...r.bgpPeers, ...r.bgpAdvertisements] as unknown as Array<
    Record<string, unknown>
  >;
}

export function renderYaml(r: ConversionResult, inputCount: number): string {
  const warnings = r.findings.filter((f) => f.level === 'warning').length;
  const notes = r.findings.length - warnings;
  const objects = objectsOf(r);
  const lines = [
    `# portico migrate metallb: ${inputCount} input object${inputCount === 1 ? '' : 's'}, ${objects.length} Portico object${objects.length === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${notes} note${notes === 1 ? '' : 's'}`,
  ];
  for (const f of r.findings) lines.push(`# ${f.level}: ${formatFinding(f).replace(/\n/g, ' ')}`);
  let out = `${lines.join('\n')}\n`;
  for (const o of objects) out += `---\n${stringify(o, { lineWidth: 0 })}`;
  return out;
}

export function renderJson(r: ConversionResult): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: {}, items: objectsOf(r) }, null, 2)}\n`;
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

export async function main(args: string[], io: MigrateIO): Promise<number> {
  const parsed = parseMigrateArgs(args);
  if (!parsed.ok) {
    await write(io.stderr, `error: ${parsed.error}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    await write(io.stdout, `${USAGE}\n`);
    return 0;
  }
  const o = parsed.options;
  const input: unknown[] = [];
  let services: MigratingService[] | null = null;
  try {
    input.push(...(await readInputFiles(o.files)));
    if (o.fromCluster) {
      let client: KubeClient;
      try {
        const kubeconfig = o.kubeconfig ?? io.kubeconfig;
        client = new KubeClient(loadKubeConfig(kubeconfig ? { kubeconfig } : {}));
      } catch (err) {
        throw new InputError(err instanceof Error ? err.message : String(err));
      }
      try {
        const found = await readCluster(client, o.namespace);
        if (found.length === 0 && o.namespace !== null) {
          const elsewhere = await readCluster(client, null);
          const nss = [
            ...new Set(
              elsewhere.map((x) => (x as { metadata?: { namespace?: string } }).metadata?.namespace ?? ''),
            ),
          ];
          if (nss.length > 0)
            await write(
              io.stderr,
              `note: no MetalLB objects in namespace ${o.namespace}; found some in ${nss.sort().join(', ')} (use -n or -A)\n`,
            );
        }
        input.push(...found);
        // Pre-flight: which Services would Portico not take over as they are? (Read-only; a user
        // who may not list Services just gets no check.)
        try {
          services = await client.list<MigratingService>(Resources.services);
        } catch (err) {
          if (statusCodeOf(err) !== 403) throw err;
          await write(io.stderr, 'note: may not list Services: the Service pre-flight check is skipped\n');
        }
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(`reading the cluster: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        await client.close();
      }
    }
  } catch (err) {
    if (err instanceof InputError) {
      await write(io.stderr, `error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const result = convertMetalLB(input, { mode: 'migrate', porticoNamespace: o.porticoNamespace });
  if (services !== null) result.findings.push(...checkServices(services, result.pools, o.lbClass));
  for (const f of result.findings) await write(io.stderr, `${f.level}: ${formatFinding(f)}\n`);
  await write(
    io.stdout,
    o.output === 'json' ? renderJson(result) : renderYaml(result, flattenLists(input).length),
  );
  return 0;
}

runIfEntrypoint(import.meta.url, (argv) =>
  // Run directly: `node cli/migrate/index.ts metallb -f dir/` (cli/main.ts passes the args after `migrate`).
  main(argv, { stdout: process.stdout, stderr: process.stderr }),
);

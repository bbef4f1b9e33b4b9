// Command line of `portico`, pure: argv in, a command (or a usage error) out. Flags may come before
// or after the command, as with kubectl; everything after `migrate` belongs to migrate itself.
import { parseArgs } from 'node:util';
import { LOAD_BALANCER_CLASS } from '../lib/api/group.ts';
import type { ClassConfig } from '../lib/api/service-class.ts';
import { isOutputFormat, OUTPUT_FORMATS, type OutputFormat } from './format.ts';

export const USAGE = `portico: see what Portico did in a cluster, and why.

Usage:
  portico status [-n NAMESPACE] [-o table|json|yaml]
      Pools (used/free per family), which Service holds which VIP, which node announces each
      VIP and since when, DNS zones (records, serial), speakers and whether their Lease is live,
      and a list of problems.
  portico why SERVICE [-n NAMESPACE] [-o table|json|yaml]
      Why a Service has no IP or is not announced, from its conditions and Events (or that all is
      fine). SERVICE is NAME, NAMESPACE/NAME or svc/NAME.
  portico migrate metallb ...
      Move a MetalLB configuration to Portico (portico migrate metallb --help).

Flags (before or after the command):
  --kubeconfig FILE        kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --context NAME           kubeconfig context (default: its current-context)
  -n, --namespace NS       why: the Service's namespace (default: the context's, else default);
                           status: only Services of NS
  -o, --output FORMAT      table (default), json or yaml
  --lb-class CLASS         the loadBalancerClass Portico serves (default ${LOAD_BALANCER_CLASS})
  --handle-unclassed BOOL  whether Portico serves Services without a class (default true)
  -h, --help               this text

Exit status: 0 done (also when problems were found and reported), 1 runtime error (cluster
unreachable, Portico's CRDs not installed, Service not found), 2 usage error.
As a kubectl plugin: kubectl portico status (the executable kubectl-portico on PATH).`;

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  output: OutputFormat;
  classes: ClassConfig;
}

export type Command =
  | { kind: 'help' }
  | { kind: 'usage'; error: string }
  | { kind: 'status'; options: GlobalOptions }
  | { kind: 'why'; options: GlobalOptions; namespace?: string; name: string }
  | { kind: 'migrate'; options: GlobalOptions; args: string[] };

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  output: { type: 'string', short: 'o' },
  'lb-class': { type: 'string' },
  'handle-unclassed': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** DNS-1123 label (namespaces) / subdomain (Service names are labels too). */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function parseBool(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  return undefined;
}

export function parseCommandLine(argv: readonly string[]): Command {
  // Find the command word first (tokens know which words are flag values), so `migrate`'s own
  // flags are never parsed here.
  let tokens: ReturnType<typeof parseArgs>['tokens'];
  try {
    tokens = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: false,
      allowPositionals: true,
      tokens: true,
    }).tokens;
  } catch (err) {
    return { kind: 'usage', error: (err as Error).message };
  }
  const first = tokens.find((t) => t.kind === 'positional');
  const migrateAt = first?.kind === 'positional' && first.value === 'migrate' ? first.index : -1;
  const own = migrateAt >= 0 ? argv.slice(0, migrateAt) : [...argv];

  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: own, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    return { kind: 'usage', error: (err as Error).message };
  }
  const v = parsed.values;
  if (v.help === true) return { kind: 'help' };

  const output = (v.output as string | undefined) ?? 'table';
  if (!isOutputFormat(output))
    return { kind: 'usage', error: `-o ${output}: unknown output format; use ${OUTPUT_FORMATS.join(', ')}` };
  let handleUnclassed = true;
  if (v['handle-unclassed'] !== undefined) {
    const b = parseBool(v['handle-unclassed'] as string);
    if (b === undefined)
      return { kind: 'usage', error: `--handle-unclassed: '${v['handle-unclassed']}' is not true or false` };
    handleUnclassed = b;
  }
  const namespace = v.namespace as string | undefined;
  if (namespace !== undefined && !LABEL.test(namespace))
    return { kind: 'usage', error: `-n ${JSON.stringify(namespace)} is not a valid namespace name` };
  for (const f of ['kubeconfig', 'context', 'lb-class'] as const) {
    if (v[f] === '') return { kind: 'usage', error: `--${f} needs a value` };
  }
  const options: GlobalOptions = {
    output,
    classes: { lbClass: (v['lb-class'] as string | undefined) ?? LOAD_BALANCER_CLASS, handleUnclassed },
  };
  if (v.kubeconfig !== undefined) options.kubeconfig = v.kubeconfig as string;
  if (v.context !== undefined) options.context = v.context as string;
  if (namespace !== undefined) options.namespace = namespace;

  if (migrateAt >= 0) {
    // migrate gets its own flags; only --kubeconfig travels with it (its io.kubeconfig).
    const misplaced = (['context', 'namespace', 'output', 'lb-class', 'handle-unclassed'] as const).filter(
      (f) => v[f] !== undefined,
    );
    if (misplaced.length > 0)
      return {
        kind: 'usage',
        error: `put ${misplaced.map((f) => `--${f}`).join(', ')} after "migrate ..." (migrate parses its own flags)`,
      };
    return { kind: 'migrate', options, args: argv.slice(migrateAt + 1) };
  }

  const [cmd, ...rest] = parsed.positionals;
  if (cmd === undefined) return { kind: 'usage', error: 'no command given' };
  if (cmd === 'help') return { kind: 'help' };
  if (cmd === 'status') {
    if (rest.length > 0) return { kind: 'usage', error: `status takes no arguments (got ${rest.join(' ')})` };
    return { kind: 'status', options };
  }
  if (cmd === 'why') {
    if (rest.length !== 1)
      return {
        kind: 'usage',
        error: `why takes exactly one SERVICE (got ${rest.length === 0 ? 'none' : rest.join(' ')})`,
      };
    return parseServiceRef(rest[0]!, options);
  }
  return { kind: 'usage', error: `unknown command ${JSON.stringify(cmd)}` };
}

/** NAME, NAMESPACE/NAME, svc/NAME, service/NAME or services/NAME (kubectl habits). */
function parseServiceRef(ref: string, options: GlobalOptions): Command {
  let s = ref;
  const kind = /^(svc|service|services)\//.exec(s);
  if (kind) s = s.slice(kind[0].length);
  const parts = s.split('/');
  if (parts.length > 2) return { kind: 'usage', error: `${JSON.stringify(ref)}: use NAME or NAMESPACE/NAME` };
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const ns = parts.length === 2 ? parts[0]! : undefined;
  if (!LABEL.test(name))
    return { kind: 'usage', error: `${JSON.stringify(name)} is not a valid Service name` };
  if (ns !== undefined) {
    if (!LABEL.test(ns))
      return { kind: 'usage', error: `${JSON.stringify(ns)} is not a valid namespace name` };
    if (options.namespace !== undefined && options.namespace !== ns)
      return { kind: 'usage', error: `${ref} names namespace ${ns} but -n says ${options.namespace}` };
  }
  const namespace = ns ?? options.namespace;
  return namespace === undefined ? { kind: 'why', options, name } : { kind: 'why', options, namespace, name };
}

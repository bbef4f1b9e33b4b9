// Command-line flags of controllers/main.ts. Pure (argv + env in, options out) so it is unit-tested.
import { parseArgs } from 'node:util';
import { LOAD_BALANCER_CLASS } from '../lib/api/group.ts';
import { DEFAULT_LEASE_NAME, type StartControllerOptions } from './controller.ts';

export const USAGE = `usage: node controllers/main.ts [flags]

  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --lease-namespace NS       namespace of the leader Lease (default: $POD_NAMESPACE or portico-system)
  --lease-name NAME          name of the leader Lease (default: ${DEFAULT_LEASE_NAME})
  --lease-duration SECONDS   how long a Lease is honoured without renewal (default 15)
  --renew-deadline SECONDS   leader steps down after failing to renew this long (default 10)
  --retry-period SECONDS     Lease poll/renew period (default 2)
  --lb-class CLASS           spec.loadBalancerClass to serve (default: ${LOAD_BALANCER_CLASS})
  --handle-unclassed BOOL    also serve LoadBalancer Services without a class (default true)
  --leader-elect BOOL        elect a leader through the Lease (default true; false = single replica)
  --metrics-address ADDR     host:port for /metrics /healthz /readyz (default :8080; "" = off)
  --log-level LEVEL          trace|debug|info|warn|error (default info)
  --reclaim-out-of-pool      give Services whose IP left every pool a new address (default off)
  --concurrency N            parallel Service reconciles (default 16)
  --identity ID              Lease holder identity (default: $POD_NAME, else the host name)
  --metallb-compat           mirror metallb.io IPAddressPools, L2Advertisements, BGPPeers and
                             BGPAdvertisements into Portico objects while MetalLB's CRDs are
                             installed (default off)
  --metallb-namespace NS     namespace of MetalLB's objects (default metallb-system; "" = all)
  -h, --help`;

export type ParsedFlags =
  | { ok: true; help: boolean; options: StartControllerOptions }
  | { ok: false; error: string };

function parseBool(name: string, v: string | boolean | undefined, dflt: boolean): boolean | string {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  return `--${name}: expected true or false, got ${JSON.stringify(v)}`;
}

function parseSeconds(name: string, v: string | undefined): number | undefined | string {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    return `--${name}: expected a positive number of seconds, got ${JSON.stringify(v)}`;
  return Math.round(n * 1000);
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = {}): ParsedFlags {
  // Accept `--handle-unclassed=false` and `--leader-elect false` alike: booleans are strings here.
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: 'string' },
        'lease-namespace': { type: 'string' },
        'lease-name': { type: 'string' },
        'lease-duration': { type: 'string' },
        'renew-deadline': { type: 'string' },
        'retry-period': { type: 'string' },
        'lb-class': { type: 'string' },
        'handle-unclassed': { type: 'string' },
        'leader-elect': { type: 'string' },
        'metrics-address': { type: 'string' },
        'log-level': { type: 'string' },
        'reclaim-out-of-pool': { type: 'boolean' },
        concurrency: { type: 'string' },
        identity: { type: 'string' },
        'metallb-compat': { type: 'boolean' },
        'metallb-namespace': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const str = (k: string) => values[k] as string | undefined;
  const options: StartControllerOptions = {};
  if (str('kubeconfig')) options.kubeconfig = str('kubeconfig') as string;
  options.leaseNamespace = str('lease-namespace') || env.POD_NAMESPACE?.trim() || 'portico-system';
  options.leaseName = str('lease-name') || DEFAULT_LEASE_NAME;
  for (const [flag, key] of [
    ['lease-duration', 'leaseDurationMs'],
    ['renew-deadline', 'renewDeadlineMs'],
    ['retry-period', 'retryPeriodMs'],
  ] as const) {
    const ms = parseSeconds(flag, str(flag));
    if (typeof ms === 'string') return { ok: false, error: ms };
    if (ms !== undefined) options[key] = ms;
  }
  const cls = str('lb-class');
  if (cls !== undefined) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(cls)) {
      return {
        ok: false,
        error: `--lb-class: ${JSON.stringify(cls)} is not a label-style name like portico.dev/lb`,
      };
    }
    options.lbClass = cls;
  }
  const unclassed = parseBool('handle-unclassed', values['handle-unclassed'], true);
  if (typeof unclassed === 'string') return { ok: false, error: unclassed };
  options.handleUnclassed = unclassed;
  const elect = parseBool('leader-elect', values['leader-elect'], true);
  if (typeof elect === 'string') return { ok: false, error: elect };
  options.leaderElect = elect;
  const addr = str('metrics-address');
  options.metricsAddress = addr === undefined ? ':8080' : addr;
  const level = str('log-level') ?? 'info';
  if (!LEVELS.includes(level)) return { ok: false, error: `--log-level: one of ${LEVELS.join(', ')}` };
  options.logLevel = level;
  options.reclaimOutOfPool = values['reclaim-out-of-pool'] === true;
  const conc = str('concurrency');
  if (conc !== undefined) {
    const n = Number(conc);
    if (!Number.isInteger(n) || n < 1 || n > 256)
      return { ok: false, error: '--concurrency: an integer 1..256' };
    options.concurrency = n;
  }
  options.metallbCompat = values['metallb-compat'] === true;
  const mns = str('metallb-namespace');
  if (mns !== undefined) {
    if (mns !== '' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(mns))
      return { ok: false, error: `--metallb-namespace: ${JSON.stringify(mns)} is not a namespace name` };
    options.metallbNamespace = mns === '' ? null : mns;
  }
  if (str('identity')) options.identity = str('identity') as string;
  else if (env.POD_NAME?.trim()) options.identity = env.POD_NAME.trim();
  return { ok: true, help: values.help === true, options };
}

// Command-line flags of speaker/main.ts. Pure (argv + env in, options or an error out), so every
// rule here is unit-tested without starting anything. The Helm chart (templates/speaker.yaml)
// passes these exact names; renaming one breaks installed charts.
import { isIP } from 'node:net';
import { LOAD_BALANCER_CLASS } from '../lib/api/group.ts';
import {
  FlagError,
  OBSERVE_FLAGS,
  parseFlags as parseArgv,
  parseBoolean,
  parseDuration,
  parseInteger,
  parseListenAddress,
} from '../lib/observe/flags.ts';
import { parseLogLevel } from '../lib/observe/log.ts';
import type { PartitionPolicy } from './election/partition.ts';

export const DEFAULT_NAMESPACE = 'portico-system';
export const DEFAULT_METRICS_ADDRESS = ':7473';

export const USAGE = `usage: node speaker/main.ts --key-file PATH [flags]

  --kubeconfig PATH            kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --node-name NAME             this node (default: $NODE_NAME; required)
  --namespace NS               where the speaker Leases live (default: $POD_NAMESPACE or ${DEFAULT_NAMESPACE})
  --lb-class CLASS             spec.loadBalancerClass served (default: ${LOAD_BALANCER_CLASS})
  --handle-unclassed BOOL      also serve LoadBalancer Services without a class (default true)
  --key-file PATH              heartbeat HMAC key (the mounted Secret); required, ≥ 16 bytes
  --heartbeat-port PORT        UDP port of peer heartbeats (default 7472)
  --heartbeat-interval DUR     time between heartbeats (default 100ms)
  --missed-beats N             a peer is dead after N missed beats (default 3)
  --heartbeat-address IP       address peers send heartbeats to (default: the Node's InternalIP
                               of the first family found; $NODE_IP if set)
  --garp-refresh DUR           periodic gratuitous ARP / unsolicited NA after takeover (default 60s; 0 = off)
  --garp-burst LIST            takeover burst offsets (default 0,100ms,500ms,1s,2s)
  --partition-policy P         hold | announce-all: what a speaker in a minority partition does
                               (default hold, see docs/decisions/051)
  --ignore-exclude-label       announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers
  --bgp                        BGP mode: open sessions to BGPPeers and advertise per BGPAdvertisements
                               (needs the chart's BGP RBAC: speaker.bgp.enabled)
  --peer-lease-duration DUR    lifetime of this speaker's discovery Lease (default 60s; renewed every third)
  --metrics-address ADDR       host:port for /metrics /healthz /readyz (default ${DEFAULT_METRICS_ADDRESS}; "" = off)
  --log-level LEVEL            trace|debug|info|warn|error (default info)
  -h, --help`;

export interface SpeakerOptions {
  kubeconfig: string | undefined;
  nodeName: string;
  namespace: string;
  lbClass: string;
  handleUnclassed: boolean;
  keyFile: string;
  heartbeatPort: number;
  heartbeatIntervalMs: number;
  missedBeats: number;
  heartbeatAddress: string | undefined;
  garpRefreshMs: number;
  garpBurstMs: number[];
  partitionPolicy: PartitionPolicy;
  ignoreExcludeLabel: boolean;
  /** BGP mode on (--bgp; chart value speaker.bgp.enabled). */
  bgp: boolean;
  peerLeaseDurationMs: number;
  /** '' = no observe server. */
  metricsAddress: string;
  logLevel: string;
}

export type ParsedFlags =
  | { ok: true; help: true }
  | { ok: true; help: false; options: SpeakerOptions }
  | { ok: false; error: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LB_CLASS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function burstList(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new FlagError(`--garp-burst: '${text}' is not a comma-separated list of durations`);
  }
  const out = parts.map((p) => parseDuration(p, 'garp-burst'));
  for (let i = 1; i < out.length; i++) {
    if (out[i]! <= out[i - 1]!) throw new FlagError('--garp-burst: offsets must be strictly ascending');
  }
  return out;
}

export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = {}): ParsedFlags {
  try {
    const v = parseArgv(argv, {
      ...OBSERVE_FLAGS,
      kubeconfig: { type: 'string' },
      'node-name': { type: 'string' },
      namespace: { type: 'string' },
      'lb-class': { type: 'string' },
      'handle-unclassed': { type: 'string' },
      'key-file': { type: 'string' },
      'heartbeat-port': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'missed-beats': { type: 'string' },
      'heartbeat-address': { type: 'string' },
      'garp-refresh': { type: 'string' },
      'garp-burst': { type: 'string' },
      'partition-policy': { type: 'string' },
      'ignore-exclude-label': { type: 'boolean' },
      bgp: { type: 'boolean' },
      'peer-lease-duration': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) return { ok: true, help: true };

    const nodeName = (v['node-name'] ?? env.NODE_NAME ?? '').trim();
    if (!nodeName)
      throw new FlagError('--node-name is required (or set $NODE_NAME, e.g. from spec.nodeName)');
    if (nodeName.length > 253 || !NODE_NAME.test(nodeName)) {
      throw new FlagError(`--node-name: '${nodeName}' is not a valid node name`);
    }
    const namespace = (v.namespace ?? env.POD_NAMESPACE ?? '').trim() || DEFAULT_NAMESPACE;
    if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
      throw new FlagError(`--namespace: '${namespace}' is not a valid namespace name`);
    }
    const lbClass = v['lb-class'] ?? LOAD_BALANCER_CLASS;
    if (!LB_CLASS.test(lbClass)) {
      throw new FlagError(`--lb-class: '${lbClass}' is not a label-style name like ${LOAD_BALANCER_CLASS}`);
    }
    const handleUnclassed =
      v['handle-unclassed'] === undefined ? true : parseBoolean(v['handle-unclassed'], 'handle-unclassed');
    const keyFile = v['key-file']?.trim();
    if (!keyFile) {
      throw new FlagError(
        '--key-file is required: the heartbeat HMAC key (mounted Secret); the speaker refuses to run unauthenticated',
      );
    }
    const heartbeatPort = parseInteger(v['heartbeat-port'] ?? '7472', 'heartbeat-port', 1, 65535);
    const heartbeatIntervalMs = parseDuration(v['heartbeat-interval'] ?? '100ms', 'heartbeat-interval');
    if (heartbeatIntervalMs < 10 || heartbeatIntervalMs > 60_000) {
      throw new FlagError('--heartbeat-interval: between 10ms and 60s');
    }
    const missedBeats = parseInteger(v['missed-beats'] ?? '3', 'missed-beats', 1, 100);
    let heartbeatAddress = (v['heartbeat-address'] ?? env.NODE_IP ?? '').trim() || undefined;
    if (heartbeatAddress !== undefined && isIP(heartbeatAddress) === 0) {
      throw new FlagError(`--heartbeat-address: '${heartbeatAddress}' is not an IP address`);
    }
    if (heartbeatAddress?.includes(':')) heartbeatAddress = heartbeatAddress.toLowerCase();
    const garpRefreshMs = parseDuration(v['garp-refresh'] ?? '60s', 'garp-refresh');
    if (garpRefreshMs !== 0 && garpRefreshMs < 1000) {
      throw new FlagError('--garp-refresh: 0 (off) or at least 1s (faster would flood the segment)');
    }
    const garpBurstMs = burstList(v['garp-burst'] ?? '0,100ms,500ms,1s,2s');
    const policy = v['partition-policy'] ?? 'hold';
    if (policy !== 'hold' && policy !== 'announce-all') {
      throw new FlagError(`--partition-policy: '${policy}' is not hold or announce-all`);
    }
    const peerLeaseDurationMs = parseDuration(v['peer-lease-duration'] ?? '60s', 'peer-lease-duration');
    if (peerLeaseDurationMs < 3000 || peerLeaseDurationMs > 3_600_000) {
      throw new FlagError('--peer-lease-duration: between 3s and 1h');
    }
    const metricsAddress = v['metrics-address'] ?? DEFAULT_METRICS_ADDRESS;
    if (metricsAddress.trim() !== '') parseListenAddress(metricsAddress, 'metrics-address');
    const logLevel = parseLogLevel(v['log-level'] ?? 'info');
    return {
      ok: true,
      help: false,
      options: {
        kubeconfig: v.kubeconfig?.trim() || undefined,
        nodeName,
        namespace,
        lbClass,
        handleUnclassed,
        keyFile,
        heartbeatPort,
        heartbeatIntervalMs,
        missedBeats,
        heartbeatAddress,
        garpRefreshMs,
        garpBurstMs,
        partitionPolicy: policy,
        ignoreExcludeLabel: v['ignore-exclude-label'] === true,
        bgp: v.bgp === true,
        peerLeaseDurationMs,
        metricsAddress: metricsAddress.trim(),
        logLevel,
      },
    };
  } catch (err) {
    if (err instanceof FlagError) return { ok: false, error: err.message };
    throw err;
  }
}

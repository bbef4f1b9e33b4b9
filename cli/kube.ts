// The CLI's only I/O with the cluster: list what the pure cores need, turn API failures into one
// clear sentence. Reads only (get/list), nothing is ever written.
import type { ServiceObject } from '../controllers/service-state.ts';
import { GROUP, PLURALS, VERSION } from '../lib/api/group.ts';
import type {
  BGPAdvertisement,
  BGPPeer,
  BGPSessionState,
  DNSZone,
  IPAddressPool,
  L2Advertisement,
} from '../lib/api/types.ts';
import {
  KubeApiError,
  KubeClient,
  type LoadedKubeConfig,
  loadKubeConfig,
  type ResourceRef,
  Resources,
  statusCodeOf,
} from '../lib/kube/index.ts';
import type { LeaseLike } from '../speaker/kube/peers.ts';
import { SPEAKER_LEASE_LABEL } from '../speaker/kube/peers.ts';
import type { StatusInput } from './status/report.ts';
import { CONTROLLER_LEASE, type EventLike, type NodeLike } from './status/report.ts';
import type { EndpointSliceLike, WhyInput } from './why/diagnose.ts';

/** A failure to print as is (one sentence, no stack) before exiting 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

const crd = (kind: keyof typeof PLURALS): ResourceRef => ({
  group: GROUP,
  version: VERSION,
  plural: PLURALS[kind],
  namespaced: false,
  kind,
});
const POOLS = crd('IPAddressPool');
const L2ADS = crd('L2Advertisement');
const ZONES = crd('DNSZone');
const BGP_PEERS = crd('BGPPeer');
const BGP_ADS = crd('BGPAdvertisement');
const BGP_SESSIONS = crd('BGPSessionState');

export interface Connection {
  client: KubeClient;
  /** The current context's namespace, if it names one. */
  contextNamespace: string | undefined;
}

const PLUGIN_USER = /uses an (exec credential|auth-provider) plugin/;

export async function connect(opts: {
  kubeconfig?: string;
  context?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<Connection> {
  // Short per-request deadline: a person is waiting; an apiserver that answers nothing in 15 s is down.
  const clientOptions = { defaultTimeoutMs: 15_000 };
  let kc: LoadedKubeConfig;
  try {
    kc = loadKubeConfig({
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context ? { context: opts.context } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
  } catch (err) {
    const message = (err as Error).message;
    if (!PLUGIN_USER.test(message)) throw new CliError(message);
    // Cloud and SSO kubeconfigs get their tokens from exec plugins (aws, gke-gcloud-auth-plugin,
    // kubelogin). lib/kube refuses them to keep the long-running components small; a CLI that runs
    // for a second can afford client-node (~90 MB), which runs the plugin, and KubeClient asks it
    // for the Authorization header on every request.
    const { KubeConfig } = await import('@kubernetes/client-node');
    const full = new KubeConfig();
    try {
      if (opts.kubeconfig) full.loadFromFile(opts.kubeconfig);
      else full.loadFromDefault();
      if (opts.context) full.setCurrentContext(opts.context);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    return {
      client: new KubeClient(full, clientOptions),
      contextNamespace: full.getContextObject(full.getCurrentContext())?.namespace,
    };
  }
  return {
    client: new KubeClient(kc, clientOptions),
    contextNamespace: kc.getContextObject(kc.currentContext)?.namespace,
  };
}

/** One sentence for an API failure, naming the server and what to check. */
export function explainError(err: unknown, server: string): string {
  if (err instanceof CliError) return err.message;
  const code = statusCodeOf(err);
  const e = err as KubeApiError;
  if (err instanceof KubeApiError && code === 0) {
    // The socket error itself ("connect ECONNREFUSED 127.0.0.1:6443") says the most in the fewest words.
    const cause = (e as { cause?: { message?: string } }).cause;
    const detail = cause?.message ?? (e.message.split(': transport: ')[1] ?? e.message).trim();
    return `cannot reach the Kubernetes API at ${server} (${detail}); check --kubeconfig / --context / KUBECONFIG and that the cluster is running`;
  }
  if (code === 401)
    return `the Kubernetes API at ${server} rejected the credentials (401 Unauthorized): the token or client certificate in the kubeconfig is not valid there`;
  if (code === 403) return `forbidden: ${e.status?.message ?? e.message}`;
  if (code === 404 && e.path?.startsWith(`/apis/${GROUP}/`))
    return `Portico's CRDs are not installed in the cluster at ${server} (${e.path.split('/').pop()}.${GROUP} not found): install the chart first, e.g. helm install portico charts/portico -n portico-system --create-namespace`;
  return err instanceof Error ? err.message : String(err);
}

/** A list that may fail without failing the command: its absence becomes a note. */
async function optional<T>(what: string, notes: string[], p: Promise<T[]>): Promise<T[] | undefined> {
  try {
    return await p;
  } catch (err) {
    const code = statusCodeOf(err);
    // Unreachable / unauthorized is a whole-command failure, not a note.
    if (code === 0 || code === 401) throw err;
    notes.push(
      `${what} could not be read (${code === 403 ? 'forbidden' : code === 404 ? 'API not found' : (err as Error).message}); that part of the report is missing`,
    );
    return undefined;
  }
}

/** BGP mode's three lists; each undefined when it cannot be read (CRDs older than BGP mode, RBAC). */
async function bgpLists(
  client: KubeClient,
  notes: string[],
): Promise<{
  bgpPeers: BGPPeer[] | undefined;
  bgpAdvertisements: BGPAdvertisement[] | undefined;
  bgpSessions: BGPSessionState[] | undefined;
}> {
  // One note for the three: a cluster whose CRDs predate BGP mode misses all of them.
  const mine: string[] = [];
  const [bgpPeers, bgpAdvertisements, bgpSessions] = await Promise.all([
    optional('BGPPeers', mine, client.list<BGPPeer>(BGP_PEERS)),
    optional('BGPAdvertisements', mine, client.list<BGPAdvertisement>(BGP_ADS)),
    optional('BGPSessionStates', mine, client.list<BGPSessionState>(BGP_SESSIONS)),
  ]);
  if (mine.length > 0)
    notes.push(
      `${mine.map((n) => n.replace(/; that part of the report is missing$/, '')).join(', ')}; the BGP part of the report is missing (CRDs from a chart older than BGP mode?)`,
    );
  return { bgpPeers, bgpAdvertisements, bgpSessions };
}

async function speakerAndControllerLeases(
  client: KubeClient,
  notes: string[],
): Promise<{ speakers: LeaseLike[]; controllers: LeaseLike[] }> {
  const [speakers, controllers] = await Promise.all([
    optional(
      'speaker Leases',
      notes,
      client.list<LeaseLike>(Resources.leases, { labelSelector: `${SPEAKER_LEASE_LABEL}=true` }),
    ),
    optional(
      'the controller Lease',
      notes,
      client.list<LeaseLike>(Resources.leases, { fieldSelector: `metadata.name=${CONTROLLER_LEASE}` }),
    ),
  ]);
  return { speakers: speakers ?? [], controllers: controllers ?? [] };
}

export async function fetchStatusInput(
  client: KubeClient,
  base: Pick<StatusInput, 'now' | 'classes' | 'namespace'>,
): Promise<StatusInput & { notes: string[] }> {
  const notes: string[] = [];
  // Pools first and alone: a 404 here means the CRDs are missing, and says so before anything else.
  const pools = await client.list<IPAddressPool>(POOLS);
  const [services, zones, leases, nodes, events, bgp] = await Promise.all([
    client.list<ServiceObject>(Resources.services, base.namespace ? { namespace: base.namespace } : {}),
    optional('DNSZones', notes, client.list<DNSZone>(ZONES)),
    speakerAndControllerLeases(client, notes),
    optional('Nodes', notes, client.list<NodeLike>(Resources.nodes)),
    // Only to date owner moves (see report.ts): a failure costs precision, nothing else.
    optional(
      'OwnerChanged Events',
      notes,
      client.list<EventLike>(Resources.events, { fieldSelector: 'reason=OwnerChanged' }),
    ),
    bgpLists(client, notes),
  ]);
  return {
    ...base,
    pools,
    services,
    zones,
    ...bgp,
    speakerLeases: leases.speakers,
    controllerLeases: leases.controllers,
    nodes: nodes ?? [],
    events: events ?? [],
    notes,
  };
}

export async function fetchWhyInput(
  client: KubeClient,
  base: Pick<WhyInput, 'now' | 'classes'>,
  namespace: string,
  name: string,
): Promise<WhyInput & { notes: string[] }> {
  const notes: string[] = [];
  const service = await client.getOrUndefined<ServiceObject>(Resources.services, namespace, name);
  if (!service) throw new CliError(`Service ${namespace}/${name} not found`);
  const [pools, l2, leases, events, slices, nodes, bgp] = await Promise.all([
    client.list<IPAddressPool>(POOLS),
    optional('L2Advertisements', notes, client.list<L2Advertisement>(L2ADS)),
    speakerAndControllerLeases(client, notes),
    optional(
      'Events',
      notes,
      client.list<EventLike>(Resources.events, {
        namespace,
        fieldSelector: `regarding.name=${name},regarding.kind=Service`,
      }),
    ),
    optional(
      'EndpointSlices',
      notes,
      client.list<EndpointSliceLike>(Resources.endpointslices, {
        namespace,
        labelSelector: `kubernetes.io/service-name=${name}`,
      }),
    ),
    // For the BGPAdvertisements' nodeSelectors.
    optional('Nodes', notes, client.list<NodeLike>(Resources.nodes)),
    bgpLists(client, notes),
  ]);
  return {
    ...base,
    service,
    pools,
    l2Advertisements: l2 ?? [],
    speakerLeases: leases.speakers,
    controllerLeases: leases.controllers,
    events: events ?? [],
    endpointSlices: slices ?? [],
    nodes: nodes ?? [],
    ...bgp,
    notes,
  };
}

// The REAL speaker (`node speaker/main.ts --bgp`) on the BGP test bed, for test/e2e/bgp/speaker.test.ts
// and the bgp bench. It composes topology.ts (router namespace, node namespaces, client behind
// the router, servers on :8080) and adds what test/e2e/l2/topology.ts does for L2:
//
//   root namespace ── veth ptr<id> (203.0.113.250/32: the envtest kube-apiserver + IPAM controller)
//         │            host routes to the nodes' API sources 203.0.113.241.. only
//   switch namespace br0 ─┬─ router rt (192.0.2.1)      ── client cl
//                         ├─ n1 / n2 / n3 (192.0.2.11..13, `node speaker/main.ts --bgp`)
//                         └─ extra hosts (addHost: a second router, a GoBGP speaker)
//
// The speakers run as a ServiceAccount bound to exactly the chart's rules (speaker/rbac.ts: the
// base rules plus SPEAKER_BGP_CLUSTER_RULES / SPEAKER_BGP_NAMESPACE_RULES). The Nodes carry their
// InternalIPs (v4 and v6): the router ID and the IPv6 next hop come from there. All addresses are
// documentation ranges; the root namespace only gets the one veth and its /32 routes (removed with
// it by destroy(), or by Segment.reapStale() after a killed run).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RunningController, startController } from '../../../controllers/index.ts';
import { KubeClient } from '../../../lib/kube/index.ts';
import {
  SPEAKER_BGP_CLUSTER_RULES,
  SPEAKER_BGP_NAMESPACE_RULES,
  SPEAKER_CLUSTER_ROLE_RULES,
  SPEAKER_NAMESPACE_RULES,
} from '../../../speaker/rbac.ts';
import { type ControlPlane, REPO_ROOT, startControlPlane } from '../../envtest/index.ts';
import { JsonLines, Segment } from '../../speaker/support/netns.ts';
import { bindRules } from '../../support/rbac.ts';
import { kernelNextHops } from './routers.ts';
import { BgpTopology, ROUTER_V4, ROUTER_V6, TCP_PORT } from './topology.ts';

const execFileAsync = promisify(execFile);

export const SPEAKER_MAIN = join(REPO_ROOT, 'speaker', 'main.ts');
export const SPEAKER_NS = 'portico-system';
/** The kube-apiserver's address on the bridge (root namespace side of the API veth). */
export const API_IP = '203.0.113.250';
/** Node i's source address towards the API (on its `lo`; VIPs of the runs stay below .240). */
export const apiSource = (i: number) => `203.0.113.${241 + i}`;
const API = '/apis/portico.dev/v1alpha1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SpeakerTopologyOptions {
  /** Short label for namespace names (≤ 6 chars). */
  label: string;
  nodes?: number;
  /** Every VIP the run may use: on each node's `lo` (the servers answer on them). */
  vips: string[];
  /** Extra flags for every speaker (besides --bgp and the wiring). */
  speakerArgs?: string[];
  /** Run the IPAM controller in-process (default true). */
  controller?: boolean;
  /** The speaker entry point: speaker/main.ts (default) or the compiled dist/speaker/main.js. */
  speakerEntry?: string;
  log?: (msg: string) => void;
}

export interface SessionStateView {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: {
    node?: string;
    peer?: string;
    state?: string;
    lastError?: string;
    prefixesSent?: number;
    peerAddress?: string;
  };
}

/** Argument list of one speaker (pure; exported for the unit test). */
export function speakerArgv(o: {
  entry: string;
  kubeconfig: string;
  node: string;
  ip: string;
  keyFile: string;
  extra?: string[];
}): string[] {
  return [
    process.execPath,
    o.entry,
    `--kubeconfig=${o.kubeconfig}`,
    `--node-name=${o.node}`,
    `--namespace=${SPEAKER_NS}`,
    `--key-file=${o.keyFile}`,
    `--heartbeat-address=${o.ip}`,
    '--metrics-address=',
    '--bgp',
    ...(o.extra ?? []),
  ];
}

/** A Service's body as the e2e and the bench create it (pure; exported for the unit test). */
export function serviceBody(
  ns: string,
  name: string,
  o: { ip?: string; etp?: 'Local' | 'Cluster'; cls?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: ns,
      annotations: o.ip ? { 'portico.dev/load-balancer-ips': o.ip } : {},
    },
    spec: {
      type: 'LoadBalancer',
      ports: [{ port: TCP_PORT, protocol: 'TCP' }],
      selector: { app: name },
      ...(o.etp ? { externalTrafficPolicy: o.etp } : {}),
      ...(o.cls ? { loadBalancerClass: o.cls } : {}),
    },
  };
}

export class BgpSpeakerTopology {
  readonly bgp: BgpTopology;
  readonly opts: SpeakerTopologyOptions;
  cp: ControlPlane | undefined;
  admin: KubeClient | undefined;
  controller: RunningController | undefined;
  speakerKubeconfig = '';
  readonly dir = mkdtempSync(join(tmpdir(), 'portico-bgps-'));
  readonly keyFile = join(this.dir, 'key');
  readonly procs: Array<ChildProcess | undefined> = [];
  readonly lines: Array<JsonLines | undefined> = [];
  private rootVeth = '';
  private readonly namespaces = new Set<string>();

  constructor(opts: SpeakerTopologyOptions) {
    this.opts = opts;
    this.bgp = new BgpTopology({
      label: opts.label,
      vips: opts.vips,
      ...(opts.nodes ? { nodes: opts.nodes } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
  }

  get nodes() {
    return this.bgp.nodes;
  }
  get seg() {
    return this.bgp.seg;
  }

  /** Builds everything; on failure tears down what was built and rethrows. */
  async create(): Promise<void> {
    try {
      await this.build();
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  private async build(): Promise<void> {
    writeFileSync(this.keyFile, 'portico e2e heartbeat key, 32+ bytes long\n', { mode: 0o600 });
    reapSpeakers(`/tmp/portico-bgp-${this.opts.label}`);
    await this.bgp.create();
    const seg = this.bgp.seg;
    // The API link (Segment.reapStale() removes a leftover of a killed run).
    this.rootVeth = seg.addRootLink(`${API_IP}/32`);
    // The host's own uplink may sit in 192.0.2.0/24 (it does on CI machines using documentation
    // ranges), so the root namespace gets nothing there: the API link has its own addresses, a /32
    // per node on the node's `lo`, reached on-link over the bridge, and host routes back.
    this.bgp.nodes.forEach((n, i) => {
      const src = apiSource(i);
      seg.exec(n.ns, ['ip', 'addr', 'add', `${src}/32`, 'dev', 'lo']);
      seg.exec(n.ns, ['ip', 'route', 'add', `${API_IP}/32`, 'dev', 'eth0', 'src', src]);
      Segment.run(['ip', 'route', 'add', `${src}/32`, 'dev', this.rootVeth, 'src', API_IP]);
    });
    const t0 = Date.now();
    this.cp = await startControlPlane({ bindAddress: API_IP });
    this.log(`control plane on ${this.cp.server} in ${Date.now() - t0} ms`);
    this.admin = new KubeClient(this.cp.kubeConfig());
    for (const node of this.bgp.nodes) {
      await this.admin.request({
        method: 'POST',
        path: '/api/v1/nodes',
        body: {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name } },
        },
      });
      await this.admin.request({
        method: 'PATCH',
        path: `/api/v1/nodes/${node.name}/status`,
        contentType: 'application/merge-patch+json',
        body: {
          status: {
            addresses: [
              { type: 'InternalIP', address: node.ip },
              { type: 'InternalIP', address: node.ip6 },
            ],
          },
        },
      });
    }
    this.speakerKubeconfig = await this.cp.serviceAccountKubeconfig(SPEAKER_NS, 'portico-speaker');
    await this.bind('portico-speaker', SPEAKER_CLUSTER_ROLE_RULES, SPEAKER_NAMESPACE_RULES);
    await this.bind('portico-speaker-bgp', SPEAKER_BGP_CLUSTER_RULES, SPEAKER_BGP_NAMESPACE_RULES);
    if (this.opts.controller ?? true) {
      this.controller = await startController({
        kubeConfig: this.cp.kubeConfig(),
        leaderElect: false,
        metricsAddress: '',
        logLevel: 'warn',
      });
    }
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  /** A ClusterRole + Role with the chart's rules, bound to the speaker's ServiceAccount. */
  private async bind(
    name: string,
    clusterRules: typeof SPEAKER_CLUSTER_ROLE_RULES,
    nsRules: typeof SPEAKER_NAMESPACE_RULES,
  ): Promise<void> {
    await bindRules(this.admin!, {
      name,
      namespace: SPEAKER_NS,
      serviceAccount: 'portico-speaker',
      clusterRules,
      namespaceRules: nsRules,
    });
  }

  // --- speakers ------------------------------------------------------------------------------------

  /** Starts the real speaker in node i; resolves once it logged "speaker started". */
  async startSpeaker(i: number, extra: string[] = []): Promise<ChildProcess> {
    const node = this.bgp.nodes[i]!;
    if (this.running(i)) throw new Error(`speaker ${node.name} is already running`);
    const proc = this.bgp.seg.spawnRaw(
      node.ns,
      speakerArgv({
        entry: this.opts.speakerEntry ?? SPEAKER_MAIN,
        kubeconfig: this.speakerKubeconfig,
        node: node.name,
        ip: node.ip,
        keyFile: this.keyFile,
        extra: [...(this.opts.speakerArgs ?? []), ...extra],
      }),
    );
    if (proc.pid) writeFileSync(join(this.bgp.dir, `speaker-${node.name}-${proc.pid}.pid`), String(proc.pid));
    this.procs[i] = proc;
    const lines = new JsonLines(proc);
    this.lines[i] = lines;
    await lines.waitFor((l) => l.msg === 'speaker started', 30_000);
    return proc;
  }

  running(i: number): boolean {
    const p = this.procs[i];
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** Sends `signal`; resolves when the process exited. */
  async stopSpeaker(
    i: number,
    signal: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: string | null }> {
    const p = this.procs[i];
    if (!p || !this.running(i)) return { code: p?.exitCode ?? null, signal: p?.signalCode ?? null };
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      p.once('exit', (code, sig) => r({ code, signal: sig })),
    );
    p.kill(signal);
    return exited;
  }

  /** Resident set size (MB) of speaker i, from /proc. */
  rssMb(i: number): number {
    return rssMbOf(this.procs[i]?.pid);
  }

  /**
   * Takes node i off the wire (eth0 down): a process killed then cannot send its FIN, so the
   * router only learns by hold-time expiry, as with a dead node.
   */
  linkDown(i: number): void {
    this.bgp.seg.exec(this.bgp.nodes[i]!.ns, ['ip', 'link', 'set', 'eth0', 'down']);
  }

  /** Brings node i back: link up, and the IPv6 address and routes (API, defaults) that link down took. */
  async linkUp(i: number): Promise<void> {
    const n = this.bgp.nodes[i]!;
    const seg = this.bgp.seg;
    seg.exec(n.ns, ['ip', 'link', 'set', 'eth0', 'up']);
    seg.exec(n.ns, ['ip', '-6', 'addr', 'replace', `${n.ip6}/64`, 'dev', 'eth0', 'nodad']);
    for (let k = 0; ; k++) {
      try {
        seg.exec(n.ns, ['ip', 'route', 'replace', `${API_IP}/32`, 'dev', 'eth0', 'src', apiSource(i)]);
        seg.exec(n.ns, ['ip', 'route', 'replace', 'default', 'via', ROUTER_V4]);
        seg.exec(n.ns, ['ip', '-6', 'route', 'replace', 'default', 'via', ROUTER_V6]);
        return;
      } catch (err) {
        if (k > 100) throw err;
        await sleep(20);
      }
    }
  }

  // --- Kubernetes objects --------------------------------------------------------------------------

  async apply(path: string, body: Record<string, unknown>, fieldManager = 'e2e'): Promise<unknown> {
    return this.admin!.request({
      method: 'PATCH',
      path,
      query: { fieldManager, force: true },
      contentType: 'application/apply-patch+yaml',
      body,
    });
  }

  async pool(name: string, addresses: string[], autoAssign = true): Promise<void> {
    await this.apply(`${API}/ipaddresspools/${name}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name },
      spec: { addresses, autoAssign },
    });
  }

  async bgpPeer(name: string, spec: Record<string, unknown>): Promise<void> {
    await this.apply(`${API}/bgppeers/${name}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPPeer',
      metadata: { name },
      spec,
    });
  }

  async deleteBgpPeer(name: string): Promise<void> {
    await this.admin!.request({ method: 'DELETE', path: `${API}/bgppeers/${name}` });
  }

  async bgpAdvertisement(name: string, spec: Record<string, unknown> = {}): Promise<void> {
    await this.apply(`${API}/bgpadvertisements/${name}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPAdvertisement',
      metadata: { name },
      spec,
    });
  }

  /** A kubernetes.io/basic-auth Secret in the speaker namespace holding a TCP MD5 password. */
  async passwordSecret(name: string, password: string): Promise<void> {
    await this.apply(`/api/v1/namespaces/${SPEAKER_NS}/secrets/${name}`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: SPEAKER_NS },
      type: 'kubernetes.io/basic-auth',
      data: { password: Buffer.from(password).toString('base64') },
    });
  }

  async ensureNamespace(ns: string): Promise<void> {
    if (this.namespaces.has(ns)) return;
    await this.admin!.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    }).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 409) throw err;
    });
    this.namespaces.add(ns);
  }

  async service(
    ns: string,
    name: string,
    o: { ip?: string; etp?: 'Local' | 'Cluster'; cls?: string } = {},
  ): Promise<void> {
    await this.ensureNamespace(ns);
    await this.apply(`/api/v1/namespaces/${ns}/services/${name}`, serviceBody(ns, name, o));
  }

  async deleteService(ns: string, name: string): Promise<void> {
    await this.admin!.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/services/${name}` });
  }

  /** Writes status.loadBalancer.ingress as the controller would (for runs without it). */
  async serviceStatus(ns: string, name: string, ips: string[]): Promise<void> {
    await this.admin!.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/services/${name}/status`,
      query: { fieldManager: 'e2e-ipam', force: true },
      contentType: 'application/apply-patch+yaml',
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: ns },
        status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } },
      },
    });
  }

  /** Waits until the Service has `count` ingress IPs (from the controller); returns them. */
  async waitForIPs(ns: string, name: string, count = 1, timeoutMs = 20_000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const s = await this.admin!.request<{
        status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
      }>({
        path: `/api/v1/namespaces/${ns}/services/${name}`,
      });
      const ips = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip!).filter(Boolean);
      if (ips.length >= count) return ips;
      await sleep(100);
    }
    throw new Error(`${ns}/${name} got no IP within ${timeoutMs} ms`);
  }

  /** An EndpointSlice for `service` with one ready endpoint on each of `nodeNames` (none = empty). */
  async endpointSlice(ns: string, service: string, nodeNames: string[]): Promise<void> {
    await this.apply(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${service}-e2e`, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-e2e`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ port: TCP_PORT, protocol: 'TCP' }],
      endpoints: nodeNames.map((nodeName) => ({
        addresses: [this.bgp.nodes.find((n) => n.name === nodeName)!.ip],
        nodeName,
        conditions: { ready: true },
      })),
    });
  }

  async sessionStates(): Promise<SessionStateView[]> {
    const r = await this.admin!.request<{ items: SessionStateView[] }>({ path: `${API}/bgpsessionstates` });
    return r.items;
  }

  /** Polls the BGPSessionStates until `pred` holds for the list; returns it. */
  async waitSessionStates(
    pred: (items: SessionStateView[]) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<SessionStateView[]> {
    const end = Date.now() + timeoutMs;
    let last: SessionStateView[] = [];
    while (Date.now() < end) {
      last = await this.sessionStates().catch(() => last);
      if (pred(last)) return last;
      await sleep(100);
    }
    throw new Error(
      `BGPSessionStates: ${what} not reached in ${timeoutMs} ms; last ${JSON.stringify(last.map((s) => s.status))}`,
    );
  }

  async destroy(): Promise<void> {
    for (const p of this.procs) p?.kill('SIGKILL');
    await this.controller?.stop({ release: false }).catch(() => {});
    await this.admin?.close().catch(() => {});
    await this.cp?.stop().catch(() => {});
    await this.bgp.destroy().catch(() => {});
    if (this.rootVeth) {
      try {
        Segment.run(['ip', 'link', 'del', this.rootVeth]);
      } catch {
        // gone with the switch namespace
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** VmRSS of a process in MB (0 when it is gone). */
export function rssMbOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return parseVmRssMb(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/** VmRSS from /proc/<pid>/status text, in MB (one decimal); 0 when absent. */
export function parseVmRssMb(status: string): number {
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Kills speakers a killed earlier run left (their `speaker-*.pid` files), by pid and command line. */
function reapSpeakers(root: string): void {
  if (!existsSync(root)) return;
  for (const run of readdirSync(root, { withFileTypes: true })) {
    if (!run.isDirectory()) continue;
    for (const f of readdirSync(join(root, run.name))) {
      if (!/^speaker-.*\.pid$/.test(f)) continue;
      const pid = Number(readFileSync(join(root, run.name, f), 'utf8').trim());
      try {
        if (pid > 1 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('speaker/main.ts')) {
          process.kill(pid, 'SIGKILL');
        }
      } catch {
        // gone
      }
    }
  }
}

/**
 * Like routers.ts waitKernelNextHops, for any condition on the next hops (e.g. "at least one",
 * when a route may go from 0 to 3 next hops in one kernel update): resolves with the time of the
 * `ip monitor route` event after which `pred` first held. Rejects after timeoutMs.
 */
export async function waitKernelRoute(
  ns: string,
  prefix: string,
  pred: (nextHops: string[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ t: number; nextHops: string[] }> {
  const [r] = await waitKernelRouteSteps(ns, prefix, [pred], timeoutMs);
  return r!;
}

/**
 * Several conditions watched by ONE `ip monitor route`: for each, the time of the event after
 * which it first held (so "all next hops" is never earlier than "a first next hop"). Resolves
 * when every condition has held; rejects after timeoutMs.
 */
export async function waitKernelRouteSteps(
  ns: string,
  prefix: string,
  preds: Array<(nextHops: string[]) => boolean>,
  timeoutMs = 10_000,
): Promise<Array<{ t: number; nextHops: string[] }>> {
  const mon = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const hits: Array<{ t: number; nextHops: string[] } | undefined> = preds.map(() => undefined);
  let done = false;
  let poll: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise((resolve, reject) => {
      let busy = false;
      let again: number | undefined;
      const check = async (t: number): Promise<void> => {
        if (done) return;
        if (busy) {
          again ??= t;
          return;
        }
        busy = true;
        try {
          const hops = await kernelNextHops(ns, prefix);
          preds.forEach((p, i) => {
            if (!hits[i] && p(hops)) hits[i] = { t, nextHops: hops };
          });
          if (!done && hits.every((h) => h !== undefined)) {
            done = true;
            resolve(hits as Array<{ t: number; nextHops: string[] }>);
          }
        } catch {
          // transient: the next event or the fallback poll retries
        } finally {
          busy = false;
          if (again !== undefined && !done) {
            const t2 = again;
            again = undefined;
            void check(t2);
          }
        }
      };
      mon.stdout!.on('data', () => void check(Date.now()));
      mon.once('spawn', () => void check(Date.now()));
      // A slow fallback in case an event came before the monitor was listening.
      poll = setInterval(() => void check(Date.now()), 200);
      timer = setTimeout(async () => {
        if (done) return;
        done = true;
        const last = await kernelNextHops(ns, prefix).catch(() => []);
        reject(
          new Error(`${prefix} in ${ns}: condition not met in ${timeoutMs} ms (now ${JSON.stringify(last)})`),
        );
      }, timeoutMs);
    });
  } finally {
    done = true;
    clearInterval(poll);
    clearTimeout(timer);
    mon.kill('SIGKILL');
  }
}

/** How many kernel routes of protocol bgp in `ns` start with `start` (e.g. '2001:db8:100::'). */
export async function countBgpRoutes(ns: string, start: string): Promise<number> {
  const v6 = start.includes(':');
  const r = await execFileAsync('ip', ['-n', ns, v6 ? '-6' : '-4', 'route', 'show', 'proto', 'bgp'], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10_000,
  });
  return countLinesStarting(r.stdout, start);
}

/** Lines of `text` that start with `start` (pure; the route counter's parser). */
export function countLinesStarting(text: string, start: string): number {
  let n = 0;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith(start, i)) n++;
    const nl = text.indexOf('\n', i);
    if (nl < 0) break;
    i = nl + 1;
  }
  return n;
}

/** utime + stime (clock ticks) from /proc/<pid>/stat text; the command name may hold spaces. */
export function parseCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime and stime are fields 14 and 15.
  return Number(rest[11] ?? 0) + Number(rest[12] ?? 0);
}

/**
 * Waits until process `pid` has been (nearly) idle for a whole window: CPU use over `windowMs`
 * at most `maxShare` of one core. For "the speaker has digested what we wrote" without relying on
 * any of its outputs. Resolves with the ms waited; rejects after timeoutMs.
 */
export async function waitQuiet(
  pid: number,
  timeoutMs = 60_000,
  windowMs = 500,
  maxShare = 0.05,
): Promise<number> {
  const t0 = Date.now();
  const ticks = () => parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  let prev = ticks();
  while (Date.now() - t0 < timeoutMs) {
    await sleep(windowMs);
    const now = ticks();
    // Linux USER_HZ is 100: one tick = 10 ms.
    if (((now - prev) * 10) / windowMs <= maxShare) return Date.now() - t0;
    prev = now;
  }
  throw new Error(`process ${pid} still busy after ${timeoutMs} ms`);
}

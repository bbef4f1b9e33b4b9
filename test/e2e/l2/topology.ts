// The L2 test bed shared by test/e2e/l2/*.test.ts and test/bench/failover.ts:
//
//   root namespace ── veth (<subnet>.1: the envtest kube-apiserver + the IPAM controller)
//         │
//   switch namespace: br0 ─┬─ node n1 (<subnet>.11, real `node speaker/main.ts`, TCP :8080)
//                          ├─ node n2 (<subnet>.12, …)
//                          ├─ node n3 (<subnet>.13, …)
//                          └─ client  (<subnet>.100: arping, ndisc6, tcpdump, TCP connects)
//
// Every node namespace holds every VIP of the run on `lo` with arp_ignore=1 / arp_announce=2, so
// its kernel accepts traffic for a VIP but never answers ARP for it: only the speaker does. A
// TCP connect to a VIP therefore reaches whichever node the client's neighbour entry points at,
// and the server answers with that node's name. All addresses are documentation ranges; the only
// thing in the root namespace is one veth with <subnet>.1/24 (removed by destroy()).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningController, startController } from '../../../controllers/index.ts';
import { KubeClient } from '../../../lib/kube/index.ts';
import { SPEAKER_CLUSTER_ROLE_RULES, SPEAKER_NAMESPACE_RULES } from '../../../speaker/rbac.ts';
import { type ControlPlane, REPO_ROOT, startControlPlane } from '../../envtest/index.ts';
import { JsonLines, Segment } from '../../speaker/support/netns.ts';
import { bindRules } from '../../support/rbac.ts';

export const SPEAKER_MAIN = join(REPO_ROOT, 'speaker', 'main.ts');
export const SPEAKER_NS = 'portico-system';
export const TCP_PORT = 8080;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TopologyOptions {
  /** Short label for namespace names (≤ 6 chars). */
  label: string;
  /** First three octets of the IPv4 /24, e.g. '192.0.2'. */
  subnet: string;
  /** IPv6 /64 prefix ending in '::', e.g. '2001:db8::'. */
  v6: string;
  nodes?: number;
  /** Every VIP the run may use: put on each node's `lo`. */
  vips: string[];
  /** Extra speaker flags for every speaker. */
  speakerArgs?: string[];
  /** The speaker entry point: speaker/main.ts (default) or the compiled dist/speaker/main.js. */
  speakerEntry?: string;
  /** Run the IPAM controller in-process (default true). */
  controller?: boolean;
  log?: (msg: string) => void;
}

export interface SpeakerNode {
  name: string;
  ns: string;
  ip: string;
  ip6: string;
  mac: string;
  proc?: ChildProcess;
  lines?: JsonLines;
}

export class L2Topology {
  readonly seg: Segment;
  readonly opts: TopologyOptions;
  readonly nodes: SpeakerNode[] = [];
  client = '';
  readonly clientIp: string;
  readonly apiIp: string;
  cp: ControlPlane | undefined;
  admin: KubeClient | undefined;
  controller: RunningController | undefined;
  speakerKubeconfig = '';
  readonly dir = mkdtempSync(join(tmpdir(), 'portico-l2-'));
  readonly keyFile = join(this.dir, 'key');
  private rootVeth = '';
  private servers: ChildProcess[] = [];

  constructor(opts: TopologyOptions) {
    this.opts = opts;
    this.seg = new Segment(opts.label);
    this.clientIp = `${opts.subnet}.100`;
    this.apiIp = `${opts.subnet}.1`;
  }

  mac(i: number): string {
    return `02:00:00:00:0${i + 1}:11`;
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
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
    const { subnet, v6 } = this.opts;
    writeFileSync(this.keyFile, 'portico e2e heartbeat key, 32+ bytes long\n', { mode: 0o600 });
    this.seg.create();
    const n = this.opts.nodes ?? 3;
    for (let i = 0; i < n; i++) {
      const name = `n${i + 1}`;
      const ip = `${subnet}.${11 + i}`;
      const ip6 = `${v6}${11 + i}`;
      const ns = this.seg.addHost(name, this.mac(i), [`${ip}/24`, `${ip6}/64`]);
      // The kernel must stay silent for the VIPs on lo: only the speaker answers ARP.
      this.seg.exec(ns, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1']);
      this.seg.exec(ns, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_announce=2']);
      // scope host: the address is local (the kernel accepts the traffic) but the speaker's link
      // scan does not count it as a node address, which it would never answer ARP for.
      for (const vip of this.opts.vips) {
        this.seg.exec(ns, [
          'ip',
          'addr',
          'add',
          `${vip}/${vip.includes(':') ? 128 : 32}`,
          'dev',
          'lo',
          'scope',
          'host',
        ]);
      }
      this.nodes.push({ name, ns, ip, ip6, mac: this.mac(i) });
      const server = this.seg.spawnRaw(ns, [
        process.execPath,
        '-e',
        `require('net').createServer((s) => s.end(${JSON.stringify(`${name}\n`)})).listen(${TCP_PORT}, '::')`,
      ]);
      this.servers.push(server);
    }
    this.client = this.seg.addHost('cl', '02:00:00:00:0c:11', [`${this.clientIp}/24`, `${v6}100/64`]);
    // The root side of the API link: one veth into the bridge, nothing else in the root namespace.
    this.rootVeth = this.seg.addRootLink(`${this.apiIp}/24`);

    const t0 = Date.now();
    this.cp = await startControlPlane({ bindAddress: this.apiIp });
    this.log(`control plane on ${this.cp.server} in ${Date.now() - t0} ms`);
    this.admin = new KubeClient(this.cp.kubeConfig());
    for (const node of this.nodes) {
      await this.admin.request({
        method: 'POST',
        path: '/api/v1/nodes',
        body: {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name } },
        },
      });
    }
    // The speakers run as a ServiceAccount bound to exactly speaker/rbac.ts.
    this.speakerKubeconfig = await this.cp.serviceAccountKubeconfig(SPEAKER_NS, 'portico-speaker');
    await this.bindSpeakerRbac();
    if (this.opts.controller ?? true) {
      this.controller = await startController({
        kubeConfig: this.cp.kubeConfig(),
        leaderElect: false,
        metricsAddress: '',
        logLevel: 'warn',
      });
    }
  }

  private async bindSpeakerRbac(): Promise<void> {
    await bindRules(this.admin!, {
      name: 'portico-speaker',
      namespace: SPEAKER_NS,
      serviceAccount: 'portico-speaker',
      clusterRules: SPEAKER_CLUSTER_ROLE_RULES,
      namespaceRules: SPEAKER_NAMESPACE_RULES,
    });
  }

  /** Starts the real speaker in node i; resolves once it logged "speaker started". */
  async startSpeaker(i: number, extra: string[] = []): Promise<void> {
    const node = this.nodes[i]!;
    if (node.proc && node.proc.exitCode === null && node.proc.signalCode === null) {
      throw new Error(`speaker ${node.name} is already running`);
    }
    const proc = this.seg.spawnRaw(node.ns, [
      process.execPath,
      this.opts.speakerEntry ?? SPEAKER_MAIN,
      `--kubeconfig=${this.speakerKubeconfig}`,
      `--node-name=${node.name}`,
      `--namespace=${SPEAKER_NS}`,
      `--key-file=${this.keyFile}`,
      `--heartbeat-address=${node.ip}`,
      '--metrics-address=:7473',
      ...(this.opts.speakerArgs ?? []),
      ...extra,
    ]);
    node.proc = proc;
    node.lines = new JsonLines(proc);
    await node.lines.waitFor((l) => l.msg === 'speaker started', 30_000);
  }

  running(i: number): boolean {
    const p = this.nodes[i]?.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** Sends `signal`; resolves when the process exited (with its exit code or signal). */
  async stopSpeaker(
    i: number,
    signal: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: string | null }> {
    const p = this.nodes[i]!.proc;
    if (!p || !this.running(i)) return { code: p?.exitCode ?? null, signal: p?.signalCode ?? null };
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      p.once('exit', (code, sig) => r({ code, signal: sig })),
    );
    p.kill(signal);
    return exited;
  }

  nodeByMac(mac: string): SpeakerNode | undefined {
    return this.nodes.find((n) => n.mac === mac.toLowerCase());
  }

  // --- Kubernetes objects --------------------------------------------------------------------

  async apply(path: string, body: Record<string, unknown>): Promise<unknown> {
    return this.admin!.request({
      method: 'PATCH',
      path,
      query: { fieldManager: 'e2e', force: true },
      contentType: 'application/apply-patch+yaml',
      body,
    });
  }

  async pool(name: string, addresses: string[]): Promise<void> {
    await this.apply(`/apis/portico.dev/v1alpha1/ipaddresspools/${name}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name },
      spec: { addresses },
    });
  }

  async l2Advertisement(name: string, spec: Record<string, unknown> = {}): Promise<void> {
    await this.apply(`/apis/portico.dev/v1alpha1/l2advertisements/${name}`, {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'L2Advertisement',
      metadata: { name },
      spec,
    });
  }

  async deleteL2Advertisement(name: string): Promise<void> {
    await this.admin!.request({
      method: 'DELETE',
      path: `/apis/portico.dev/v1alpha1/l2advertisements/${name}`,
    });
  }

  async service(
    ns: string,
    name: string,
    o: { ip?: string; pool?: string; etp?: 'Local' | 'Cluster'; cls?: string } = {},
  ): Promise<void> {
    await this.ensureNamespace(ns);
    const annotations: Record<string, string> = {};
    if (o.ip) annotations['portico.dev/load-balancer-ips'] = o.ip;
    if (o.pool) annotations['portico.dev/address-pool'] = o.pool;
    await this.apply(`/api/v1/namespaces/${ns}/services/${name}`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, annotations },
      spec: {
        type: 'LoadBalancer',
        ports: [{ port: TCP_PORT, protocol: 'TCP' }],
        selector: { app: name },
        ...(o.etp ? { externalTrafficPolicy: o.etp } : {}),
        ...(o.cls ? { loadBalancerClass: o.cls } : {}),
      },
    });
  }

  /** Writes status.loadBalancer.ingress as the controller would (for tests without it). */
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

  private namespaces = new Set<string>();
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

  async getService(ns: string, name: string): Promise<ServiceStatusView> {
    return this.admin!.request<ServiceStatusView>({ path: `/api/v1/namespaces/${ns}/services/${name}` });
  }

  /** Waits until the Service has ingress IPs (from the controller); returns them. */
  async waitForIPs(ns: string, name: string, count = 1, timeoutMs = 20_000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const s = await this.getService(ns, name);
      const ips = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip!).filter(Boolean);
      if (ips.length >= count) return ips;
      await sleep(100);
    }
    throw new Error(`${ns}/${name} got no IP within ${timeoutMs} ms`);
  }

  async waitForCondition(
    ns: string,
    name: string,
    pred: (c: { status: string; reason: string; message: string } | undefined) => boolean,
    timeoutMs = 15_000,
  ): Promise<{ status: string; reason: string; message: string }> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < end) {
      const s = await this.getService(ns, name);
      const c = s.status?.conditions?.find((x) => x.type === 'portico.dev/Announced');
      last = c;
      if (pred(c)) return c!;
      await sleep(100);
    }
    throw new Error(`${ns}/${name}: Announced condition not as expected; last ${JSON.stringify(last)}`);
  }

  async endpointSlice(ns: string, service: string, nodeName: string | undefined): Promise<void> {
    await this.apply(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${service}-e2e`, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-e2e`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ port: TCP_PORT, protocol: 'TCP' }],
      endpoints: nodeName
        ? [
            {
              addresses: [this.nodes.find((n) => n.name === nodeName)!.ip],
              nodeName,
              conditions: { ready: true },
            },
          ]
        : [],
    });
  }

  // --- the client's view ---------------------------------------------------------------------

  /** arping from the client: replying MACs (one per reply), extra replies, per-reply times (ms). */
  async arping(
    vip: string,
    count = 3,
    intervalS = 0.2,
  ): Promise<{ macs: string[]; extra: number; times: number[] }> {
    const r = await this.seg.execAsync(
      this.client,
      // -w is arping's overall deadline: long enough for every probe plus the last reply.
      [
        'arping',
        '-c',
        String(count),
        '-W',
        String(intervalS),
        '-w',
        String(Math.ceil(count * intervalS) + 1),
        '-I',
        'eth0',
        vip,
      ],
      Math.ceil(count * intervalS * 1000) + 10_000,
    );
    const times = [...r.stdout.matchAll(/time=([\d.]+) (usec|msec|sec)/g)].map(
      (m) => Number(m[1]) * (m[2] === 'usec' ? 1e-3 : m[2] === 'msec' ? 1 : 1000),
    );
    return {
      macs: [...r.stdout.matchAll(/from ([0-9a-f:]{17}) /g)].map((m) => m[1]!),
      extra: Number(/\((\d+) extra\)/.exec(r.stdout)?.[1] ?? '0'),
      times,
    };
  }

  /** ndisc6 from the client: the advertised MAC, or undefined. */
  async ndisc(vip: string): Promise<string | undefined> {
    const r = await this.seg.execAsync(this.client, ['ndisc6', '-r', '3', '-w', '500', vip, 'eth0']);
    return /Target link-layer address: ([0-9A-Fa-f:]{17})/.exec(r.stdout)?.[1]?.toLowerCase();
  }

  neighbour(vip: string): string {
    const j = JSON.parse(
      this.seg.exec(this.client, ['ip', '-j', 'neigh', 'show', vip, 'dev', 'eth0']),
    ) as Array<{
      lladdr?: string;
    }>;
    return j[0]?.lladdr ?? '';
  }

  flushNeighbour(vip: string): void {
    this.seg.exec(this.client, ['ip', 'neigh', 'flush', 'to', vip, 'dev', 'eth0']);
  }

  /** TCP connect from the client; resolves with what the server said (its node name) or undefined. */
  async tcp(vip: string, timeoutS = 1): Promise<string | undefined> {
    const host = vip.includes(':') ? vip : vip;
    const r = await this.seg.execAsync(
      this.client,
      ['timeout', String(timeoutS), 'bash', '-c', `exec 3<>/dev/tcp/${host}/${TCP_PORT}; cat <&3`],
      (timeoutS + 2) * 1000,
    );
    const out = r.stdout.trim();
    return r.code === 0 && out ? out : undefined;
  }

  /** Polls until TCP to `vip` answers with `node` (or any node when undefined); returns the time. */
  async tcpBecomes(vip: string, node: string | undefined, timeoutMs = 5000): Promise<number> {
    const end = Date.now() + timeoutMs;
    let last: string | undefined;
    while (Date.now() < end) {
      last = await this.tcp(vip, 0.5);
      if (last !== undefined && (node === undefined || last === node)) return Date.now();
      await sleep(20);
    }
    throw new Error(`TCP to ${vip} never answered by ${node ?? 'anyone'} (last ${last})`);
  }

  /**
   * Starts tcpdump in `ns` on `ifname` for ARP frames; returns a handle that collects
   * { t (ms, wall clock), src MAC, kind, ip } per frame.
   */
  captureArp(ns: string, ifname: string): ArpCapture {
    return new ArpCapture(this.seg, ns, ifname);
  }

  async destroy(): Promise<void> {
    for (const s of this.servers) s.kill('SIGKILL');
    for (const n of this.nodes) n.proc?.kill('SIGKILL');
    await this.controller?.stop({ release: false }).catch(() => {});
    await this.admin?.close().catch(() => {});
    await this.cp?.stop().catch(() => {});
    this.seg.destroy();
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

export interface ServiceStatusView {
  metadata?: { name?: string };
  status?: {
    loadBalancer?: { ingress?: Array<{ ip?: string }> };
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

export interface ArpFrame {
  t: number;
  src: string;
  kind: 'garp' | 'reply' | 'request';
  /** The VIP a GARP/reply is about; the target of a request. */
  ip: string;
}

export class ArpCapture {
  readonly frames: ArpFrame[] = [];
  private readonly proc: ChildProcess;
  readonly ready: Promise<void>;

  constructor(seg: Segment, ns: string, ifname: string) {
    this.proc = seg.spawnRaw(ns, [
      'tcpdump',
      '-i',
      ifname,
      '-l',
      '-nn',
      '-e',
      '-tt',
      '--immediate-mode',
      'arp',
    ]);
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const f = parseTcpdumpArp(line);
        if (f) this.frames.push(f);
      }
    });
    this.ready = new Promise((resolve) => {
      let err = '';
      this.proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
        err += c;
        if (err.includes('listening on')) resolve();
      });
      setTimeout(resolve, 2000);
    });
  }

  /** First frame at or after `since` matching the predicate. */
  first(since: number, pred: (f: ArpFrame) => boolean): ArpFrame | undefined {
    return this.frames.find((f) => f.t >= since && pred(f));
  }

  stop(): void {
    this.proc.kill('SIGTERM');
  }
}

/** One tcpdump `-nn -e -tt` ARP line → frame (exported for the unit test). */
export function parseTcpdumpArp(line: string): ArpFrame | undefined {
  const m = /^(\d+\.\d+) ([0-9a-f:]{17}) > [0-9a-f:]{17}, ethertype ARP \(0x0806\), length \d+: (.*)$/.exec(
    line.trim(),
  );
  if (!m) return undefined;
  const t = Number(m[1]) * 1000;
  const src = m[2]!;
  const rest = m[3]!;
  const reply = /Reply ([0-9.]+) is-at ([0-9a-f:]{17})/.exec(rest);
  if (reply) return { t, src, kind: 'reply', ip: reply[1]! };
  const req = /Request who-has ([0-9.]+)(?: \([0-9a-f:]{17}\))? tell ([0-9.]+)/.exec(rest);
  if (req) return { t, src, kind: req[1] === req[2] ? 'garp' : 'request', ip: req[1]! };
  return undefined;
}

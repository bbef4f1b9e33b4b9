// `npm run bench -- failover [--json] [--trials N] [--kill N] [--graceful N] [--probes N] [--source]
//                           [--metallb-trials N] [--no-metallb]`
//
// The speakers run the compiled build (`npm run build` first, then dist/speaker/main.js), as the
// chart and image ship them; `--source` runs speaker/main.ts through Node's type stripping
// instead (about 17 MB more RSS, plus lib/kube loaded from source).
// In the test/e2e/l2 topology (three real speakers in network namespaces, envtest apiserver,
// IPAM controller, a client namespace; needs root, arping and tcpdump):
//   - kill -9 trials: kill the owner of a VIP; failover = time from the kill to the first ARP
//     frame (GARP or reply) for that VIP from the next owner, as captured on the client's wire;
//     TCP to the VIP must then reach the next owner (checked, counted in tcp_failures);
//   - SIGTERM trials: the same with a graceful stop (leave + make-before-break);
//   - ARP probes: `arping` from the client to each owned VIP; from a capture on the bridge, the
//     time from each request to its reply (kernel timestamps) and the most distinct nodes
//     answering any one probe.
// The killed speaker is restarted (and the cluster converged) between trials. VIPs rotate so
// every node gets killed. Defaults: 20 + 20 trials, 200 probes; each loop is bounded.
//
// Then MetalLB (test/support/metallb.ts: the pinned release, built once into a cache) on the same
// topology, built afresh after Portico's is torn down: its controller in the root namespace (VIPs
// pinned with metallb.io/loadBalancerIPs), one speaker per node namespace in L2 mode with memberlist
// on, as its Helm chart runs them (hostNetwork: memberlist binds the node IP on 7946, an encryption
// key file, peers found by listing the speaker Pods with the chart's labels). With no kubelet here,
// the bench creates what MetalLB reads: a Ready speaker Pod per node whose pod IP is the node IP,
// and an EndpointSlice with a ready endpoint per Service (MetalLB announces nothing without one).
// The same trials (--metallb-trials each, default 5) with the same client probe; the next owner is
// MetalLB's (ascending sha256 of "<node>#<ip>"). Keys metallb_outage_ms_*, metallb_graceful_
// outage_ms_*, and ratio_vs_metallb = kill_p50_ms / metallb_outage_ms_p50 (ours / theirs: 0.2 or
// less = Portico fails over at least 5x faster), ratio_graceful_vs_metallb likewise.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rendezvousOwner } from '../../speaker/election/hash.ts';
import { type ArpCapture, L2Topology, SPEAKER_MAIN, TCP_PORT } from '../e2e/l2/topology.ts';
import { installCrdFiles } from '../envtest/crds.ts';
import { REPO_ROOT } from '../envtest/index.ts';
import { JsonLines } from '../speaker/support/netns.ts';
import { flag, freePort, percentile, runEnvironment } from '../support/bench.ts';
import {
  MEMBERLIST_KEY_FILE,
  MEMBERLIST_PORT,
  type MetalLB,
  metallbL2Advertisement,
  metallbL2Owner,
  metallbPeer,
  metallbPool,
  ratioVs,
  SPEAKER_LABELS,
  speakerPod,
  speakerPodStatus,
} from '../support/metallb.ts';
import type { Bench, BenchRow } from './run.ts';

const NAMES = ['n1', 'n2', 'n3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

type OwnerOf = (nodes: string[], ip: string) => string | undefined;

/** One VIP per node as owner, from the pool range, so trials kill every node in turn. */
function pickVips(prefix: string, first: number, last: number, ownerOf: OwnerOf = rendezvousOwner): string[] {
  const out = new Map<string, string>();
  for (let i = first; i <= last && out.size < NAMES.length; i++) {
    const ip = `${prefix}.${i}`;
    const owner = ownerOf(NAMES, ip)!;
    if (!out.has(owner)) out.set(owner, ip);
  }
  return [...out.values()];
}

/** The speakers under test in a topology: how to start and stop one, and whom each VIP belongs to. */
interface Speakers {
  label: string;
  topo: L2Topology;
  vips: string[];
  ownerOf: OwnerOf;
  start(i: number): Promise<void>;
  stop(i: number, signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
  /** Ours must exit 0 on SIGTERM; a peer's exit status is only reported. */
  cleanExit: boolean;
  /** How long a failover may take before the trial fails, and convergence after a restart. */
  failoverTimeoutMs: number;
  steadyTimeoutMs: number;
  log: (m: string) => void;
}

const idx = (n: string) => NAMES.indexOf(n);

/** Every VIP answered by its owner over all three nodes only. */
async function steady(sp: Speakers): Promise<void> {
  const end = Date.now() + sp.steadyTimeoutMs;
  for (const vip of sp.vips) {
    const owner = sp.ownerOf(NAMES, vip)!;
    for (;;) {
      const r = await sp.topo.arping(vip, 1, 0.05);
      if (r.macs.length === 1 && r.macs[0] === sp.topo.mac(idx(owner))) break;
      if (Date.now() > end)
        throw new Error(`${sp.label}: ${vip} not answered by ${owner}: ${JSON.stringify(r)}`);
      await sleep(50);
    }
  }
}

/**
 * `n` trials: stop the owner of a VIP with `kind`; outage = the stop → the first ARP frame (GARP or
 * reply) for the VIP from the next owner on the client's wire. TCP must then reach the next owner.
 */
async function trials(
  sp: Speakers,
  clientCap: ArpCapture,
  kind: 'SIGKILL' | 'SIGTERM',
  n: number,
): Promise<{ ms: number[]; tcpFailures: number; exits: string[] }> {
  const { topo, vips } = sp;
  const ms: number[] = [];
  const exits: string[] = [];
  let tcpFailures = 0;
  for (let t = 0; t < n; t++) {
    const vip = vips[t % vips.length]!;
    const owner = sp.ownerOf(NAMES, vip)!;
    const next = sp.ownerOf(
      NAMES.filter((x) => x !== owner),
      vip,
    )!;
    topo.flushNeighbour(vip);
    if ((await topo.tcp(vip)) !== owner)
      throw new Error(`${sp.label} trial ${t}: ${vip} not served by ${owner} before the kill`);
    await sleep(1100); // past the client's ARP locktime, like any established client entry
    const at = Date.now();
    const stopped = sp.stop(idx(owner), kind);
    const nextMac = topo.mac(idx(next));
    let frame: { t: number } | undefined;
    while (!frame && Date.now() - at < sp.failoverTimeoutMs) {
      frame = clientCap.first(
        at,
        (f) => f.ip === vip && f.src === nextMac && (f.kind === 'garp' || f.kind === 'reply'),
      );
      if (!frame) await sleep(2);
    }
    if (!frame)
      throw new Error(
        `${sp.label} trial ${t} (${kind}): no ARP from ${next} for ${vip} within ${sp.failoverTimeoutMs} ms`,
      );
    ms.push(frame.t - at);
    try {
      await topo.tcpBecomes(vip, next, 3000);
    } catch {
      tcpFailures++;
    }
    const exit = await stopped;
    exits.push(exit.signal ?? String(exit.code));
    if (kind === 'SIGTERM' && exit.code !== 0) {
      if (sp.cleanExit) throw new Error(`SIGTERM exit ${JSON.stringify(exit)}`);
      sp.log(`${sp.label}: SIGTERM exit ${JSON.stringify(exit)}`);
    }
    await sp.start(idx(owner));
    await steady(sp);
    sp.log(
      `${sp.label} ${kind} trial ${t + 1}/${n}: ${owner} → ${next} for ${vip}: ${(frame.t - at).toFixed(1)} ms`,
    );
  }
  return { ms, tcpFailures, exits };
}

const METALLB_NS = 'metallb-system';

/** Portico's run: the measurements of the bench before MetalLB joined it. */
async function portico(
  args: string[],
  log: (m: string) => void,
): Promise<{ kill: number[]; graceful: number[]; row: BenchRow }> {
  const trialsN = flag(args, 'trials', 20);
  const kills = flag(args, 'kill', trialsN);
  const graceful = flag(args, 'graceful', trialsN);
  const probes = flag(args, 'probes', 200);
  const source = args.includes('--source');
  if (!source) execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const speakerEntry = source ? SPEAKER_MAIN : join(REPO_ROOT, 'dist', 'speaker', 'main.js');
  const vips = pickVips('203.0.113', 200, 230);
  const topo = new L2Topology({
    label: 'bfo',
    subnet: '203.0.113',
    v6: '2001:db8:1::',
    vips,
    log,
    speakerEntry,
  });
  const sp: Speakers = {
    label: 'portico',
    topo,
    vips,
    ownerOf: rendezvousOwner,
    start: (i) => topo.startSpeaker(i),
    stop: (i, sig) => topo.stopSpeaker(i, sig),
    cleanExit: true,
    failoverTimeoutMs: 5000,
    steadyTimeoutMs: 15_000,
    log,
  };
  try {
    await topo.create();
    await topo.pool('bench', ['203.0.113.200-203.0.113.230']);
    await topo.l2Advertisement('bench', { ipAddressPools: ['bench'] });
    await Promise.all(NAMES.map((_, i) => topo.startSpeaker(i)));
    for (const [i, vip] of vips.entries()) await topo.service('bench', `vip${i}`, { ip: vip });
    for (const [i] of vips.entries()) await topo.waitForIPs('bench', `vip${i}`);
    await steady(sp);
    const clientCap = topo.captureArp(topo.client, 'eth0');
    await clientCap.ready;
    const k = await trials(sp, clientCap, 'SIGKILL', kills);
    const g = await trials(sp, clientCap, 'SIGTERM', graceful);
    clientCap.stop();

    // Steady state: arping probes, and a capture on the bridge to count who answers each probe.
    const bridgeCap = topo.captureArp(topo.seg.switchNs, 'br0');
    await bridgeCap.ready;
    const times: number[] = [];
    let answeringMax = 0;
    if (probes > 0) {
      const since = Date.now();
      for (const vip of vips) await topo.arping(vip, Math.ceil(probes / vips.length), 0.01);
      await sleep(200);
      bridgeCap.stop();
      const frames = bridgeCap.frames.filter((f) => f.t >= since - 10);
      for (const vip of vips) {
        const reqs = frames.filter((f) => f.kind === 'request' && f.ip === vip);
        for (const [i, req] of reqs.entries()) {
          const until = reqs[i + 1]?.t ?? req.t + 1000;
          const replies = frames.filter(
            (f) => f.kind === 'reply' && f.ip === vip && f.t >= req.t && f.t < until,
          );
          answeringMax = Math.max(answeringMax, new Set(replies.map((f) => f.src)).size);
          // Request → reply on the bridge, both stamped by the kernel in one capture: the speaker's
          // answer time plus two veth hops, without arping's own user-space clock in the way.
          if (replies[0]) times.push(replies[0].t - req.t);
        }
      }
    } else {
      bridgeCap.stop();
    }
    const rss = maxRssMb(topo.nodes.map((n) => n.proc));
    if (k.tcpFailures + g.tcpFailures > 0)
      log(`TCP did not reach the new owner in ${k.tcpFailures + g.tcpFailures} trials`);
    log(`kill ms: ${k.ms.map((x) => x.toFixed(0)).join(' ')}`);
    log(`graceful ms: ${g.ms.map((x) => x.toFixed(1)).join(' ')}`);
    return {
      kill: k.ms,
      graceful: g.ms,
      row: {
        bench: 'failover',
        kill_p50_ms: round(percentile(k.ms, 50)),
        kill_p99_ms: round(percentile(k.ms, 99)),
        kill_max_ms: round(k.ms.length ? Math.max(...k.ms) : null),
        graceful_p50_ms: round(percentile(g.ms, 50)),
        graceful_p99_ms: round(percentile(g.ms, 99)),
        graceful_max_ms: round(g.ms.length ? Math.max(...g.ms) : null),
        tcp_failures: k.tcpFailures + g.tcpFailures,
        arp_reply_p50_ms: round(percentile(times, 50)),
        arp_reply_p99_ms: round(percentile(times, 99)),
        answering_nodes_max: answeringMax,
        rss_mb: rss,
        speaker_entry: source ? 'speaker/main.ts' : 'dist/speaker/main.js',
      },
    };
  } finally {
    await topo.destroy();
  }
}

/** The largest current RSS among running processes, MB to 1 decimal. */
function maxRssMb(procs: Array<ChildProcess | undefined>): number {
  let rss = 0;
  for (const p of procs) {
    if (!p?.pid || p.exitCode !== null || p.signalCode !== null) continue;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
      if (m) rss = Math.max(rss, Number(m[1]) / 1024);
    } catch {
      // exited meanwhile
    }
  }
  return Math.round(rss * 10) / 10;
}

/** MetalLB's run on the same topology (see the header). */
async function metallb(m: MetalLB, n: number, log: (m: string) => void): Promise<BenchRow> {
  const vips = pickVips('203.0.113', 200, 230, metallbL2Owner);
  const topo = new L2Topology({
    label: 'bfm',
    subnet: '203.0.113',
    v6: '2001:db8:1::',
    vips,
    log,
    controller: false,
  });
  const keyDir = join(topo.dir, 'ml');
  let controller: ChildProcess | undefined;
  const start = async (i: number): Promise<void> => {
    const node = topo.nodes[i]!;
    if (topo.running(i)) throw new Error(`metallb speaker ${node.name} is already running`);
    // The chart's speaker: METALLB_NODE_NAME, METALLB_HOST, METALLB_ML_* and METALLB_POD_NAME from
    // the Pod, as flags here.
    node.proc = topo.seg.spawnRaw(node.ns, [
      m.speaker,
      `--kubeconfig=${topo.cp!.kubeconfigPath}`,
      `--namespace=${METALLB_NS}`,
      `--node-name=${node.name}`,
      `--pod-name=speaker-${node.name}`,
      `--host=${node.ip}`,
      '--port=7472',
      `--ml-bindaddr=${node.ip}`,
      `--ml-bindport=${MEMBERLIST_PORT}`,
      `--ml-labels=${Object.entries(SPEAKER_LABELS)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
      `--ml-secret-key-path=${keyDir}`,
      '--log-level=info',
    ]);
    node.lines = new JsonLines(node.proc);
    await node.lines.waitFor((x) => x.msg === 'Starting Manager', 30_000);
  };
  const sp: Speakers = {
    label: 'metallb',
    topo,
    vips,
    ownerOf: metallbL2Owner,
    start,
    stop: (i, sig) => topo.stopSpeaker(i, sig),
    cleanExit: false,
    failoverTimeoutMs: 60_000,
    steadyTimeoutMs: 60_000,
    log,
  };
  try {
    await topo.create();
    const cp = topo.cp!;
    await installCrdFiles(cp.kubeConfig(), m.crdFiles);
    await topo.ensureNamespace(METALLB_NS);
    await topo.apply(
      `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/ipaddresspools/bench`,
      metallbPool(METALLB_NS, 'bench', ['203.0.113.200-203.0.113.230']),
    );
    await topo.apply(
      `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/l2advertisements/bench`,
      metallbL2Advertisement(METALLB_NS, 'bench', ['bench']),
    );
    // The memberlist key, as the controller's --ml-secret-name Secret would be mounted.
    mkdirSync(keyDir, { mode: 0o700 });
    writeFileSync(join(keyDir, MEMBERLIST_KEY_FILE), randomBytes(96).toString('base64'), { mode: 0o600 });
    for (const node of topo.nodes) {
      const pod = speakerPod(METALLB_NS, node.name);
      await topo.admin!.request({ method: 'POST', path: `/api/v1/namespaces/${METALLB_NS}/pods`, body: pod });
      await topo.admin!.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${METALLB_NS}/pods/speaker-${node.name}/status`,
        contentType: 'application/merge-patch+json',
        body: speakerPodStatus(node.ip),
      });
    }
    // MetalLB's controller allocates (from the root namespace, where the apiserver listens).
    const controllerLog = openSync(join(topo.dir, 'metallb-controller.log'), 'a');
    controller = spawn(
      m.controller,
      [
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--namespace=${METALLB_NS}`,
        `--port=${await freePort()}`,
        '--webhook-mode=disabled',
        '--log-level=warn',
      ],
      // Its log (reconciler retries on pool-status conflicts are routine) goes to the topology's
      // temp folder, not the bench's output.
      { stdio: ['ignore', controllerLog, controllerLog] },
    );
    closeSync(controllerLog); // the child holds its own copy
    await Promise.all(NAMES.map((_, i) => start(i)));
    for (const [i, vip] of vips.entries()) {
      await topo.ensureNamespace('bench');
      await topo.apply(`/api/v1/namespaces/bench/services/vip${i}`, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `vip${i}`, namespace: 'bench', annotations: { 'metallb.io/loadBalancerIPs': vip } },
        spec: {
          type: 'LoadBalancer',
          ports: [{ port: TCP_PORT, protocol: 'TCP' }],
          selector: { app: `vip${i}` },
        },
      });
      await topo.endpointSlice('bench', `vip${i}`, 'n1');
    }
    for (const [i, vip] of vips.entries()) {
      const ips = await topo.waitForIPs('bench', `vip${i}`);
      if (ips[0] !== vip) throw new Error(`metallb gave vip${i} ${ips.join(',')}, not ${vip}`);
    }
    await steady(sp);
    const clientCap = topo.captureArp(topo.client, 'eth0');
    await clientCap.ready;
    const k = await trials(sp, clientCap, 'SIGKILL', n);
    const g = await trials(sp, clientCap, 'SIGTERM', n);
    clientCap.stop();
    log(`metallb kill ms: ${k.ms.map((x) => x.toFixed(0)).join(' ')}`);
    log(`metallb graceful ms: ${g.ms.map((x) => x.toFixed(1)).join(' ')}`);
    return {
      metallb_version: m.version,
      metallb_trials: n,
      metallb_outage_ms_p50: round(percentile(k.ms, 50)),
      metallb_outage_ms_max: round(k.ms.length ? Math.max(...k.ms) : null),
      metallb_graceful_outage_ms_p50: round(percentile(g.ms, 50)),
      metallb_graceful_outage_ms_max: round(g.ms.length ? Math.max(...g.ms) : null),
      metallb_tcp_failures: k.tcpFailures + g.tcpFailures,
      metallb_graceful_exits: [...new Set(g.exits)].join(','),
      metallb_rss_mb: maxRssMb(topo.nodes.map((x) => x.proc)),
    };
  } finally {
    controller?.kill('SIGKILL');
    await topo.destroy();
  }
}

const failover: Bench = async (args) => {
  const log = (m: string) => process.stderr.write(`failover: ${m}\n`);
  const metallbTrials = flag(args, 'metallb-trials', 5);
  // Before anything is measured: under CI a peer that cannot be built fails the bench here.
  const peer = metallbPeer(args, log);
  const ours = await portico(args, log);
  const theirs = peer ? await metallb(peer, metallbTrials, log) : {};
  const row: BenchRow = { ...ours.row, ...theirs };
  const num = (k: string) => (typeof row[k] === 'number' ? (row[k] as number) : null);
  row.ratio_vs_metallb = ratioVs(num('kill_p50_ms'), num('metallb_outage_ms_p50'));
  row.ratio_graceful_vs_metallb = ratioVs(num('graceful_p50_ms'), num('metallb_graceful_outage_ms_p50'));
  // The speakers are started with this process's Node and environment (NODE_OPTIONS included).
  Object.assign(row, runEnvironment());
  return [row];
};

export default failover;

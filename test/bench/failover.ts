// `npm run bench -- failover [--json] [--trials N] [--kill N] [--graceful N] [--probes N] [--source]`
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
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rendezvousOwner } from '../../speaker/election/hash.ts';
import { L2Topology, SPEAKER_MAIN } from '../e2e/l2/topology.ts';
import { REPO_ROOT } from '../envtest/index.ts';
import { flag, percentile } from '../support/bench.ts';
import type { Bench, BenchRow } from './run.ts';

const NAMES = ['n1', 'n2', 'n3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

/** One VIP per node as owner, from the pool range, so trials kill every node in turn. */
function pickVips(prefix: string, first: number, last: number): string[] {
  const out = new Map<string, string>();
  for (let i = first; i <= last && out.size < NAMES.length; i++) {
    const ip = `${prefix}.${i}`;
    const owner = rendezvousOwner(NAMES, ip)!;
    if (!out.has(owner)) out.set(owner, ip);
  }
  return [...out.values()];
}

const failover: Bench = async (args) => {
  const trials = flag(args, 'trials', 20);
  const kills = flag(args, 'kill', trials);
  const graceful = flag(args, 'graceful', trials);
  const probes = flag(args, 'probes', 200);
  const log = (m: string) => process.stderr.write(`failover: ${m}\n`);
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
  const rows: BenchRow[] = [];
  try {
    await topo.create();
    await topo.pool('bench', ['203.0.113.200-203.0.113.230']);
    await topo.l2Advertisement('bench', { ipAddressPools: ['bench'] });
    await Promise.all(NAMES.map((_, i) => topo.startSpeaker(i)));
    for (const [i, vip] of vips.entries()) await topo.service('bench', `vip${i}`, { ip: vip });
    for (const [i] of vips.entries()) await topo.waitForIPs('bench', `vip${i}`);
    const idx = (n: string) => NAMES.indexOf(n);

    /** Every VIP answered by its rendezvous owner over all three nodes, and TCP reaching it. */
    const steady = async (): Promise<void> => {
      const end = Date.now() + 15_000;
      for (const vip of vips) {
        const owner = rendezvousOwner(NAMES, vip)!;
        for (;;) {
          const r = await topo.arping(vip, 1, 0.05);
          if (r.macs.length === 1 && r.macs[0] === topo.mac(idx(owner))) break;
          if (Date.now() > end) throw new Error(`${vip} not answered by ${owner}: ${JSON.stringify(r)}`);
          await sleep(50);
        }
      }
    };
    await steady();
    const clientCap = topo.captureArp(topo.client, 'eth0');
    await clientCap.ready;

    const measure = async (
      kind: 'SIGKILL' | 'SIGTERM',
      n: number,
    ): Promise<{ ms: number[]; tcpFailures: number }> => {
      const ms: number[] = [];
      let tcpFailures = 0;
      for (let t = 0; t < n; t++) {
        const vip = vips[t % vips.length]!;
        const owner = rendezvousOwner(NAMES, vip)!;
        const next = rendezvousOwner(
          NAMES.filter((x) => x !== owner),
          vip,
        )!;
        topo.flushNeighbour(vip);
        if ((await topo.tcp(vip)) !== owner)
          throw new Error(`trial ${t}: ${vip} not served by ${owner} before the kill`);
        await sleep(1100); // past the client's ARP locktime, like any established client entry
        const at = Date.now();
        const stopped = topo.stopSpeaker(idx(owner), kind);
        const nextMac = topo.mac(idx(next));
        let frame: { t: number } | undefined;
        while (!frame && Date.now() - at < 5000) {
          frame = clientCap.first(
            at,
            (f) => f.ip === vip && f.src === nextMac && (f.kind === 'garp' || f.kind === 'reply'),
          );
          if (!frame) await sleep(2);
        }
        if (!frame) throw new Error(`trial ${t} (${kind}): no ARP from ${next} for ${vip} within 5 s`);
        ms.push(frame.t - at);
        try {
          await topo.tcpBecomes(vip, next, 3000);
        } catch {
          tcpFailures++;
        }
        const exit = await stopped;
        if (kind === 'SIGTERM' && exit.code !== 0) throw new Error(`SIGTERM exit ${JSON.stringify(exit)}`);
        await topo.startSpeaker(idx(owner));
        await steady();
        log(`${kind} trial ${t + 1}/${n}: ${owner} → ${next} for ${vip}: ${(frame.t - at).toFixed(1)} ms`);
      }
      return { ms, tcpFailures };
    };

    const k = await measure('SIGKILL', kills);
    const g = await measure('SIGTERM', graceful);
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
    let rss = 0;
    for (const n of topo.nodes) {
      const pid = n.proc?.pid;
      if (!pid) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) rss = Math.max(rss, Number(m[1]) / 1024);
    }
    if (k.tcpFailures + g.tcpFailures > 0)
      log(`TCP did not reach the new owner in ${k.tcpFailures + g.tcpFailures} trials`);
    log(`kill ms: ${k.ms.map((x) => x.toFixed(0)).join(' ')}`);
    log(`graceful ms: ${g.ms.map((x) => x.toFixed(1)).join(' ')}`);
    rows.push({
      bench: 'failover',
      kill_p50_ms: round(percentile(k.ms, 50)),
      kill_p99_ms: round(percentile(k.ms, 99)),
      kill_max_ms: round(k.ms.length ? Math.max(...k.ms) : null),
      graceful_p50_ms: round(percentile(g.ms, 50)),
      graceful_p99_ms: round(percentile(g.ms, 99)),
      arp_reply_p50_ms: round(percentile(times, 50)),
      arp_reply_p99_ms: round(percentile(times, 99)),
      answering_nodes_max: answeringMax,
      rss_mb: Math.round(rss * 10) / 10,
      speaker_entry: source ? 'speaker/main.ts' : 'dist/speaker/main.js',
    });
  } finally {
    await topo.destroy();
  }
  return rows;
};

export default failover;

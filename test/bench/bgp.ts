// `npm run bench -- bgp [--json] [--trials N] [--withdraw-trials N] [--no-kill-default]
//                       [--prefixes N] [--no-gobgp] [--source]`
//   --trials           convergence trials (default 20)
//   --withdraw-trials  graceful and 3 s hold-time kill trials each (default 5)
//   --no-kill-default  leave out the one kill trial with the default 90 s hold time (saves ~95 s)
//   --prefixes         VIPs of the bulk load (default 10000, as 200 Services x 50 ingress IPs)
//   --no-gobgp         leave out GoBGP as the second speaker of the bulk load
//   --source           run speaker/main.ts through type stripping instead of the compiled build
//                      (`npm run build`, then dist/speaker/main.js, as the image ships it)
//
// The real speaker (`--bgp`) in three node namespaces of test/e2e/bgp (speaker-topology.ts: the
// envtest kube-apiserver over a veth, a ServiceAccount bound to the chart's rules) peering with
// FRR (Debian) in the router namespace; FRR programs the router's kernel table, which is where
// every time ends (`ip monitor route` events, or counting `ip route show proto bgp` for the bulk
// load). No IPAM controller: the bench writes status.loadBalancer.ingress itself, so t0 is its own.
//   converge_ms          the bench sends the status PATCH with a new VIP → the VIP's route in
//                        FRR's kernel table (first next hop); converge_all_ms: all 3 next hops
//   withdraw_graceful_ms SIGTERM to a speaker → its next hop gone from the steady VIP's route
//   withdraw_kill_ms     the node's link down, SIGKILL (so no FIN leaves) → its next hop gone,
//                        default hold time (BGPPeer without holdTime: 90 s; FRR offers 90 s)
//   withdraw_kill_3s_ms  the same with holdTime 3s in the BGPPeer
//   prefixes_10k_*       one speaker (n1), one peer: 200 Services x 50 IPv6 ingress IPs (the IPv4
//                        documentation ranges hold 768 addresses), written before the BGPPeer is
//                        created once the speaker is idle (settle_s: how long that took);
//                        converge_s = the session Established (from FRR's own uptime
//                        counter) → 10,000 routes in FRR's kernel table; from_peer_s = BGPPeer
//                        created → the same; withdraw_s = SIGTERM → 0 routes; rss_mb = VmRSS of
//                        that speaker with the 10,000 prefixes
//   gobgp_*              the same 10,000 prefixes from GoBGP (its Go-module build, the second
//                        speaker implementation) in node n2: gobgpd without neighbors, the routes
//                        loaded with `gobgp mrt inject global` (a TABLE_DUMP_V2 file,
//                        test/support/mrt.ts), then `gobgp neighbor add`; measured identically
//                        (FRR Established → 10,000 routes). gobgp_*_from_peer_s includes GoBGP's
//                        deliberate random 1–2 s delay before its first connect.
//   ratio_gobgp          prefixes_10k_converge_s / gobgp_prefixes_10k_converge_s (ours / theirs)
// Router settings: FRR `frr defaults datacenter` (eBGP advertisement interval 0, i.e. no MRAI),
// keepalive 3 s, hold 90 s offered, maximum-paths 8; nothing else tuned.
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gobgpBinDir, type Router, routerBinaries, startRouter } from '../e2e/bgp/routers.ts';
import {
  BgpSpeakerTopology,
  countBgpRoutes,
  rssMbOf,
  waitKernelRoute,
  waitKernelRouteSteps,
  waitQuiet,
} from '../e2e/bgp/speaker-topology.ts';
import { ROUTER_V4 } from '../e2e/bgp/topology.ts';
import { REPO_ROOT } from '../envtest/index.ts';
import { flag, percentile, runEnvironment } from '../support/bench.ts';
import { hostRange, mrtHostRoutes } from '../support/mrt.ts';
import { missingPrereqs } from '../support/require.ts';
import type { Bench, BenchRow } from './run.ts';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NS = 'bench';
const BULK_NS = 'bulk';
const BULK_FIRST = '2001:db8:100::1';
const BULK_START = '2001:db8:100:';
const STEADY = '203.0.113.100';
const PER_SERVICE = 50;
const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const host = (ip: string) => `${ip}/${ip.includes(':') ? 128 : 32}`;

class BgpBench {
  readonly topo: BgpSpeakerTopology;
  frr: Router | undefined;
  frrDir = '';
  readonly log = (m: string) => console.error(`[bgp bench] ${m}`);

  constructor(entry: string) {
    this.topo = new BgpSpeakerTopology({
      label: 'bgpb',
      vips: [],
      controller: false,
      speakerEntry: entry,
      log: this.log,
    });
  }

  vtysh(cmd: string): Promise<string> {
    return execFileAsync(
      'ip',
      ['netns', 'exec', this.topo.bgp.router, 'vtysh', '--vty_socket', this.frrDir, '-c', cmd],
      { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 },
    ).then((r) => r.stdout);
  }

  /** FRR's view of each neighbor: state, negotiated hold time (ms), uptime (ms). */
  async neighbors(): Promise<Record<string, { state: string; holdMs: number; upMs: number }>> {
    const j = JSON.parse(await this.vtysh('show bgp neighbors json')) as Record<
      string,
      { bgpState?: string; bgpTimerHoldTimeMsecs?: number; bgpTimerUpMsec?: number }
    >;
    const out: Record<string, { state: string; holdMs: number; upMs: number }> = {};
    for (const [a, v] of Object.entries(j)) {
      out[a] = { state: v.bgpState ?? '', holdMs: v.bgpTimerHoldTimeMsecs ?? 0, upMs: v.bgpTimerUpMsec ?? 0 };
    }
    return out;
  }

  /**
   * Resolves with the first time FRR reports `address` Established, polling it back to back (each
   * `show bgp neighbors <ip> json` takes a few tens of ms: that is the resolution). FRR's own
   * uptime counter counts whole seconds, too coarse for this.
   */
  async watchEstablished(address: string, ms: number): Promise<number> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const out = await this.vtysh(`show bgp neighbors ${address} json`).catch(() => '{}');
      const t = Date.now();
      const j = JSON.parse(out || '{}') as Record<string, { bgpState?: string }>;
      if (j[address]?.bgpState === 'Established') return t;
      await sleep(5);
    }
    throw new Error(`FRR: ${address} not Established within ${ms} ms`);
  }

  async waitNeighbors(
    pred: (n: Awaited<ReturnType<BgpBench['neighbors']>>) => boolean,
    ms: number,
    what: string,
  ) {
    const end = Date.now() + ms;
    let last = {};
    while (Date.now() < end) {
      last = await this.neighbors().catch(() => last);
      if (pred(last as never)) return;
      await sleep(100);
    }
    throw new Error(`FRR neighbors: ${what} not reached in ${ms} ms: ${JSON.stringify(last)}`);
  }

  /** Polls FRR's kernel routes under BULK_START every ~50 ms until `pred(count)`; the time it first held. */
  async waitBulk(pred: (n: number) => boolean, ms: number, what: string): Promise<number> {
    const end = Date.now() + ms;
    let n = -1;
    while (Date.now() < end) {
      n = await countBgpRoutes(this.topo.bgp.router, BULK_START);
      const t = Date.now();
      if (pred(n)) return t;
      await sleep(50);
    }
    throw new Error(`bulk routes: ${what} not reached in ${ms} ms (last count ${n})`);
  }

  async peer(holdTime: string | undefined): Promise<void> {
    await this.topo.bgpPeer('frr', {
      myASN: 65001,
      peerASN: 65000,
      peerAddress: ROUTER_V4,
      connectTime: '1s',
      ...(holdTime ? { holdTime } : {}),
    });
  }

  nextHopCount(prefix: string, n: number, ms: number) {
    return waitKernelRoute(this.topo.bgp.router, prefix, (h) => h.length === n, ms);
  }

  async restart(i: number): Promise<void> {
    await this.topo.startSpeaker(i);
    await this.nextHopCount(host(STEADY), 3, 30_000);
  }
}

const bench: Bench = async (args) => {
  const trials = flag(args, 'trials', 20);
  const withdrawTrials = flag(args, 'withdraw-trials', 5);
  const prefixes = flag(args, 'prefixes', 10_000);
  const killDefault = !args.includes('--no-kill-default');
  const gobgpOn = !args.includes('--no-gobgp');
  const source = args.includes('--source');
  const missing = missingPrereqs({
    root: true,
    binaries: ['ip', ...routerBinaries('frr'), ...(gobgpOn ? routerBinaries('gobgp') : [])],
  });
  if (missing) throw new Error(`bgp bench: ${missing}`);
  if (!source) execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const entry = source
    ? join(REPO_ROOT, 'speaker', 'main.ts')
    : join(REPO_ROOT, 'dist', 'speaker', 'main.js');
  const b = new BgpBench(entry);
  const { topo } = b;
  const row: BenchRow = { bench: 'bgp' };
  const started = Date.now();
  let gobgpd: ReturnType<typeof topo.seg.spawnRaw> | undefined;
  try {
    await topo.create();
    b.frrDir = join(topo.bgp.dir, 'frr');
    b.frr = await startRouter('frr', {
      ns: topo.bgp.router,
      dir: b.frrDir,
      as: 65000,
      routerId: ROUTER_V4,
      neighbors: topo.nodes.map((n) => ({
        address: n.ip,
        as: 65001,
        holdTime: 90,
        families: ['ipv4', 'ipv6'],
      })),
    });
    row.router =
      (await b.vtysh('show version'))
        .split('\n')
        .find((l) => l.startsWith('FRRouting'))
        ?.trim() ?? 'FRR';
    row.router_settings =
      'frr defaults datacenter (eBGP advertisement-interval 0), keepalive 3s, hold 90s offered';
    await topo.pool('bench', ['203.0.113.0/25', '2001:db8:100::/112']);
    await topo.bgpAdvertisement('bench', { ipAddressPools: ['bench'] });
    await b.peer(undefined);
    await Promise.all(topo.nodes.map((_, i) => topo.startSpeaker(i)));
    await topo.waitSessionStates(
      (x) => x.filter((s) => s.status?.state === 'Established').length === 3,
      30_000,
      '3 sessions Established',
    );
    await topo.service(NS, 'steady');
    await topo.serviceStatus(NS, 'steady', [STEADY]);
    await b.nextHopCount(host(STEADY), 3, 15_000);
    b.log('3 speakers up, steady VIP on 3 next hops');

    // --- convergence: status written → route in FRR's kernel table -----------------------------
    const first: number[] = [];
    const all: number[] = [];
    for (let k = 0; k < trials; k++) {
      const vip = `203.0.113.${10 + (k % 80)}`;
      const name = `c${k}`;
      await topo.service(NS, name);
      await sleep(200); // the speakers have seen the spec; only the status is new at t0
      const w = waitKernelRouteSteps(
        topo.bgp.router,
        host(vip),
        [(h) => h.length >= 1, (h) => h.length === 3],
        10_000,
      );
      await sleep(100); // the monitor is listening
      const t0 = Date.now();
      await topo.serviceStatus(NS, name, [vip]);
      const [r1, r3] = await w;
      first.push(r1!.t - t0);
      all.push(r3!.t - t0);
      await topo.deleteService(NS, name);
      await b.nextHopCount(host(vip), 0, 10_000);
    }
    row.converge_ms_p50 = percentile(first, 50);
    row.converge_ms_p99 = percentile(first, 99);
    row.converge_all_ms_p50 = percentile(all, 50);
    row.converge_all_ms_p99 = percentile(all, 99);
    row.converge_trials = trials;
    b.log(`converge: ${JSON.stringify(first)} all: ${JSON.stringify(all)}`);

    // --- graceful withdrawal -----------------------------------------------------------------------
    const graceful: number[] = [];
    for (let k = 0; k < withdrawTrials; k++) {
      const i = k % 3;
      const w = b.nextHopCount(host(STEADY), 2, 10_000);
      await sleep(100);
      const t0 = Date.now();
      const exit = await topo.stopSpeaker(i, 'SIGTERM');
      const r = await w;
      if (r.nextHops.includes(topo.nodes[i]!.ip)) throw new Error('the wrong next hop went');
      if (exit.code !== 0) throw new Error(`speaker exited ${JSON.stringify(exit)} on SIGTERM`);
      graceful.push(r.t - t0);
      await b.restart(i);
    }
    row.withdraw_graceful_ms = percentile(graceful, 50);
    row.withdraw_graceful_ms_max = graceful.length ? Math.max(...graceful) : null;
    row.withdraw_trials = withdrawTrials;
    b.log(`graceful: ${JSON.stringify(graceful)}`);

    // --- kill -9 of a node off the wire: hold-time expiry ----------------------------------------
    const killTrial = async (i: number, timeoutMs: number): Promise<number> => {
      const w = b.nextHopCount(host(STEADY), 2, timeoutMs);
      await sleep(100);
      topo.linkDown(i);
      const t0 = Date.now();
      await topo.stopSpeaker(i, 'SIGKILL');
      const r = await w;
      await topo.linkUp(i);
      await b.restart(i);
      return r.t - t0;
    };
    if (killDefault) {
      await b.waitNeighbors(
        (n) => topo.nodes.every((x) => n[x.ip]?.state === 'Established' && n[x.ip]?.holdMs === 90_000),
        30_000,
        'hold 90 s on every session',
      );
      row.withdraw_kill_ms = await killTrial(0, 120_000);
      b.log(`kill, default hold: ${row.withdraw_kill_ms} ms`);
    } else {
      row.withdraw_kill_ms = null;
    }
    await b.peer('3s');
    await b.waitNeighbors(
      (n) => topo.nodes.every((x) => n[x.ip]?.state === 'Established' && n[x.ip]?.holdMs === 3000),
      30_000,
      'hold 3 s on every session',
    );
    await b.nextHopCount(host(STEADY), 3, 15_000);
    const kill3: number[] = [];
    for (let k = 0; k < withdrawTrials; k++) kill3.push(await killTrial(k % 3, 15_000));
    row.withdraw_kill_3s_ms = percentile(kill3, 50);
    row.withdraw_kill_3s_ms_max = kill3.length ? Math.max(...kill3) : null;
    b.log(`kill, hold 3 s: ${JSON.stringify(kill3)}`);

    // --- bulk: N prefixes to one peer ---------------------------------------------------------------
    await topo.stopSpeaker(1, 'SIGTERM');
    await topo.stopSpeaker(2, 'SIGTERM');
    await topo.deleteBgpPeer('frr');
    await topo.deleteService(NS, 'steady');
    await b.nextHopCount(host(STEADY), 0, 15_000);
    const services = Math.ceil(prefixes / PER_SERVICE);
    const vips = hostRange(BULK_FIRST, prefixes);
    row.prefixes_how = `${services} Services x ${PER_SERVICE} IPv6 ingress IPs (${BULK_FIRST}..${vips.at(-1)}), status written by the bench, then the BGPPeer created; 1 speaker (n1), 1 peer`;
    row.prefixes = prefixes;
    await topo.ensureNamespace(BULK_NS);
    const tLoad = Date.now();
    for (let s = 0; s < services; s += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, services - s) }, async (_, k) => {
          const idx = s + k;
          await topo.service(BULK_NS, `b${idx}`);
          await topo.serviceStatus(
            BULK_NS,
            `b${idx}`,
            vips.slice(idx * PER_SERVICE, (idx + 1) * PER_SERVICE),
          );
        }),
      );
    }
    b.log(`${services} Services with ${prefixes} VIPs written in ${Date.now() - tLoad} ms`);
    // The session should start with the full set: wait until the speaker has digested the writes
    // (its own CPU idle for 0.5 s), however long that takes on a loaded machine.
    row.prefixes_settle_s = round1((await waitQuiet(topo.procs[0]!.pid!, 120_000)) / 1000);
    const n1 = topo.nodes[0]!;
    const est = b.watchEstablished(n1.ip, 60_000);
    const tPeer = Date.now();
    await b.peer(undefined);
    const tFull = await b.waitBulk((n) => n >= prefixes, 180_000, `${prefixes} routes`);
    const tEst = await est;
    row.prefixes_10k_converge_s = round3((tFull - tEst) / 1000);
    row.prefixes_10k_from_peer_s = round3((tFull - tPeer) / 1000);
    row.rss_mb = topo.rssMb(0);
    const env = runEnvironment(topo.procs[0]?.pid);
    const tStop = Date.now();
    await topo.stopSpeaker(0, 'SIGTERM');
    const tGone = await b.waitBulk((n) => n === 0, 120_000, '0 routes');
    row.prefixes_10k_withdraw_s = round3((tGone - tStop) / 1000);
    b.log(`ours: ${JSON.stringify(row)}`);

    if (gobgpOn) {
      const n2 = topo.nodes[1]!;
      const dir = join(topo.bgp.dir, 'gobgp-speaker');
      execFileSync('mkdir', ['-p', dir]);
      const conf = join(dir, 'gobgpd.toml');
      writeFileSync(conf, `[global.config]\n  as = 65001\n  router-id = "${n2.ip}"\n  port = -1\n`);
      const mrt = join(dir, 'routes.mrt');
      // Twice over: `gobgp mrt inject` exits without waiting for its gRPC stream to drain, so the
      // tail of a file can be lost; a repeat of the same paths only replaces them (same source).
      writeFileSync(
        mrt,
        mrtHostRoutes([...vips, ...vips], n2.ip6, { bgpId: n2.ip, address: n2.ip, as: 65001 }),
      );
      const bin = gobgpBinDir();
      gobgpd = topo.seg.spawnRaw(n2.ns, [
        join(bin, 'gobgpd'),
        '-f',
        conf,
        '--api-hosts',
        '127.0.0.1:50061',
        '--pprof-disable',
        '-l',
        'warn',
      ]);
      if (gobgpd.pid) writeFileSync(join(topo.bgp.dir, 'gobgpd-speaker.pid'), String(gobgpd.pid));
      const gobgp = (...a: string[]) =>
        execFileAsync('ip', ['netns', 'exec', n2.ns, join(bin, 'gobgp'), '-p', '50061', ...a], {
          timeout: 60_000,
        }).then((r) => r.stdout);
      const until = async (fn: () => Promise<boolean>, ms: number, what: string) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          if (await fn().catch(() => false)) return;
          await sleep(100);
        }
        throw new Error(`GoBGP: ${what} not reached in ${ms} ms`);
      };
      await until(async () => (await gobgp('global')).includes('AS'), 15_000, 'API up');
      const tInject = Date.now();
      const ribCount = async () =>
        Number(/Destination: (\d+)/.exec(await gobgp('global', 'rib', '-a', 'ipv6', 'summary'))?.[1] ?? 0);
      for (let k = 0; k < 20 && (await ribCount()) < prefixes; k++)
        await gobgp('mrt', 'inject', 'global', mrt);
      await until(async () => (await ribCount()) === prefixes, 10_000, `${prefixes} paths in the global RIB`);
      b.log(`GoBGP: ${prefixes} paths injected in ${Date.now() - tInject} ms`);
      const gEstP = b.watchEstablished(n2.ip, 60_000);
      const tAdd = Date.now();
      await gobgp('neighbor', 'add', ROUTER_V4, 'as', '65000', 'family', 'ipv4-unicast,ipv6-unicast');
      const gFull = await b.waitBulk((n) => n >= prefixes, 180_000, `${prefixes} routes from GoBGP`);
      const gEst = await gEstP;
      row.gobgp_prefixes_10k_converge_s = round3((gFull - gEst) / 1000);
      row.gobgp_prefixes_10k_from_peer_s = round3((gFull - tAdd) / 1000);
      row.gobgp_rss_mb = rssMbOf(gobgpd.pid);
      row.gobgp_version = (await gobgp('--version').catch(() => '')).trim() || 'v3.37.0';
      row.ratio_gobgp =
        row.gobgp_prefixes_10k_converge_s > 0
          ? round3((row.prefixes_10k_converge_s as number) / row.gobgp_prefixes_10k_converge_s)
          : null;
    }
    Object.assign(row, env, { loadavg_1m: Number(loadavg()[0]?.toFixed(2)) });
    row.speaker_entry = source ? 'speaker/main.ts' : 'dist/speaker/main.js';
    row.bench_s = round1((Date.now() - started) / 1000);
    return [row];
  } finally {
    if (gobgpd && gobgpd.exitCode === null) gobgpd.kill('SIGKILL');
    await b.frr?.stop().catch(() => {});
    await topo.destroy();
  }
};

export default bench;

// The BGP test bed shared by test/e2e/bgp/*.test.ts and the bgp bench:
//
//   switch namespace: br0 ─┬─ router rt (192.0.2.1/24, 2001:db8:1::1/64) ── eth1 ── client cl
//                          ├─ node n1  (192.0.2.11, 2001:db8:1::11)         198.51.100.1/24   198.51.100.2/24
//                          ├─ node n2  (192.0.2.12, 2001:db8:1::12)         2001:db8:2::1/64  2001:db8:2::2/64
//                          └─ node n3  (192.0.2.13, 2001:db8:1::13)
//
// The router forwards (IPv4 and IPv6) with an L4 multipath hash, so connections from one client
// spread over the next hops of an ECMP route. Every node has every VIP of the run on `lo`, a
// default route via the router, and a TCP server on :8080 that answers with the node's name. The
// speakers are peer-driver.ts processes started in the node namespaces. Everything is inside
// namespaces created here (documentation addresses only), removed by destroy(); create() first
// removes what a killed earlier run with the same label left behind.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PeerStatus } from '../../../speaker/bgp/peer.ts';
import { REPO_ROOT } from '../../envtest/index.ts';
import { JsonLines, Segment } from '../../speaker/support/netns.ts';
import type { DriverConfig, DriverLine } from './peer-driver.ts';
import { reapLeftovers } from './routers.ts';

const execFileAsync = promisify(execFile);
export const PEER_DRIVER = join(REPO_ROOT, 'test', 'e2e', 'bgp', 'peer-driver.ts');
export const TCP_PORT = 8080;

export const ROUTER_V4 = '192.0.2.1';
export const ROUTER_V6 = '2001:db8:1::1';
export const CLIENT_V4 = '198.51.100.2';
export const CLIENT_V6 = '2001:db8:2::2';

export interface BgpTopologyOptions {
  /** Short label for namespace names (≤ 6 chars); leftovers of this label are removed on create. */
  label: string;
  nodes?: number;
  /** VIPs (host addresses, v4 and/or v6) put on every node's `lo`. */
  vips: string[];
  log?: (msg: string) => void;
}

export interface BgpNode {
  name: string;
  ns: string;
  ip: string;
  ip6: string;
  driver?: Driver;
}

/** A running peer-driver.ts. */
export class Driver {
  readonly proc: ChildProcess;
  readonly lines: JsonLines;

  constructor(proc: ChildProcess) {
    this.proc = proc;
    this.lines = new JsonLines(proc);
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The latest status line of `peer`. */
  status(peer: string): (PeerStatus & DriverLine) | undefined {
    return this.lines.lines.filter((l) => l.event === 'status' && l.peer === peer).at(-1) as
      | (PeerStatus & DriverLine)
      | undefined;
  }

  /** Resolves with the first status line of `peer` (from now on, or already seen when `past`) matching. */
  waitStatus(
    peer: string,
    pred: (s: PeerStatus) => boolean,
    timeoutMs = 10_000,
    past = true,
  ): Promise<PeerStatus & DriverLine> {
    const from = past ? 0 : this.lines.lines.length;
    const seen = new Set(this.lines.lines.slice(0, from));
    return this.lines.waitFor(
      (l) =>
        (past || !seen.has(l)) && l.event === 'status' && l.peer === peer && pred(l as unknown as PeerStatus),
      timeoutMs,
    ) as Promise<PeerStatus & DriverLine>;
  }

  send(cmd: { routes?: unknown[]; stop?: 'graceful' | 'hard' }): void {
    this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Sends `signal`; resolves when the process exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill(signal);
    await exited;
  }
}

export class BgpTopology {
  readonly seg: Segment;
  readonly opts: BgpTopologyOptions;
  readonly nodes: BgpNode[] = [];
  router = '';
  client = '';
  /** Private directory of this run (router configs, pid files). */
  readonly root: string;
  readonly dir: string;
  private servers: ChildProcess[] = [];
  private drivers: Driver[] = [];
  /** Namespaces outside the segment (the client). */
  private readonly extraNs: string[] = [];

  constructor(opts: BgpTopologyOptions) {
    this.opts = opts;
    this.seg = new Segment(opts.label);
    this.root = `/tmp/portico-bgp-${opts.label}`;
    this.dir = join(this.root, this.seg.id);
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  /** Removes namespaces and daemons left by a killed earlier run of this label. */
  static async cleanLeftovers(label: string): Promise<void> {
    reapLeftovers(`/tmp/portico-bgp-${label}`);
    const out = await execFileAsync('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
    for (const line of out.stdout.split('\n')) {
      const name = line.split(' ')[0];
      if (name?.startsWith(`pt-${label}-`)) {
        await execFileAsync('ip', ['netns', 'del', name]).catch(() => {});
      }
    }
  }

  async create(): Promise<void> {
    await BgpTopology.cleanLeftovers(this.opts.label);
    mkdirSync(this.dir, { recursive: true });
    try {
      this.build();
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  private build(): void {
    const seg = this.seg;
    seg.create();
    this.router = seg.addHost('rt', '02:00:00:00:0b:01', [`${ROUTER_V4}/24`, `${ROUTER_V6}/64`]);
    for (const s of [
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      // Hash on ports too: one client's connections spread over the ECMP next hops.
      'net.ipv4.fib_multipath_hash_policy=1',
      'net.ipv6.fib_multipath_hash_policy=1',
    ]) {
      seg.exec(this.router, ['sysctl', '-qw', s]);
    }
    // The client sits behind the router on its own link.
    this.client = `pt-${this.opts.label}-${seg.id}-cl`;
    Segment.run(['ip', 'netns', 'add', this.client]);
    this.extraNs.push(this.client);
    seg.exec(this.client, ['ip', 'link', 'set', 'lo', 'up']);
    seg.exec(this.client, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0']);
    seg.exec(this.client, ['sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
    Segment.run([
      'ip',
      'link',
      'add',
      'eth1',
      'netns',
      this.router,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      this.client,
    ]);
    seg.exec(this.router, ['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'eth1']);
    seg.exec(this.router, ['ip', 'addr', 'add', '2001:db8:2::1/64', 'dev', 'eth1', 'nodad']);
    seg.exec(this.router, ['ip', 'link', 'set', 'eth1', 'up']);
    seg.exec(this.client, ['ip', 'addr', 'add', `${CLIENT_V4}/24`, 'dev', 'eth0']);
    seg.exec(this.client, ['ip', 'addr', 'add', `${CLIENT_V6}/64`, 'dev', 'eth0', 'nodad']);
    seg.exec(this.client, ['ip', 'link', 'set', 'eth0', 'up']);
    seg.exec(this.client, ['ip', 'route', 'add', 'default', 'via', '198.51.100.1']);
    seg.exec(this.client, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1']);

    const n = this.opts.nodes ?? 3;
    for (let i = 0; i < n; i++) {
      const name = `n${i + 1}`;
      const ip = `192.0.2.${11 + i}`;
      const ip6 = `2001:db8:1::${11 + i}`;
      const ns = seg.addHost(name, `02:00:00:00:0b:${(0x11 + i).toString(16)}`, [`${ip}/24`, `${ip6}/64`]);
      seg.exec(ns, ['ip', 'route', 'add', 'default', 'via', ROUTER_V4]);
      seg.exec(ns, ['ip', '-6', 'route', 'add', 'default', 'via', ROUTER_V6]);
      for (const vip of this.opts.vips) {
        seg.exec(ns, ['ip', 'addr', 'add', `${vip}/${vip.includes(':') ? 128 : 32}`, 'dev', 'lo']);
      }
      this.servers.push(
        seg.spawnRaw(ns, [
          process.execPath,
          '-e',
          `require('net').createServer((s) => s.end(${JSON.stringify(`${name}\n`)})).listen(${TCP_PORT}, '::')`,
        ]),
      );
      this.nodes.push({ name, ns, ip, ip6 });
    }
    this.log(`bgp topology ${seg.id}: router ${this.router}, client ${this.client}, ${n} nodes`);
  }

  /** Starts peer-driver.ts in node i with `cfg`; resolves once it printed "started". */
  async startDriver(i: number, cfg: DriverConfig): Promise<Driver> {
    const node = this.nodes[i]!;
    if (node.driver?.running) throw new Error(`driver in ${node.name} is already running`);
    const proc = spawn('ip', ['netns', 'exec', node.ns, process.execPath, PEER_DRIVER, JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const d = new Driver(proc);
    node.driver = d;
    this.drivers.push(d);
    if (proc.pid) writeFileSync(join(this.dir, `driver-${node.name}-${proc.pid}.pid`), String(proc.pid));
    await d.lines.waitFor((l) => l.event === 'started', 15_000);
    return d;
  }

  /**
   * `count` TCP connections from the client to vip:8080 (one at a time, a fresh source port
   * each); the node names that answered (undefined for a failed connection).
   */
  async connectMany(vip: string, count: number): Promise<Array<string | undefined>> {
    const script = `
const net = require('net');
(async () => {
  const out = [];
  for (let i = 0; i < ${count}; i++) {
    out.push(await new Promise((resolve) => {
      const s = net.connect({ host: ${JSON.stringify(vip)}, port: ${TCP_PORT}, timeout: 1000 });
      let d = '';
      s.on('data', (c) => (d += c));
      s.on('end', () => resolve(d.trim() || null));
      s.on('timeout', () => { s.destroy(); resolve(null); });
      s.on('error', () => resolve(null));
    }));
  }
  console.log(JSON.stringify(out));
})();`;
    const r = await execFileAsync('ip', ['netns', 'exec', this.client, process.execPath, '-e', script], {
      timeout: count * 1500 + 5000,
    });
    return (JSON.parse(r.stdout) as Array<string | null>).map((x) => x ?? undefined);
  }

  async destroy(): Promise<void> {
    for (const d of this.drivers) await d.kill('SIGKILL').catch(() => {});
    for (const s of this.servers) s.kill('SIGKILL');
    this.seg.destroy();
    for (const ns of this.extraNs) {
      try {
        Segment.run(['ip', 'netns', 'del', ns]);
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Real BGP routers in a network namespace, for the BGP e2e (test/e2e/bgp/) and the bgp bench:
 * BIRD 2 and FRR (Debian packages; they program the namespace's kernel table, ECMP as multipath
 * routes) and GoBGP (built from its Go module; no kernel, its RIB is read over its CLI).
 *
 * Every router is passive (our speaker only connects out, ADR 100), keeps its config, pid files
 * and control sockets in a private directory, and logs to a file there. Each start writes its
 * pids into `<dir>/*.pid`; reapLeftovers() kills what a killed earlier run left behind, by pid.
 *
 *   const r = await startRouter('bird', { ns, dir, as: 65000, routerId, neighbors, ... });
 *   await r.waitEstablished(['192.0.2.11'], 10_000);
 *   const { t, nextHops } = await r.waitNextHops('203.0.113.10/32', 3, 10_000);
 *   await r.stop();
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type RouterKind = 'bird' | 'frr' | 'gobgp';
export type FamilyName = 'ipv4' | 'ipv6';

export interface Neighbor {
  address: string;
  as: number;
  /** TCP MD5 password the router expects. */
  password?: string;
  /** Hold time the router offers (default 9; the session uses the smaller of the two). */
  holdTime?: number;
  families: FamilyName[];
}

export interface RouterOptions {
  /** The namespace to run in (must exist). */
  ns: string;
  /** A private directory for config, pid files, sockets and logs (created). */
  dir: string;
  as: number;
  routerId: string;
  neighbors: Neighbor[];
  /** ECMP width (default 8). */
  maximumPaths?: number;
  /** The router's own addresses (GoBGP listens on these; default every address). */
  listen?: string[];
  /** GoBGP gRPC API port on the namespace's loopback (default 50051). */
  apiPort?: number;
}

export interface Router {
  readonly kind: RouterKind;
  readonly ns: string;
  /** True when routes land in the namespace's kernel table (BIRD, FRR). */
  readonly programsKernel: boolean;
  /** Neighbor address → its BGP state in the router's words, normalised: 'Established' or other. */
  sessions(): Promise<Record<string, string>>;
  waitEstablished(addresses: string[], timeoutMs?: number): Promise<number>;
  /** Next hops of `prefix` in the router's table (kernel for BIRD/FRR, RIB paths for GoBGP). */
  nextHops(prefix: string): Promise<string[]>;
  /**
   * Resolves with the time (ms epoch) at which `prefix` first had exactly `count` next hops
   * (0 = withdrawn), observed by `ip monitor route` events (BIRD, FRR) or polling every few ms
   * (GoBGP). Rejects after timeoutMs.
   */
  waitNextHops(prefix: string, count: number, timeoutMs?: number): Promise<{ t: number; nextHops: string[] }>;
  /** The router's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Where the Go-module build of GoBGP lives (`go install …@v3.37.0` with GOBIN there). */
export const GOBGP_VERSION = 'v3.37.0';
export function gobgpBinDir(): string {
  const cache = process.env.PORTICO_CACHE ?? join(homedir(), '.cache', 'portico');
  return join(cache, `gobgp-${GOBGP_VERSION}`);
}

/** Binaries each router needs, for test/support/require.ts. */
export function routerBinaries(kind: RouterKind): string[] {
  if (kind === 'bird') return ['bird', 'birdc'];
  if (kind === 'frr') return ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh'];
  return [join(gobgpBinDir(), 'gobgpd'), join(gobgpBinDir(), 'gobgp')];
}

export function startRouter(kind: RouterKind, o: RouterOptions): Promise<Router> {
  if (kind === 'bird') return startBird(o);
  if (kind === 'frr') return startFrr(o);
  return startGobgp(o);
}

// --- shared plumbing -----------------------------------------------------------------------------

async function nsExecAsync(ns: string, args: string[], timeoutMs = 5000): Promise<string> {
  const r = await execFileAsync('ip', ['netns', 'exec', ns, ...args], { timeout: timeoutMs });
  return r.stdout;
}

/** Spawns a daemon inside `ns` with stdout+stderr appended to `logFile`; records its pid in `pidFile`. */
function spawnDaemon(ns: string, argv: string[], logFile: string, pidFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', fd, fd] });
  if (child.pid) writeFileSync(pidFile, String(child.pid));
  return child;
}

async function stopChild(child: ChildProcess | undefined, timeoutMs = 3000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/**
 * Kills daemons a killed earlier run left behind: every `*.pid` under `root` (the runs' private
 * directories), by pid, then removes the directories. Only processes whose command line names a
 * router binary are killed, so a recycled pid is left alone.
 */
export function reapLeftovers(root: string): void {
  if (!existsSync(root)) return;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.pid')) {
        const pid = Number(readFileSync(p, 'utf8').trim());
        if (!Number.isInteger(pid) || pid <= 1) continue;
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (/bird|bgpd|zebra|gobgpd|peer-driver/.test(cmd)) killPid(pid);
      }
    }
  };
  walk(root);
  rmSync(root, { recursive: true, force: true });
}

/** Kernel next hops of `prefix` in `ns` (`ip -j route show` exact match; multipath → several). */
export async function kernelNextHops(ns: string, prefix: string): Promise<string[]> {
  const v6 = prefix.includes(':');
  const out = await execFileAsync('ip', ['-n', ns, '-j', v6 ? '-6' : '-4', 'route', 'show', prefix]);
  const routes = JSON.parse(out.stdout || '[]') as Array<{
    gateway?: string;
    nexthops?: Array<{ gateway?: string }>;
  }>;
  const hops: string[] = [];
  for (const r of routes) {
    if (r.gateway) hops.push(r.gateway);
    for (const n of r.nexthops ?? []) if (n.gateway) hops.push(n.gateway);
  }
  return hops.sort();
}

/**
 * Waits for `prefix` to have `count` next hops in the kernel table of `ns`, driven by
 * `ip monitor route` (each event triggers one `ip route show`), so the time is the event's.
 */
export async function waitKernelNextHops(
  ns: string,
  prefix: string,
  count: number,
  timeoutMs = 10_000,
): Promise<{ t: number; nextHops: string[] }> {
  const mon = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let done = false;
  let poll: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise((resolve, reject) => {
      let busy = false;
      let again = false;
      const check = async (t: number): Promise<void> => {
        if (done) return;
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          const hops = await kernelNextHops(ns, prefix);
          if (!done && hops.length === count) {
            done = true;
            resolve({ t, nextHops: hops });
          }
        } catch {
          // transient: the next event or the fallback poll retries
        } finally {
          busy = false;
          if (again && !done) {
            again = false;
            void check(Date.now());
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
          new Error(
            `${prefix} in ${ns}: never ${count} next hops in ${timeoutMs} ms (now ${JSON.stringify(last)})`,
          ),
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

async function pollUntil<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  intervalMs: number,
  what: string,
): Promise<{ t: number; value: T }> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      const v = await read();
      const t = Date.now();
      last = v;
      if (ok(v)) return { t, value: v };
    } catch (err) {
      lastErr = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not reached in ${timeoutMs} ms (last ${JSON.stringify(last)}; ${lastErr ?? ''})`);
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// --- BIRD 2 --------------------------------------------------------------------------------------

export function birdConfig(o: RouterOptions): { text: string; protocols: Map<string, string> } {
  const protocols = new Map<string, string>();
  const lines = [
    `router id ${o.routerId};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    // ECMP: equal BGP routes from several neighbors merged into one multipath kernel route.
    `protocol kernel k4 { ipv4 { import none; export all; }; merge paths on limit ${o.maximumPaths ?? 8}; }`,
    `protocol kernel k6 { ipv6 { import none; export all; }; merge paths on limit ${o.maximumPaths ?? 8}; }`,
  ];
  o.neighbors.forEach((n, i) => {
    const name = `n${i}`;
    protocols.set(name, n.address);
    lines.push(
      `protocol bgp ${name} {`,
      `  local as ${o.as};`,
      `  neighbor ${n.address} as ${n.as};`,
      '  passive on;',
      `  hold time ${n.holdTime ?? 9};`,
      '  start delay time 1;',
      '  error wait time 1, 5;',
      ...(n.password !== undefined ? [`  password "${n.password}";`] : []),
      ...n.families.map((f) => `  ${f} { import all; export none; };`),
      '}',
    );
  });
  return { text: `${lines.join('\n')}\n`, protocols };
}

async function startBird(o: RouterOptions): Promise<Router> {
  mkdirSync(o.dir, { recursive: true });
  const { text, protocols } = birdConfig(o);
  const conf = join(o.dir, 'bird.conf');
  const sock = join(o.dir, 'bird.ctl');
  const logFile = join(o.dir, 'bird.log');
  writeFileSync(conf, text);
  const child = spawnDaemon(
    o.ns,
    ['bird', '-f', '-c', conf, '-s', sock, '-P', join(o.dir, 'bird-own.pid')],
    logFile,
    join(o.dir, 'bird.pid'),
  );
  await pollUntil(async () => existsSync(sock), Boolean, 10_000, 20, 'bird control socket');
  const birdc = (...args: string[]) => nsExecAsync(o.ns, ['birdc', '-s', sock, ...args]);
  const r: Router = {
    kind: 'bird',
    ns: o.ns,
    programsKernel: true,
    async sessions() {
      const out = await birdc('show', 'protocols');
      const res: Record<string, string> = {};
      for (const line of out.split('\n')) {
        const m = /^(n\d+)\s+BGP\s+\S+\s+(\S+)\s+\S+\s*(.*)$/.exec(line.trim());
        if (!m) continue;
        const addr = protocols.get(m[1]!);
        if (addr) res[addr] = m[3]!.includes('Established') ? 'Established' : m[3]!.trim() || m[2]!;
      }
      return res;
    },
    waitEstablished: (addresses, timeoutMs = 15_000) => waitEstablished(r, addresses, timeoutMs),
    nextHops: (prefix) => kernelNextHops(o.ns, prefix),
    waitNextHops: (prefix, count, timeoutMs) => waitKernelNextHops(o.ns, prefix, count, timeoutMs),
    log: () => readLog(logFile),
    stop: () => stopChild(child),
  };
  return r;
}

// --- FRR -----------------------------------------------------------------------------------------

export function frrConfig(o: RouterOptions): string {
  const lines = [
    'frr defaults datacenter',
    'hostname portico-e2e-router',
    'log stdout informational',
    `router bgp ${o.as}`,
    ` bgp router-id ${o.routerId}`,
    // FRR ≥ 8 refuses eBGP routes without policy; a test router accepts everything.
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' bgp bestpath as-path multipath-relax',
  ];
  for (const n of o.neighbors) {
    lines.push(` neighbor ${n.address} remote-as ${n.as}`);
    lines.push(` neighbor ${n.address} passive`);
    lines.push(` neighbor ${n.address} timers 3 ${n.holdTime ?? 9}`);
    lines.push(` neighbor ${n.address} timers connect 1`);
    if (n.password !== undefined) lines.push(` neighbor ${n.address} password ${n.password}`);
  }
  for (const fam of ['ipv4', 'ipv6'] as const) {
    lines.push(` address-family ${fam} unicast`);
    lines.push(`  maximum-paths ${o.maximumPaths ?? 8}`);
    for (const n of o.neighbors) if (n.families.includes(fam)) lines.push(`  neighbor ${n.address} activate`);
    lines.push(' exit-address-family');
  }
  return `${lines.join('\n')}\n`;
}

async function startFrr(o: RouterOptions): Promise<Router> {
  mkdirSync(o.dir, { recursive: true });
  const conf = join(o.dir, 'frr.conf');
  const zconf = join(o.dir, 'zebra.conf');
  writeFileSync(conf, frrConfig(o));
  writeFileSync(zconf, 'hostname portico-e2e-zebra\n');
  const zsock = join(o.dir, 'zserv.api');
  // The daemons drop privileges to the frr user (Debian's default): the directory must be theirs.
  execFileSync('chown', ['-R', 'frr:frr', o.dir]);
  const common = ['--vty_socket', o.dir, '-z', zsock, '-A', '127.0.0.1'];
  const zebra = spawnDaemon(
    o.ns,
    ['/usr/lib/frr/zebra', '-f', zconf, '-i', join(o.dir, 'zebra-own.pid'), ...common, '-P', '0'],
    join(o.dir, 'zebra.log'),
    join(o.dir, 'zebra.pid'),
  );
  await pollUntil(async () => existsSync(zsock), Boolean, 10_000, 20, 'zebra socket');
  const bgpd = spawnDaemon(
    o.ns,
    ['/usr/lib/frr/bgpd', '-f', conf, '-i', join(o.dir, 'bgpd-own.pid'), ...common, '-P', '0', '-p', '179'],
    join(o.dir, 'bgpd.log'),
    join(o.dir, 'bgpd.pid'),
  );
  const vtysh = (cmd: string) => nsExecAsync(o.ns, ['vtysh', '--vty_socket', o.dir, '-c', cmd]);
  await pollUntil(
    () => vtysh('show bgp summary json'),
    (s) => s.includes('{'),
    10_000,
    50,
    'bgpd vty',
  );
  const r: Router = {
    kind: 'frr',
    ns: o.ns,
    programsKernel: true,
    async sessions() {
      const j = JSON.parse(await vtysh('show bgp neighbors json')) as Record<string, { bgpState?: string }>;
      const res: Record<string, string> = {};
      for (const [addr, v] of Object.entries(j)) if (v.bgpState) res[addr] = v.bgpState;
      return res;
    },
    waitEstablished: (addresses, timeoutMs = 15_000) => waitEstablished(r, addresses, timeoutMs),
    nextHops: (prefix) => kernelNextHops(o.ns, prefix),
    waitNextHops: (prefix, count, timeoutMs) => waitKernelNextHops(o.ns, prefix, count, timeoutMs),
    log: () => readLog(join(o.dir, 'bgpd.log')) + readLog(join(o.dir, 'zebra.log')),
    async stop() {
      await stopChild(bgpd);
      await stopChild(zebra);
    },
  };
  return r;
}

// --- GoBGP ---------------------------------------------------------------------------------------

export function gobgpConfig(o: RouterOptions): string {
  const local = o.listen?.length ? o.listen : ['0.0.0.0'];
  const lines = [
    '[global.config]',
    `  as = ${o.as}`,
    `  router-id = "${o.routerId}"`,
    '  port = 179',
    `  local-address-list = [${local.map((a) => `"${a}"`).join(', ')}]`,
    '[global.use-multiple-paths.config]',
    '  enabled = true',
  ];
  for (const n of o.neighbors) {
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${n.address}"`,
      `    peer-as = ${n.as}`,
      ...(n.password !== undefined ? [`    auth-password = "${n.password}"`] : []),
      '  [neighbors.timers.config]',
      `    hold-time = ${n.holdTime ?? 9}`,
      `    keepalive-interval = ${Math.max(1, Math.floor((n.holdTime ?? 9) / 3))}`,
      '    connect-retry = 1',
      '  [neighbors.transport.config]',
      '    passive-mode = true',
    );
    for (const f of n.families) {
      lines.push(
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        `      afi-safi-name = "${f}-unicast"`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

interface GobgpPath {
  nlri?: { prefix?: string };
  attrs?: Array<{ type: number; nexthop?: string; value?: unknown }>;
  'neighbor-ip'?: string;
  withdrawal?: boolean;
}

async function startGobgp(o: RouterOptions): Promise<Router> {
  mkdirSync(o.dir, { recursive: true });
  const conf = join(o.dir, 'gobgpd.toml');
  writeFileSync(conf, gobgpConfig(o));
  const bin = gobgpBinDir();
  const api = `127.0.0.1:${o.apiPort ?? 50051}`;
  const logFile = join(o.dir, 'gobgpd.log');
  const child = spawnDaemon(
    o.ns,
    [join(bin, 'gobgpd'), '-f', conf, '--api-hosts', api, '--pprof-disable', '-l', 'info', '-p'],
    logFile,
    join(o.dir, 'gobgpd.pid'),
  );
  const gobgp = (...args: string[]) =>
    nsExecAsync(o.ns, [join(bin, 'gobgp'), '-u', '127.0.0.1', '-p', String(o.apiPort ?? 50051), ...args]);
  await pollUntil(
    () => gobgp('global'),
    (s) => s.includes('AS'),
    10_000,
    50,
    'gobgpd API',
  );
  const r: Router = {
    kind: 'gobgp',
    ns: o.ns,
    programsKernel: false,
    async sessions() {
      const j = JSON.parse(await gobgp('-j', 'neighbor')) as Array<{
        state?: { neighbor_address?: string; session_state?: number | string };
        conf?: { neighbor_address?: string };
      }>;
      const res: Record<string, string> = {};
      for (const n of j) {
        const addr = n.state?.neighbor_address ?? n.conf?.neighbor_address;
        const st = n.state?.session_state;
        if (addr)
          res[addr] = st === 6 || st === 'established' || st === 'ESTABLISHED' ? 'Established' : String(st);
      }
      return res;
    },
    waitEstablished: (addresses, timeoutMs = 15_000) => waitEstablished(r, addresses, timeoutMs),
    async nextHops(prefix) {
      const fam = prefix.includes(':') ? 'ipv6' : 'ipv4';
      let out: string;
      try {
        out = await gobgp('-j', 'global', 'rib', '-a', fam, prefix);
      } catch {
        return []; // "Network not in table"
      }
      const j = JSON.parse(out || '{}') as Record<string, GobgpPath[]>;
      const hops: string[] = [];
      for (const paths of Object.values(j)) {
        for (const p of paths) {
          if (p.withdrawal) continue;
          const nh = p.attrs?.find((a) => (a.type === 3 || a.type === 14) && a.nexthop)?.nexthop;
          if (nh) hops.push(nh);
        }
      }
      return hops.sort();
    },
    async waitNextHops(prefix, count, timeoutMs = 10_000) {
      const { t, value } = await pollUntil(
        () => r.nextHops(prefix),
        (h) => h.length === count,
        timeoutMs,
        5,
        `${prefix} with ${count} paths in GoBGP`,
      );
      return { t, nextHops: value };
    },
    log: () => readLog(logFile),
    stop: () => stopChild(child),
  };
  return r;
}

async function waitEstablished(r: Router, addresses: string[], timeoutMs: number): Promise<number> {
  const { t } = await pollUntil(
    () => r.sessions(),
    (s) => addresses.every((a) => s[a] === 'Established'),
    timeoutMs,
    50,
    `${r.kind}: sessions ${addresses.join(', ')} Established`,
  );
  return t;
}

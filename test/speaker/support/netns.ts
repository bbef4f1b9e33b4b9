import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A throwaway L2 segment made of network namespaces: one "switch" namespace holding a bridge,
 * and any number of host namespaces each with an `eth0` veth whose peer is a bridge port.
 * Everything lives inside namespaces this object created (the root namespace is never touched),
 * names carry a random run id, and destroy() deletes them all (deleting a namespace deletes its
 * interfaces). Only documentation addresses are used by the callers.
 */
export class Segment {
  readonly id = randomBytes(3).toString('hex');
  readonly switchNs: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private ports = 0;

  readonly label: string;

  constructor(label: string) {
    this.label = label;
    this.switchNs = `pt-${label}-${this.id}-sw`;
  }

  static run(args: string[]): string {
    return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Runs a command inside namespace `ns`, returns stdout; throws with stderr on failure. */
  exec(ns: string, args: string[]): string {
    return Segment.run(['ip', 'netns', 'exec', ns, ...args]);
  }

  async execAsync(ns: string, args: string[], timeoutMs = 10_000): Promise<{ stdout: string; code: number }> {
    try {
      const r = await execFileAsync('ip', ['netns', 'exec', ns, ...args], { timeout: timeoutMs });
      return { stdout: r.stdout, code: 0 };
    } catch (err) {
      const e = err as { stdout?: string; code?: number };
      return { stdout: e.stdout ?? '', code: typeof e.code === 'number' ? e.code : -1 };
    }
  }

  private addNs(name: string): void {
    Segment.run(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    this.exec(name, ['ip', 'link', 'set', 'lo', 'up']);
    // No duplicate address detection: addresses are usable at once and IPv6 link-local
    // sources exist before the first NA is sent.
    this.exec(name, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0']);
    this.exec(name, ['sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
  }

  /** Where each live segment records the pid that owns it (see reapStale). */
  static readonly RUN_DIR = '/run/portico-e2e';

  /**
   * Deletes what segments of dead processes left behind: a run killed before destroy() keeps its
   * namespaces and its root-side veth `ptr<id>` (with an address in a documentation /24), which
   * would shadow the next run's routes. Segments of live processes (a parallel run) are kept.
   */
  static reapStale(): void {
    let ids: string[] = [];
    try {
      ids = readdirSync(Segment.RUN_DIR);
    } catch {
      return;
    }
    for (const id of ids) {
      const file = join(Segment.RUN_DIR, id);
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) continue;
      for (const ns of Segment.run(['ip', 'netns', 'list']).split('\n')) {
        const name = ns.split(' ')[0] ?? '';
        if (name.startsWith('pt-') && name.includes(`-${id}-`)) {
          try {
            Segment.run(['ip', 'netns', 'del', name]);
          } catch {
            // raced with another reaper
          }
        }
      }
      try {
        Segment.run(['ip', 'link', 'del', `ptr${id}`]);
      } catch {
        // no root veth for this segment
      }
      rmSync(file, { force: true });
    }
  }

  create(): void {
    Segment.reapStale();
    mkdirSync(Segment.RUN_DIR, { recursive: true });
    writeFileSync(join(Segment.RUN_DIR, this.id), `${process.pid}\n`);
    this.addNs(this.switchNs);
    this.exec(this.switchNs, ['ip', 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0']);
    // No multicast snooping: NDP to solicited-node groups must reach every port.
    this.exec(this.switchNs, ['ip', 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    this.exec(this.switchNs, ['ip', 'link', 'set', 'br0', 'up']);
  }

  /**
   * The one thing a segment may put in the root namespace: a veth `ptr<id>` whose peer is a bridge
   * port, holding `address` (with its prefix length), so a process in the root namespace (the
   * envtest kube-apiserver) is reachable from the hosts. reapStale() removes it after a killed run.
   */
  addRootLink(address: string): string {
    const name = `ptr${this.id}`;
    Segment.run(['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'papi', 'netns', this.switchNs]);
    this.exec(this.switchNs, ['ip', 'link', 'set', 'papi', 'master', 'br0', 'up']);
    Segment.run(['ip', 'addr', 'add', address, 'dev', name]);
    Segment.run(['ip', 'link', 'set', name, 'up']);
    return name;
  }

  /** Adds a host namespace with eth0 (given MAC) plugged into the bridge; returns its name. */
  addHost(short: string, mac: string, addresses: string[]): string {
    const ns = `pt-${this.label}-${this.id}-${short}`;
    this.addNs(ns);
    const port = `p${this.ports++}`;
    Segment.run([
      'ip',
      'link',
      'add',
      'eth0',
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      port,
      'netns',
      this.switchNs,
    ]);
    this.exec(this.switchNs, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
    this.exec(ns, ['ip', 'link', 'set', 'eth0', 'address', mac, 'up']);
    for (const a of addresses) this.exec(ns, ['ip', 'addr', 'add', a, 'dev', 'eth0']);
    return ns;
  }

  /** Starts `node <script> ...args` inside `ns`. The pid is the node process itself (ip netns exec execs). */
  spawnNode(ns: string, script: string, args: string[]): ChildProcess {
    return this.spawnNodeEnv(ns, script, args, {});
  }

  spawnNodeEnv(ns: string, script: string, args: string[], env: Record<string, string>): ChildProcess {
    return this.spawnRaw(ns, [process.execPath, script, ...args], env);
  }

  /** Starts any command inside `ns` with stdout/stderr piped; killed by destroy(). */
  spawnRaw(ns: string, argv: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  destroy(): void {
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) {
      try {
        Segment.run(['ip', 'netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    this.namespaces.length = 0;
    rmSync(join(Segment.RUN_DIR, this.id), { force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Collects JSON lines a child prints on stdout; waitFor resolves on the first line matching. */
export class JsonLines {
  readonly lines: Array<Record<string, unknown>> = [];
  private waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  stderr = '';

  constructor(child: ChildProcess) {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
  }

  waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const hit = this.lines.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for a line; stderr: ${this.stderr.slice(-2000)}`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}

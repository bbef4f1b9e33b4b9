import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { type Link, linksFromIpJson } from './interfaces.ts';

const execFileAsync = promisify(execFile);

/** Thin shell: the node's links as `ip -j -d addr show` reports them (needs iproute2). */
export async function readLinks(): Promise<Link[]> {
  const { stdout } = await execFileAsync('ip', ['-j', '-d', 'addr', 'show'], { maxBuffer: 16 * 1024 * 1024 });
  return linksFromIpJson(JSON.parse(stdout));
}

export interface LinkWatcherOptions {
  /** Called with the fresh link list after every change (debounced) and every `periodMs`. */
  onLinks: (links: Link[]) => void;
  onError?: (err: Error) => void;
  /** Collapse bursts of netlink events, ms. */
  debounceMs?: number;
  /** Rescan even without events (the safety net if `ip monitor` dies), ms. */
  periodMs?: number;
}

/**
 * Rescan hook: runs `ip monitor link address` and rescans shortly after any event (a link going
 * down must make the node ineligible within a beat or two), plus a periodic rescan.
 */
export class LinkWatcher {
  private monitor: ChildProcess | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private stopped = false;
  private scanning = false;
  private again = false;
  private readonly opts: Required<LinkWatcherOptions>;

  constructor(opts: LinkWatcherOptions) {
    this.opts = { debounceMs: 50, periodMs: 30_000, onError: () => {}, ...opts };
  }

  async start(): Promise<Link[]> {
    this.spawnMonitor();
    this.periodic = setInterval(() => void this.rescan(), this.opts.periodMs);
    this.periodic.unref();
    const links = await readLinks();
    this.opts.onLinks(links);
    return links;
  }

  private spawnMonitor(): void {
    if (this.stopped) return;
    const child = spawn('ip', ['monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.monitor = child;
    child.stdout!.on('data', () => this.schedule());
    child.on('error', (err) => this.opts.onError(err));
    child.on('exit', () => {
      if (this.stopped) return;
      // Restart after a pause; the periodic rescan covers the gap.
      setTimeout(() => this.spawnMonitor(), 1000).unref();
    });
  }

  private schedule(): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.rescan();
    }, this.opts.debounceMs);
  }

  /** Reads links now and reports them; concurrent calls coalesce. */
  async rescan(): Promise<void> {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.again = false;
        const links = await readLinks();
        if (!this.stopped) this.opts.onLinks(links);
      } while (this.again && !this.stopped);
    } catch (err) {
      this.opts.onError(err as Error);
    } finally {
      this.scanning = false;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.periodic) clearInterval(this.periodic);
    this.monitor?.kill();
  }
}

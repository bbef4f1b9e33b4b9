import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type LinkMonitor, openLinkMonitor } from '../native/index.ts';
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
  /** Rescan even without events (a safety net), ms. */
  periodMs?: number;
  /** Injected for tests; default: the addon's netlink monitor. */
  monitor?: typeof openLinkMonitor;
}

/**
 * Rescan hook: a netlink subscription (link + address groups, in the addon: no child process to
 * orphan) triggers a rescan shortly after any change — a link going down must make the node
 * ineligible within a beat or two — plus a periodic rescan.
 */
export class LinkWatcher {
  private monitor: LinkMonitor | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private stopped = false;
  private scanning = false;
  private again = false;
  private readonly opts: Required<LinkWatcherOptions>;

  constructor(opts: LinkWatcherOptions) {
    this.opts = { debounceMs: 20, periodMs: 30_000, onError: () => {}, monitor: openLinkMonitor, ...opts };
  }

  async start(): Promise<Link[]> {
    this.monitor = this.opts.monitor(() => this.schedule());
    this.periodic = setInterval(() => void this.rescan(), this.opts.periodMs);
    this.periodic.unref();
    const links = await readLinks();
    this.opts.onLinks(links);
    return links;
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
    this.monitor?.close();
  }
}

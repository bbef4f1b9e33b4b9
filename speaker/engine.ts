import { type ElectionInput, type ElectionNode, elect, type VipDecision } from './election/elect.ts';
import { announcedBy, type PartitionPolicy } from './election/partition.ts';
import { canonicalIP } from './layer2/addr.ts';
import {
  type AnnounceFailure,
  L2Announcer,
  type L2AnnouncerOptions,
  type L2Log,
} from './layer2/announcer.ts';
import { isUsable, type Link, linksFromSummary, summarizeLinks } from './layer2/interfaces.ts';
import { LinkWatcher } from './layer2/links.ts';
import { Membership, type MembershipOptions } from './membership/membership.ts';
import type { MembershipView, PeerAddress } from './membership/peers.ts';

/**
 * The speaker without Kubernetes: membership + link watch + election + partition policy + L2
 * announcer, recomputed whenever any input changes. The Kubernetes wiring (speaker/main.ts)
 * only has to turn Nodes, IPAddressPools, L2Advertisements, Services and EndpointSlices into
 * `SpeakerFacts` and peers, call setFacts()/setPeers(), and report `onChange` as the Announced
 * condition, Events and metrics.
 *
 * Links: this node's come from `ip` (LinkWatcher); every beat carries their summary, so each
 * speaker evaluates "has a usable interface" for every node with the same data.
 */

/** Everything the election needs except liveness and links, which the engine supplies. */
export type SpeakerFacts = Omit<ElectionInput, 'liveNodes' | 'self' | 'nodes'> & {
  nodes: ReadonlyArray<Omit<ElectionNode, 'links'>>;
};

export interface EngineChange {
  /** VIP → interfaces announced by this node now. */
  announced: Map<string, string[]>;
  decisions: Map<string, VipDecision>;
  view: MembershipView;
  failures: AnnounceFailure[];
}

export interface SpeakerEngineOptions {
  node: string;
  membership: Omit<MembershipOptions, 'node' | 'onChange' | 'meta' | 'log'>;
  announcer?: Omit<L2AnnouncerOptions, 'log'>;
  partitionPolicy?: PartitionPolicy;
  log?: L2Log;
  onChange?: (c: EngineChange) => void;
  /** For tests: a fixed link list instead of watching `ip`. */
  links?: Link[];
}

const EMPTY_FACTS: SpeakerFacts = { nodes: [], pools: [], l2Advertisements: [], vips: [] };
const silent: L2Log = { debug() {}, info() {}, warn() {}, error() {} };

export class SpeakerEngine {
  readonly membership: Membership;
  readonly announcer: L2Announcer;
  private readonly opts: SpeakerEngineOptions;
  private readonly log: L2Log;
  private facts: SpeakerFacts = EMPTY_FACTS;
  private links: Link[] = [];
  private meta: Buffer = Buffer.alloc(0);
  private watcher: LinkWatcher | undefined;
  private announced = new Set<string>();
  private lastKey = '';
  private stopped = false;

  constructor(opts: SpeakerEngineOptions) {
    this.opts = opts;
    this.log = opts.log ?? silent;
    this.announcer = new L2Announcer({ ...opts.announcer, log: this.log });
    this.membership = new Membership({
      ...opts.membership,
      node: opts.node,
      meta: () => this.meta,
      onChange: () => this.recompute(),
      log: this.log,
    });
  }

  async start(): Promise<void> {
    if (this.opts.links) {
      this.setLinks(this.opts.links);
    } else {
      this.watcher = new LinkWatcher({
        onLinks: (links) => this.setLinks(links),
        onError: (err) => this.log.warn({ err: err.message }, 'link scan failed'),
      });
      await this.watcher.start();
    }
    await this.membership.start();
    this.recompute();
  }

  setFacts(facts: SpeakerFacts): void {
    this.facts = facts;
    this.recompute();
  }

  setPeers(peers: readonly PeerAddress[]): void {
    this.membership.setPeers(peers);
    this.recompute();
  }

  private setLinks(links: Link[]): void {
    this.links = links;
    const summary = Buffer.from(JSON.stringify(summarizeLinks(links)));
    // Too many links for one datagram: send none; peers then assume we are wired (we still
    // check ourselves), which is safer than a truncated list making us look unwired.
    this.meta = summary.length <= 1000 ? summary : Buffer.alloc(0);
    this.recompute();
  }

  /** Level-based: derives the announced set from the current inputs. Cheap when nothing changed. */
  recompute(): void {
    if (this.stopped) return;
    // Never answer for the node's own IPs: those the API lists plus those on its usable links.
    // Not loopback or down dummies: VIPs configured on `lo` or kube-proxy's kube-ipvs0 for the
    // data path are still ours to announce.
    const self = this.facts.nodes.find((n) => n.name === this.opts.node);
    const nodeAddresses = [
      ...(self?.addresses ?? []),
      ...this.links.filter(isUsable).flatMap((l) => l.addresses.map((a) => a.address)),
    ];
    this.announcer.setNodeAddresses(nodeAddresses);
    const own = new Set(nodeAddresses.map((a) => canonicalIP(a) ?? a));
    const view = this.membership.view();
    const metas = this.membership.peerMeta();
    const nodes: ElectionNode[] = this.facts.nodes.map((n) => {
      if (n.name === this.opts.node) return { ...n, links: this.links };
      const meta = metas.get(n.name);
      let links: Link[] | undefined;
      if (meta && meta.length > 0) {
        try {
          links = linksFromSummary(JSON.parse(meta.toString('utf8')));
        } catch {
          links = undefined;
        }
      }
      return { ...n, links };
    });
    const decisions = elect({ ...this.facts, nodes, liveNodes: view.alive, self: this.opts.node });
    const announced = announcedBy(this.opts.node, decisions, view, this.announced, this.opts.partitionPolicy);
    for (const ip of own) announced.delete(ip); // a pool overlapping node IPs: the kernel answers those
    const desired = [...announced].sort().map((ip) => {
      const d = decisions.get(ip);
      return { vip: ip, interfaces: d?.owner !== undefined ? (d.selfInterfaces ?? []) : [] };
    });
    const key = JSON.stringify([desired, view.alive, view.minority]);
    const failures = this.announcer.announce(desired);
    this.announced = announced;
    if (key === this.lastKey && failures.length === 0) return;
    this.lastKey = key;
    this.opts.onChange?.({ announced: this.announcer.current(), decisions, view, failures });
  }

  /**
   * Stops. Graceful (SIGTERM): send leave first, keep answering for `lingerMs` while the new
   * owners' GARP goes out (make-before-break), then withdraw. Otherwise stop at once.
   */
  async stop(opts: { graceful: boolean; lingerMs?: number } = { graceful: true }): Promise<void> {
    if (opts.graceful) {
      await this.membership.leave();
      await new Promise((r) => setTimeout(r, opts.lingerMs ?? 200));
    }
    this.stopped = true;
    this.watcher?.stop();
    this.membership.close();
    this.announcer.close();
  }
}

import type { Heartbeat } from './wire.ts';

/**
 * Peer liveness, pure: a table of peers fed with authenticated heartbeats and the clock, no
 * sockets, no timers. The shell calls receive() for every datagram that decoded and tick() on a
 * short period, and republishes view() when tick/receive report a change.
 *
 * Rules
 * - A peer is alive while its last accepted beat is at most `deadAfterMs` old (default 3 beats
 *   of 100 ms). A "leave" makes it dead at once (graceful handover).
 * - Replays and forgeries: the MAC is checked by the codec; here a message is accepted only from
 *   a configured peer, with an incarnation not older than the last one accepted and, within the
 *   same incarnation, a sequence strictly greater than the last. A leave ends its incarnation:
 *   later beats of that incarnation are ignored, a restarted process (new incarnation) is welcome.
 * - Start-up grace: peers configured when the table is created count as alive until
 *   `deadAfterMs` after start, so a restarting speaker never grabs every VIP for the few
 *   milliseconds before it has heard anyone. Peers added later count as dead until heard.
 * - A peer silent for `forgetAfterMs` has its incarnation forgotten, so a peer whose clock went
 *   backwards across a restart is not shut out forever (trade-off documented in ADR 051).
 */

export interface PeerAddress {
  node: string;
  address: string;
}

export type PeerState = 'pending' | 'alive' | 'dead' | 'left';

export interface PeerRecord {
  node: string;
  address: string;
  state: PeerState;
  incarnation: bigint | undefined;
  seq: bigint;
  /** Time of the last accepted message; for pending peers the end of the grace period minus deadAfter. */
  lastHeard: number;
  /** Latest meta the peer sent (e.g. its link summary). */
  meta: Buffer | undefined;
}

export interface PeerTableOptions {
  self: string;
  deadAfterMs: number;
  forgetAfterMs?: number;
  /**
   * Silence after which a live peer no longer counts toward quorum (it still counts for the
   * election until dead). Default: two thirds of deadAfterMs (2 of 3 beats missed).
   */
  suspectAfterMs?: number;
}

export type ReceiveResult =
  | 'accepted'
  | 'unknown-peer'
  | 'self'
  | 'replay'
  | 'stale-incarnation'
  | 'after-leave';

export interface PeerChange {
  node: string;
  from: PeerState;
  to: PeerState;
  reason: 'heard' | 'timeout' | 'leave' | 'restart' | 'removed' | 'added' | 'meta';
}

export interface MembershipView {
  self: string;
  /** Nodes counted alive for election, self included, sorted. */
  alive: string[];
  peers: Array<Pick<PeerRecord, 'node' | 'address' | 'state'>>;
  /** Configured peers (self excluded) and how many of them count alive. */
  configured: number;
  heard: number;
  /**
   * true when this speaker hears strictly less than half of the cluster (self included): it is
   * probably the one cut off. The partition policy (speaker/election/partition.ts) then holds
   * what it owned and takes nothing new. Peers that missed most of their dead interval do not
   * count here: when a node is cut off, its peers time out one by one a few ms apart, and
   * counting the still-"alive" ones would let it grab VIPs between the first and last timeout.
   */
  minority: boolean;
}

export class PeerTable {
  private readonly peers = new Map<string, PeerRecord>();
  private readonly self: string;
  private readonly deadAfterMs: number;
  private readonly forgetAfterMs: number;
  private readonly suspectAfterMs: number;

  constructor(opts: PeerTableOptions, initial: readonly PeerAddress[], now: number) {
    if (!(opts.deadAfterMs > 0)) throw new Error('deadAfterMs must be > 0');
    this.self = opts.self;
    this.deadAfterMs = opts.deadAfterMs;
    this.forgetAfterMs = opts.forgetAfterMs ?? 300_000;
    this.suspectAfterMs = opts.suspectAfterMs ?? Math.round((opts.deadAfterMs * 2) / 3);
    for (const p of initial) {
      if (p.node === this.self || this.peers.has(p.node)) continue;
      this.peers.set(p.node, {
        node: p.node,
        address: p.address,
        state: 'pending',
        incarnation: undefined,
        seq: 0n,
        lastHeard: now,
        meta: undefined,
      });
    }
  }

  get(node: string): Readonly<PeerRecord> | undefined {
    return this.peers.get(node);
  }

  addresses(): PeerAddress[] {
    return [...this.peers.values()].map((p) => ({ node: p.node, address: p.address }));
  }

  /** Replaces the peer list (from the API). Known peers keep their state; new ones start dead. */
  setPeers(list: readonly PeerAddress[], now: number): PeerChange[] {
    const changes: PeerChange[] = [];
    const wanted = new Map<string, string>();
    for (const p of list) if (p.node !== this.self) wanted.set(p.node, p.address);
    for (const [node, rec] of this.peers) {
      if (!wanted.has(node)) {
        this.peers.delete(node);
        changes.push({ node, from: rec.state, to: 'dead', reason: 'removed' });
      }
    }
    for (const [node, address] of wanted) {
      const rec = this.peers.get(node);
      if (rec) {
        rec.address = address;
        continue;
      }
      this.peers.set(node, {
        node,
        address,
        state: 'dead',
        incarnation: undefined,
        seq: 0n,
        lastHeard: now - this.deadAfterMs - 1,
        meta: undefined,
      });
      changes.push({ node, from: 'dead', to: 'dead', reason: 'added' });
    }
    return changes;
  }

  receive(m: Heartbeat, now: number): { result: ReceiveResult; change?: PeerChange } {
    if (m.node === this.self) return { result: 'self' };
    const rec = this.peers.get(m.node);
    if (!rec) return { result: 'unknown-peer' };
    const from = rec.state;
    if (rec.incarnation !== undefined) {
      if (m.incarnation < rec.incarnation) return { result: 'stale-incarnation' };
      if (m.incarnation === rec.incarnation) {
        if (m.seq <= rec.seq) return { result: 'replay' };
        if (rec.state === 'left') return { result: 'after-leave' };
      }
    }
    const restarted = rec.incarnation !== undefined && m.incarnation > rec.incarnation;
    rec.incarnation = m.incarnation;
    rec.seq = m.seq;
    rec.lastHeard = now;
    if (m.type === 'leave') {
      rec.state = 'left';
      rec.meta = undefined;
      return { result: 'accepted', change: { node: rec.node, from, to: 'left', reason: 'leave' } };
    }
    const metaChanged = rec.meta === undefined || !rec.meta.equals(m.meta);
    rec.meta = m.meta;
    rec.state = 'alive';
    if (from === 'alive') {
      if (restarted)
        return { result: 'accepted', change: { node: rec.node, from, to: 'alive', reason: 'restart' } };
      // What the peer says about itself (its links) feeds the election: a change is a change.
      if (metaChanged)
        return { result: 'accepted', change: { node: rec.node, from, to: 'alive', reason: 'meta' } };
      return { result: 'accepted' };
    }
    return { result: 'accepted', change: { node: rec.node, from, to: 'alive', reason: 'heard' } };
  }

  /** Applies timeouts; returns the state changes. */
  tick(now: number): PeerChange[] {
    const changes: PeerChange[] = [];
    for (const rec of this.peers.values()) {
      const silent = now - rec.lastHeard;
      if ((rec.state === 'alive' || rec.state === 'pending') && silent > this.deadAfterMs) {
        changes.push({ node: rec.node, from: rec.state, to: 'dead', reason: 'timeout' });
        rec.state = 'dead';
        rec.meta = undefined;
      }
      if (
        (rec.state === 'dead' || rec.state === 'left') &&
        rec.incarnation !== undefined &&
        silent > this.forgetAfterMs
      ) {
        rec.incarnation = undefined;
        rec.seq = 0n;
      }
    }
    return changes;
  }

  /** Earliest time at which tick() could change something (for timer scheduling). */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const rec of this.peers.values()) {
      if (rec.state !== 'alive' && rec.state !== 'pending') continue;
      const t = rec.lastHeard + this.deadAfterMs + 1;
      if (next === undefined || t < next) next = t;
    }
    return next;
  }

  /** `now` enables the quorum's suspect rule; without it every live peer counts. */
  view(now?: number): MembershipView {
    const alive = [this.self];
    let heard = 0;
    const peers: MembershipView['peers'] = [];
    for (const rec of this.peers.values()) {
      peers.push({ node: rec.node, address: rec.address, state: rec.state });
      if (rec.state === 'alive' || rec.state === 'pending') {
        alive.push(rec.node);
        if (now === undefined || now - rec.lastHeard <= this.suspectAfterMs) heard++;
      }
    }
    alive.sort();
    peers.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const configured = this.peers.size;
    return { self: this.self, alive, peers, configured, heard, minority: (1 + heard) * 2 < 1 + configured };
  }

  /** The meta each live peer last sent (for the election's interface check). */
  metas(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const rec of this.peers.values()) {
      if ((rec.state === 'alive' || rec.state === 'pending') && rec.meta) out.set(rec.node, rec.meta);
    }
    return out;
  }
}

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type MembershipView, type PeerAddress, type PeerChange, PeerTable } from './peers.ts';
import { decodeHeartbeat, encodeHeartbeat, type Heartbeat, newIncarnation } from './wire.ts';

/**
 * The thin UDP shell around PeerTable: sends an authenticated beat to every configured peer
 * every `intervalMs`, feeds what it receives into the table, ticks the table, and calls
 * `onChange` with a fresh view whenever liveness changes. `leave()` (on SIGTERM) tells every
 * peer at once so they take over before this process stops answering (make-before-break).
 */

export const DEFAULT_PORT = 7472;
export const DEFAULT_INTERVAL_MS = 100;
export const DEFAULT_MISSED_BEATS = 3;

export interface MembershipLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface MembershipOptions {
  node: string;
  /** Shared HMAC key (loadHeartbeatKey). */
  key: Buffer;
  peers: readonly PeerAddress[];
  port?: number;
  /** Address to bind; default both 0.0.0.0 and :: (each socket serves its family). */
  bindAddress?: string;
  intervalMs?: number;
  missedBeats?: number;
  forgetAfterMs?: number;
  /** Opaque payload carried in every beat (e.g. the link summary); called per beat. */
  meta?: () => Buffer;
  onChange?: (view: MembershipView, changes: PeerChange[]) => void;
  log?: MembershipLog;
  /** Monotonic clock, ms. */
  now?: () => number;
}

export interface MembershipStats {
  sent: number;
  received: number;
  accepted: number;
  dropped: Record<string, number>;
}

const silent: MembershipLog = { debug() {}, info() {}, warn() {} };

export class Membership {
  readonly incarnation: bigint;
  readonly stats: MembershipStats = { sent: 0, received: 0, accepted: 0, dropped: {} };
  private readonly opts: MembershipOptions;
  private readonly table: PeerTable;
  private readonly now: () => number;
  private readonly port: number;
  private readonly intervalMs: number;
  private readonly log: MembershipLog;
  private seq = 0n;
  private sockets: { v4?: Socket; v6?: Socket } = {};
  private beatTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private leaving = false;
  private lastMinority = false;

  constructor(opts: MembershipOptions) {
    if (!opts.key || opts.key.length < 16)
      throw new Error('membership: a heartbeat key of at least 16 bytes is required');
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
    this.port = opts.port ?? DEFAULT_PORT;
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.log = opts.log ?? silent;
    const missed = opts.missedBeats ?? DEFAULT_MISSED_BEATS;
    if (!(this.intervalMs >= 10) || !(missed >= 1))
      throw new Error('membership: intervalMs ≥ 10 and missedBeats ≥ 1');
    this.incarnation = newIncarnation();
    this.table = new PeerTable(
      { self: opts.node, deadAfterMs: this.intervalMs * missed, forgetAfterMs: opts.forgetAfterMs },
      opts.peers,
      this.now(),
    );
  }

  /** Binds the socket(s), sends the first beat at once, starts the timers. */
  async start(): Promise<void> {
    const bind = (type: 'udp4' | 'udp6', address: string): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = createSocket({ type, ipv6Only: type === 'udp6', reuseAddr: false });
        s.once('error', reject);
        s.bind(this.port, address, () => {
          s.off('error', reject);
          s.on('error', (err) => this.log.warn({ err: err.message }, 'heartbeat socket error'));
          s.on('message', (buf, rinfo) => this.onDatagram(buf, rinfo.address));
          resolve(s);
        });
      });
    if (this.opts.bindAddress) {
      const v6 = isIPv6(this.opts.bindAddress);
      this.sockets[v6 ? 'v6' : 'v4'] = await bind(v6 ? 'udp6' : 'udp4', this.opts.bindAddress);
    } else {
      this.sockets.v4 = await bind('udp4', '0.0.0.0');
      try {
        this.sockets.v6 = await bind('udp6', '::');
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'no IPv6 heartbeat socket');
      }
    }
    this.beat();
    this.beatTimer = setInterval(() => this.beat(), this.intervalMs);
    // Tick often enough that a death is noticed within a few ms of its deadline.
    this.tickTimer = setInterval(() => this.tick(), Math.max(5, Math.floor(this.intervalMs / 10)));
  }

  view(): MembershipView {
    return this.table.view(this.now());
  }

  peerMeta(): Map<string, Buffer> {
    return this.table.metas();
  }

  setPeers(list: readonly PeerAddress[]): void {
    const changes = this.table.setPeers(list, this.now());
    if (changes.length) this.emit(changes);
  }

  private emit(changes: PeerChange[]): void {
    for (const c of changes) this.log.info({ ...c }, 'peer state changed');
    const view = this.table.view(this.now());
    this.lastMinority = view.minority;
    this.opts.onChange?.(view, changes);
  }

  private tick(): void {
    const changes = this.table.tick(this.now());
    // Quorum can change without a state change (peers becoming suspect or heard again).
    if (changes.length || this.table.view(this.now()).minority !== this.lastMinority) this.emit(changes);
  }

  private onDatagram(buf: Buffer, from: string): void {
    this.stats.received++;
    const m = decodeHeartbeat(buf, this.opts.key);
    if ('error' in m) {
      this.drop(m.error, from);
      return;
    }
    const { result, change } = this.table.receive(m, this.now());
    if (result !== 'accepted') {
      this.drop(result, from, m.node);
      return;
    }
    this.stats.accepted++;
    if (change) this.emit([change]);
  }

  private drop(reason: string, from: string, node?: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    // Forgeries and replays are worth a log line, but not one per datagram at 10/s per peer.
    const n = this.stats.dropped[reason]!;
    if ((n & (n - 1)) === 0) this.log.warn({ reason, from, node, count: n }, 'heartbeat dropped');
  }

  private send(type: Heartbeat['type']): void {
    this.seq++;
    const msg = encodeHeartbeat(
      {
        type,
        node: this.opts.node,
        incarnation: this.incarnation,
        seq: this.seq,
        meta: this.opts.meta?.() ?? Buffer.alloc(0),
      },
      this.opts.key,
    );
    for (const p of this.table.addresses()) {
      const sock = isIPv6(p.address) ? this.sockets.v6 : this.sockets.v4;
      if (!sock) continue;
      sock.send(msg, this.port, p.address, (err) => {
        if (err) this.log.debug({ peer: p.node, err: err.message }, 'heartbeat send failed');
      });
      this.stats.sent++;
    }
  }

  private beat(): void {
    if (!this.leaving) this.send('beat');
  }

  /**
   * Graceful exit: stop beating and tell every peer we are leaving (twice, for a lossy wire),
   * so they recompute ownership at once instead of after the dead timeout.
   */
  async leave(): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    this.send('leave');
    this.send('leave');
    // Let the datagrams leave before the caller closes the sockets.
    await new Promise((r) => setImmediate(r));
  }

  close(): void {
    if (this.beatTimer) clearInterval(this.beatTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.sockets.v4?.close();
    this.sockets.v6?.close();
    this.sockets = {};
  }
}

import { EventEmitter } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { dialTcp, loadPacketAddon, type TcpDial } from '../native/index.ts';
import {
  type CodecContext,
  decodeBody,
  encodeMessage,
  endOfRib,
  type Message,
  type NotificationFields,
  shutdownText,
  splitFrames,
  type UpdateMessage,
} from './codec.ts';
import { Afi, ErrorCode, MessageType, OpenSubcode, Safi, SUBCODES } from './constants.ts';
import { type Action, type FsmEvent, type FsmState, initialState, step, type Timer } from './fsm.ts';
import { checkPeerConfig, type PeerConfig, type Session } from './negotiate.ts';
import { parsePrefix } from './prefix.ts';
import { type AdvertiseContext, advertise, type Route, withdraw } from './routes.ts';

/**
 * The I/O shell for ONE BGP session (speaker/bgp/README.md, ADR 100): a TCP connection, timers
 * and a route diff around the pure FSM (fsm.ts) and codec (codec.ts). Everything the protocol
 * decides is in those; this file only turns socket bytes and timer expiries into FSM events and
 * carries out the FSM's actions.
 *
 * Outbound only: the speaker runs with hostNetwork and CAP_NET_RAW alone, so it cannot (and does
 * not) listen on port 179; the router must accept our connection (FRR: a plain `neighbor`, BIRD:
 * a `protocol bgp` without `passive`, GoBGP: `passive-mode = true` is fine). With one connection
 * per peer there are no collisions to resolve.
 *
 * TCP MD5 (RFC 2385) and the TTL are set by the speaker's native addon before connect()
 * (speaker/native/src/tcp.c): eBGP single hop sends with TTL 1, `ebgpMultiHop` with 255, iBGP
 * with the system default.
 *
 * Bad input from the peer ends only this session: the codec turns it into the NOTIFICATION to
 * send, the FSM closes and retries with backoff. Nothing here throws on peer input; an internal
 * error is caught, logged and treated as a lost connection.
 */

export interface PeerOptions {
  config: PeerConfig;
  /** IPv4 or IPv6. */
  peerAddress: string;
  /** Default 179. */
  peerPort?: number;
  /** Bound before connect; must be an address of the peer's family present on the node. */
  sourceAddress?: string;
  /** TCP MD5 (RFC 2385) key, 1..80 octets of UTF-8. Never logged. */
  password?: string;
  /** false: eBGP single hop (TTL 1); true: TTL 255. iBGP always uses the system default TTL. */
  ebgpMultiHop?: boolean;
  /** NEXT_HOP of IPv4 routes; default the local address of the TCP connection when it is IPv4. */
  nextHopV4?: string;
  /**
   * MP_REACH next hop of IPv6 routes ([global] or [global, link-local]); default the local
   * address of the TCP connection when it is IPv6. IPv6 routes over an IPv4 session need this.
   */
  nextHopV6?: string[];
  log: Logger;
  /** Wall clock for establishedSince (ms since the epoch); default Date.now. */
  now?: () => number;
}

export type PeerState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface PeerStatus {
  state: PeerState;
  /** Why the session last went down or failed to come up; kept after it recovers. */
  lastError?: string;
  /** ms since the epoch; only while Established. */
  establishedSince?: number;
  /** Prefixes currently advertised on this session. */
  prefixesSent: number;
  /** UPDATE messages written over the peer's life (announcements, withdrawals, End-of-RIB). */
  updatesSent: number;
  /** NOTIFICATIONs received over the peer's life. */
  notificationsReceived: number;
}

const TIMER_EVENT: Record<Timer, FsmEvent['type']> = {
  ConnectRetry: 'ConnectRetryTimer_Expires',
  Hold: 'HoldTimer_Expires',
  Keepalive: 'KeepaliveTimer_Expires',
  IdleHold: 'IdleHoldTimer_Expires',
  Stable: 'StableTimer_Expires',
};

/** How long stop() and a disconnect wait for the peer to close before destroying the socket. */
const CLOSE_GRACE_MS = 2000;
const MD5_MAX_KEY = 80;

/** One TCP connection attempt and what belongs to it. */
interface Conn {
  dial?: TcpDial;
  socket?: net.Socket;
  pending: Buffer;
  ctx: CodecContext;
  session?: Session;
  /** Advertise context (next hops) of the Established session. */
  advertise?: AdvertiseContext;
  closed: Promise<void>;
  resolveClosed: () => void;
}

interface TimerEntry {
  /** performance.now() at which the timer is due. */
  deadline: number;
  /** When the current setTimeout fires; it re-arms itself if the deadline moved later. */
  firesAt: number;
  handle: NodeJS.Timeout;
}

interface SentRoute {
  route: Route;
  key: string;
}

const routeKey = (r: Route) =>
  JSON.stringify([r.communities ?? [], r.largeCommunities ?? [], r.localPref ?? null]);

const ERROR_NAMES: Record<number, string> = {
  [ErrorCode.MESSAGE_HEADER]: 'Message Header Error',
  [ErrorCode.OPEN_MESSAGE]: 'OPEN Message Error',
  [ErrorCode.UPDATE_MESSAGE]: 'UPDATE Message Error',
  [ErrorCode.HOLD_TIMER_EXPIRED]: 'Hold Timer Expired',
  [ErrorCode.FSM]: 'Finite State Machine Error',
  [ErrorCode.CEASE]: 'Cease',
  [ErrorCode.ROUTE_REFRESH_MESSAGE]: 'ROUTE-REFRESH Message Error',
};

let addonState: { error?: string } | undefined;
/** Why the native addon cannot be used, or undefined when it loads (checked once). */
function nativeAddonError(): string | undefined {
  if (!addonState) {
    try {
      loadPacketAddon();
      addonState = {};
    } catch (err) {
      addonState = { error: (err as Error).message };
    }
  }
  return addonState.error;
}

/** "Cease/2 (shutdown: "maintenance")", for lastError and logs. */
export function describeNotification(n: NotificationFields): string {
  const name = ERROR_NAMES[n.code] ?? `code ${n.code}`;
  let text = `${name}/${n.subcode}`;
  if (!SUBCODES[n.code]?.includes(n.subcode) && n.subcode !== 0) text += ' (unknown subcode)';
  const shutdown = shutdownText({ type: 'notification', ...n });
  if (shutdown) text += ` "${shutdown}"`;
  return text;
}

export class BgpPeer extends EventEmitter {
  private readonly opts: PeerOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private fsm: FsmState;
  private conn: Conn | undefined;
  private readonly timers = new Map<Timer, TimerEntry>();
  private readonly queue: FsmEvent[] = [];
  private processing = false;
  /** The desired routes by prefix (setRoutes). */
  private desired = new Map<string, Route>();
  /** What the current session has been sent, by prefix. */
  private readonly sent = new Map<string, SentRoute>();
  private flushTimer: NodeJS.Immediate | undefined;
  private readonly warnedSkips = new Set<string>();
  private lastError: string | undefined;
  /** What the last TCP failure was (connect error, reset, closed by the peer), for lastError. */
  private tcpDetail: string | undefined;
  private establishedSince: number | undefined;
  private updatesSent = 0;
  private notificationsReceived = 0;
  private lastEmitted: PeerStatus | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly ttl: number | undefined;
  private fallbackWarned = false;

  constructor(opts: PeerOptions) {
    super();
    const problems = checkPeerConfig(opts.config);
    if (opts.config.passive)
      problems.push('passive: this speaker only connects out (no listener on port 179)');
    if (net.isIP(opts.peerAddress) === 0)
      problems.push(`peerAddress ${opts.peerAddress} is not an IP address`);
    if (opts.sourceAddress !== undefined && net.isIP(opts.sourceAddress) !== net.isIP(opts.peerAddress)) {
      problems.push(`sourceAddress ${opts.sourceAddress} is not an address of the peer's family`);
    }
    if (
      opts.peerPort !== undefined &&
      !(Number.isInteger(opts.peerPort) && opts.peerPort > 0 && opts.peerPort < 65536)
    ) {
      problems.push(`peerPort ${opts.peerPort} must be 1..65535`);
    }
    if (opts.password !== undefined) {
      const n = Buffer.byteLength(opts.password, 'utf8');
      if (n < 1 || n > MD5_MAX_KEY) problems.push(`password must be 1..${MD5_MAX_KEY} octets (TCP MD5 key)`);
    }
    if (opts.nextHopV4 !== undefined && !net.isIPv4(opts.nextHopV4)) {
      problems.push(`nextHopV4 ${opts.nextHopV4} is not an IPv4 address`);
    }
    if (
      opts.nextHopV6 !== undefined &&
      (opts.nextHopV6.length < 1 || opts.nextHopV6.length > 2 || !opts.nextHopV6.every((a) => net.isIPv6(a)))
    ) {
      problems.push('nextHopV6 must be one or two IPv6 addresses ([global] or [global, link-local])');
    }
    if (problems.length) throw new Error(`BGP peer ${opts.peerAddress}: ${problems.join('; ')}`);
    this.opts = opts;
    this.log = opts.log.child({ peer: opts.peerAddress });
    this.now = opts.now ?? Date.now;
    this.fsm = initialState(opts.config);
    const c = opts.config;
    const internal = c.peerAs === 'internal' || c.peerAs === c.localAs;
    this.ttl = opts.ebgpMultiHop ? 255 : internal ? undefined : 1;
  }

  /** Starts the session (ManualStart); it reconnects by itself until stop(). */
  start(): void {
    if (this.stopped) throw new Error('BgpPeer: start() after stop(); make a new peer');
    this.feed({ type: 'ManualStart' });
  }

  /**
   * The routes this peer should carry. Diffed against what the session was sent: new and changed
   * routes are announced, missing ones withdrawn, in as few UPDATEs as fit, written together. Calls
   * within one event-loop turn are coalesced. Before Established it only records the set; the
   * session sends it when it comes up, followed by End-of-RIB.
   */
  setRoutes(routes: readonly Route[]): void {
    const next = new Map<string, Route>();
    for (const r of routes) {
      const p = parsePrefix(r.prefix);
      if (typeof p === 'string') {
        this.log.warn({ prefix: r.prefix, reason: p }, 'route refused');
        continue;
      }
      next.set(r.prefix, r);
    }
    this.desired = next;
    if (!this.flushTimer && !this.stopped) this.flushTimer = setImmediate(() => this.flush());
  }

  status(): PeerStatus {
    return {
      state: this.fsm.state,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.establishedSince !== undefined ? { establishedSince: this.establishedSince } : {}),
      prefixesSent: this.sent.size,
      updatesSent: this.updatesSent,
      notificationsReceived: this.notificationsReceived,
    };
  }

  /**
   * graceful: withdraw every route, then Cease / Administrative Shutdown with `message` (RFC 8203
   * / 9003), then close after the peer does (at most 2 s). Otherwise: close the socket at once.
   * Either way every timer is stopped and the peer never reconnects.
   */
  stop(opts: { graceful: boolean; message?: string }): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopped = true;
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const conn = this.conn;
    if (opts.graceful) {
      if (this.fsm.state === 'Established' && conn?.session && this.sent.size) {
        const w = withdraw([...this.sent.keys()], conn.session);
        this.writeUpdates(conn, w.updates);
        this.sent.clear();
      }
      this.feed({ type: 'ManualStop', shutdownMessage: opts.message ?? 'portico speaker stopping' });
    } else {
      conn?.dial?.cancel();
      conn?.socket?.destroy();
      this.conn = undefined;
      this.sent.clear();
      for (const t of this.timers.values()) clearTimeout(t.handle);
      this.timers.clear();
      this.fsm = { ...initialState(this.opts.config) };
      this.establishedSince = undefined;
      conn?.resolveClosed();
      this.emitStatus();
    }
    // Timers are stopped by the FSM (graceful) or above; make sure nothing is left either way.
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
    this.stopping = conn ? conn.closed : Promise.resolve();
    return this.stopping;
  }

  // --- FSM plumbing ----------------------------------------------------------------------------

  /** Feeds one event; events raised while actions run are queued, so the FSM never re-enters. */
  private feed(e: FsmEvent): void {
    this.queue.push(e);
    if (this.processing) return;
    this.processing = true;
    try {
      for (let ev = this.queue.shift(); ev; ev = this.queue.shift()) this.apply(ev);
    } finally {
      this.processing = false;
    }
  }

  private apply(e: FsmEvent): void {
    const before = this.fsm.state;
    if (e.type === 'ConnectRetryTimer_Expires' && this.conn?.dial && !this.conn.socket) {
      this.setError(
        `no answer from ${this.target()} within ${this.opts.config.connectRetryTime} s` +
          (this.opts.password !== undefined ? ' (a TCP MD5 password mismatch looks like this)' : ''),
      );
    }
    try {
      const r = step(this.fsm, e);
      this.fsm = r.state;
      for (const a of r.actions) this.act(a);
    } catch (err) {
      // A bug, not peer input (the cores do not throw on that): drop this connection and let
      // the FSM retry as after a TCP failure.
      this.log.error({ err, event: e.type }, 'BGP peer: internal error; dropping the connection');
      this.setError(`internal error: ${(err as Error).message}`);
      const c = this.conn;
      this.conn = undefined;
      c?.dial?.cancel();
      c?.socket?.destroy();
      c?.resolveClosed();
      if (e.type !== 'TcpConnectionFails') this.queue.push({ type: 'TcpConnectionFails' });
    }
    if (this.fsm.state !== before) {
      this.log.info({ from: before, to: this.fsm.state, event: e.type }, 'BGP state');
      if (this.fsm.state !== 'Established') this.establishedSince = undefined;
    }
    this.emitStatus();
  }

  private act(a: Action): void {
    switch (a.type) {
      case 'send':
        if (this.conn) this.write(this.conn, [encodeMessage(a.message, this.conn.ctx)], a.message);
        return;
      case 'start-timer':
        this.startTimer(a.timer, a.seconds);
        return;
      case 'stop-timer': {
        const t = this.timers.get(a.timer);
        if (t) clearTimeout(t.handle);
        this.timers.delete(a.timer);
        return;
      }
      case 'connect':
        this.connect();
        return;
      case 'disconnect':
        this.disconnect();
        return;
      case 'established':
        this.onEstablished(a.session);
        return;
      case 'resend-routes':
        this.resend(a.afi, a.safi);
        return;
      case 'down': {
        // A TCP failure's own words say more than the FSM's "TCP connection failed".
        const parts = [a.reason === 'TCP connection failed' && this.tcpDetail ? this.tcpDetail : a.reason];
        this.tcpDetail = undefined;
        if (a.sent) parts.push(`sent ${describeNotification(a.sent)}`);
        if (a.received) parts.push(`received ${describeNotification(a.received)}`);
        const text = parts.join('; ');
        this.sent.clear();
        this.warnedSkips.clear();
        this.establishedSince = undefined;
        if (a.reason === 'manual stop') {
          this.log.info({ from: a.from }, 'BGP session stopped');
        } else {
          this.setError(text);
          this.log.warn({ from: a.from, reason: text }, 'BGP session down');
        }
        return;
      }
    }
  }

  private startTimer(timer: Timer, seconds: number): void {
    const ms = seconds * 1000;
    const deadline = performance.now() + ms;
    const existing = this.timers.get(timer);
    // Restarting a timer to a later deadline (the hold timer on every message) keeps the pending
    // setTimeout, which re-arms itself for the rest when it fires early.
    if (existing && existing.firesAt <= deadline) {
      existing.deadline = deadline;
      return;
    }
    if (existing) clearTimeout(existing.handle);
    this.arm(timer, deadline, ms);
  }

  private arm(timer: Timer, deadline: number, ms: number): void {
    const entry: TimerEntry = {
      deadline,
      firesAt: performance.now() + ms,
      handle: setTimeout(() => {
        if (this.timers.get(timer) !== entry) return; // stopped or replaced: never fires
        const left = entry.deadline - performance.now();
        if (left > 1) return this.arm(timer, entry.deadline, left);
        this.timers.delete(timer);
        this.feed({ type: TIMER_EVENT[timer] } as FsmEvent);
      }, ms),
    };
    this.timers.set(timer, entry);
  }

  // --- TCP -------------------------------------------------------------------------------------

  private target(): string {
    const port = this.opts.peerPort ?? 179;
    return net.isIPv6(this.opts.peerAddress)
      ? `[${this.opts.peerAddress}]:${port}`
      : `${this.opts.peerAddress}:${port}`;
  }

  private connect(): void {
    if (this.conn) this.disconnect();
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const conn: Conn = { pending: Buffer.alloc(0), ctx: { fourOctetAs: false }, closed, resolveClosed };
    this.conn = conn;
    const done = (err: (Error & { code?: string }) | undefined, socket?: net.Socket) => {
      if (this.conn !== conn) {
        socket?.destroy();
        return;
      }
      conn.dial = undefined;
      if (err || !socket) {
        this.tcpFailed(`connect to ${this.target()}: ${err?.message ?? 'failed'}`);
        this.conn = undefined;
        conn.resolveClosed();
        this.feed({ type: 'TcpConnectionFails' });
        return;
      }
      this.attach(conn, socket);
      this.feed({ type: 'Tcp_CR_Acked' });
    };
    const port = this.opts.peerPort ?? 179;
    const addonError = nativeAddonError();
    if (addonError === undefined) {
      conn.dial = dialTcp(
        {
          address: this.opts.peerAddress,
          port,
          ...(this.opts.sourceAddress ? { sourceAddress: this.opts.sourceAddress } : {}),
          ...(this.opts.password !== undefined ? { md5Password: this.opts.password } : {}),
          ...(this.ttl !== undefined ? { ttl: this.ttl } : {}),
        },
        done,
      );
      return;
    }
    if (this.opts.password !== undefined) {
      const err = new Error(`TCP MD5 needs the speaker's native addon: ${addonError}`);
      const t = setImmediate(() => done(err));
      conn.dial = { cancel: () => clearImmediate(t) };
      return;
    }
    // Without the addon (not built) and without a password, Node's own connect does; only the TTL
    // cannot be set.
    if (!this.fallbackWarned) {
      this.fallbackWarned = true;
      this.log.warn(
        { reason: addonError },
        'BGP: native addon unavailable; connecting without setting the TTL',
      );
    }
    const socket = net.connect({
      host: this.opts.peerAddress,
      port,
      ...(this.opts.sourceAddress ? { localAddress: this.opts.sourceAddress } : {}),
    });
    const onError = (err: Error & { code?: string }) => done(err);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      done(undefined, socket);
    });
    conn.dial = { cancel: () => socket.destroy() };
  }

  private attach(conn: Conn, socket: net.Socket): void {
    conn.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(conn, d));
    socket.on('error', (err: Error & { code?: string }) => {
      if (this.conn === conn) this.tcpFailed(`TCP: ${err.message}`);
    });
    socket.on('close', () => {
      conn.resolveClosed();
      if (this.conn !== conn) return;
      this.conn = undefined;
      if (!socket.errored) this.tcpFailed('connection closed by the peer');
      this.feed({ type: 'TcpConnectionFails' });
    });
  }

  private tcpFailed(detail: string): void {
    this.tcpDetail = detail;
    this.setError(detail);
  }

  private disconnect(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    conn.dial?.cancel();
    const socket = conn.socket;
    if (!socket) {
      conn.resolveClosed();
      return;
    }
    // end() flushes what was written (a NOTIFICATION) before the FIN; destroy if the peer stalls.
    socket.end();
    const t = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    t.unref();
    socket.once('close', () => clearTimeout(t));
  }

  private write(conn: Conn, bufs: Buffer[], message?: Message): void {
    const socket = conn.socket;
    if (!socket || socket.destroyed || !socket.writable || bufs.length === 0) return;
    if (message?.type === 'update') this.updatesSent++;
    socket.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
  }

  private writeUpdates(conn: Conn, updates: UpdateMessage[]): void {
    if (!updates.length) return;
    const bufs = updates.map((u) => encodeMessage(u, conn.ctx));
    this.write(conn, bufs);
    this.updatesSent += updates.length;
  }

  // --- Input -----------------------------------------------------------------------------------

  private onData(conn: Conn, d: Buffer): void {
    if (this.conn !== conn) return;
    const buf = conn.pending.length ? Buffer.concat([conn.pending, d]) : d;
    const s = splitFrames(buf);
    conn.pending = s.rest.length ? Buffer.from(s.rest) : Buffer.alloc(0);
    for (const f of s.frames) {
      if (this.conn !== conn) return;
      this.onFrame(conn, f.type, f.body);
    }
    if (s.error && this.conn === conn) {
      this.log.warn({ reason: s.error.reason }, 'BGP: bad message header from peer');
      this.feed({ type: 'BGPHeaderErr', notification: s.error.notification });
    }
  }

  private onFrame(conn: Conn, type: number, body: Buffer): void {
    const r = decodeBody(type, body, conn.ctx);
    switch (r.kind) {
      case 'session-reset':
        this.log.warn({ type, reason: r.reason }, 'BGP: malformed message from peer; resetting the session');
        this.feed({
          type:
            type === MessageType.OPEN
              ? 'BGPOpenMsgErr'
              : type === MessageType.UPDATE
                ? 'UpdateMsgErr'
                : 'BGPHeaderErr',
          notification: r.notification,
        });
        return;
      case 'treat-as-withdraw':
      case 'afi-safi-disable':
        // We keep no received routes: nothing to withdraw or flush; it still proves the peer alive.
        this.log.info({ reaction: r.kind, reason: r.reason }, 'BGP: malformed UPDATE from peer (RFC 7606)');
        this.feed({ type: 'UpdateMsg' });
        return;
      case 'attribute-discard':
      case 'message': {
        if (r.kind === 'attribute-discard') this.log.debug({ reason: r.reason }, 'BGP: attributes discarded');
        const m = r.message;
        switch (m.type) {
          case 'open':
            this.feed({ type: 'BGPOpen', open: m });
            return;
          case 'keepalive':
            this.feed({ type: 'KeepAliveMsg' });
            return;
          case 'update':
            this.feed({ type: 'UpdateMsg' });
            return;
          case 'notification':
            this.notificationsReceived++;
            if (m.code === ErrorCode.OPEN_MESSAGE && m.subcode === OpenSubcode.UNSUPPORTED_VERSION_NUMBER) {
              this.feed({ type: 'NotifMsgVerErr', notification: m });
            } else {
              this.feed({ type: 'NotifMsg', notification: m });
            }
            return;
          case 'route-refresh':
            this.feed({ type: 'RouteRefreshMsg', afi: m.afi, safi: m.safi, subtype: m.subtype });
            return;
        }
      }
    }
  }

  // --- Routes ----------------------------------------------------------------------------------

  private onEstablished(session: Session): void {
    const conn = this.conn;
    if (!conn?.socket) return;
    conn.session = session;
    conn.ctx = { fourOctetAs: session.fourOctetAs, external: !session.internal };
    const local = conn.socket.localAddress ?? '';
    const nextHopV4 = this.opts.nextHopV4 ?? (net.isIPv4(local) ? local : undefined);
    const nextHopV6 =
      this.opts.nextHopV6 ?? (net.isIPv6(local) && !local.startsWith('::ffff:') ? [local] : undefined);
    conn.advertise = {
      localAs: this.opts.config.localAs,
      session,
      ...(nextHopV4 ? { nextHopV4 } : {}),
      ...(nextHopV6 ? { nextHopV6 } : {}),
    };
    this.establishedSince = this.now();
    this.sent.clear();
    this.warnedSkips.clear();
    const routes = [...this.desired.values()];
    const built = advertise(routes, conn.advertise);
    this.noteSkipped(built.skipped);
    const skipped = new Set(built.skipped.map((s) => s.prefix));
    for (const r of routes)
      if (!skipped.has(r.prefix)) this.sent.set(r.prefix, { route: r, key: routeKey(r) });
    const eor = session.families.map((f) => endOfRib(f.afi, f.safi));
    this.writeUpdates(conn, [...built.updates, ...eor]);
    this.log.info(
      {
        peerAs: session.peerAs,
        peerId: session.peerId,
        holdTime: session.holdTime,
        prefixes: this.sent.size,
      },
      'BGP session established',
    );
  }

  private resend(afi: number, safi: number): void {
    const conn = this.conn;
    if (!conn?.advertise || safi !== Safi.UNICAST) return;
    const routes = [...this.sent.values()]
      .map((s) => s.route)
      .filter((r) => (r.prefix.includes(':') ? Afi.IPV6 : Afi.IPV4) === afi);
    this.writeUpdates(conn, advertise(routes, conn.advertise).updates);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const conn = this.conn;
    if (this.stopped || this.fsm.state !== 'Established' || !conn?.advertise || !conn.session) return;
    const changed: Route[] = [];
    for (const [prefix, r] of this.desired) {
      if (this.sent.get(prefix)?.key !== routeKey(r)) changed.push(r);
    }
    const gone: string[] = [];
    for (const prefix of this.sent.keys()) if (!this.desired.has(prefix)) gone.push(prefix);
    if (!changed.length && !gone.length) return;
    const w = withdraw(gone, conn.session);
    const a = advertise(changed, conn.advertise);
    this.noteSkipped(a.skipped);
    for (const p of gone) this.sent.delete(p);
    const skipped = new Set(a.skipped.map((s) => s.prefix));
    for (const r of changed) {
      if (!skipped.has(r.prefix)) this.sent.set(r.prefix, { route: r, key: routeKey(r) });
      else this.sent.delete(r.prefix);
    }
    // Withdrawals first, then announcements: one write.
    this.writeUpdates(conn, [...w.updates, ...a.updates]);
    this.log.debug({ announced: changed.length - skipped.size, withdrawn: gone.length }, 'BGP routes sent');
    this.emitStatus();
  }

  private noteSkipped(skipped: { prefix: string; reason: string }[]): void {
    for (const s of skipped) {
      if (this.warnedSkips.has(s.prefix)) continue;
      this.warnedSkips.add(s.prefix);
      this.log.warn({ prefix: s.prefix, reason: s.reason }, 'BGP: route not advertised on this session');
    }
  }

  // --- Status ----------------------------------------------------------------------------------

  private setError(text: string): void {
    if (this.lastError === text) return;
    this.lastError = text;
    this.emitStatus();
  }

  /** Emits 'status' when the state, lastError or prefixesSent changed since the last emit. */
  private emitStatus(): void {
    const s = this.status();
    const l = this.lastEmitted;
    if (l && l.state === s.state && l.lastError === s.lastError && l.prefixesSent === s.prefixesSent) return;
    this.lastEmitted = s;
    this.emit('status', s);
  }
}

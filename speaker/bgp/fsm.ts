import {
  buildOpen,
  type Message,
  type NotificationFields,
  notification,
  type OpenMessage,
  shutdownNotification,
} from './codec.ts';
import { CeaseSubcode, ErrorCode, FsmSubcode, OpenSubcode } from './constants.ts';
import { negotiate, type PeerConfig, type Session, validateOpen } from './negotiate.ts';

/**
 * The RFC 4271 §8 session FSM for one TCP connection, as a pure reducer: `step(state, event)` →
 * `{ state, actions }`. The shell owns sockets and timers: it turns what happens into events and
 * carries out the actions in order (they are data: send, start/stop timer, connect, disconnect,
 * established, down, resend-routes). Two connections to one peer are two FSMs; the shell calls
 * `resolveCollision` (negotiate.ts) when the second reaches OpenConfirm and feeds the loser
 * `OpenCollisionDump`.
 *
 * Not modelled (optional in RFC 4271 §8.1): DelayOpen, SendNOTIFICATIONwithoutOPEN,
 * CollisionDetectEstablishedState, and the TcpConnection_Valid / Tcp_CR_Invalid events (the shell
 * only ever accepts connections from a configured peer address). Where this reducer departs from
 * the §8.2.2 text it says so next to the case.
 */

export type StateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** Timers the shell runs. IdleHold (restart backoff) and Stable (backoff reset) are ours, not RFC 4271's. */
export type Timer = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'IdleHold' | 'Stable';

export interface FsmState {
  config: PeerConfig;
  state: StateName;
  connectRetryCounter: number;
  /** Set by ManualStop: no automatic restart until ManualStart. */
  adminDown: boolean;
  /** Seconds the next automatic restart waits. */
  idleHoldTime: number;
  idleHoldRunning: boolean;
  /**
   * R bit of our graceful restart capability: the config's value until a session has been
   * Established once, then false (RFC 4724 §3: only the OPENs right after a restart carry it).
   */
  grRestarting: boolean;
  /** Our OPEN on this connection (sent on entering OpenSent). */
  localOpen?: OpenMessage;
  /** Set from OpenConfirm on. */
  session?: Session;
}

export type FsmEvent =
  | { type: 'ManualStart' }
  | { type: 'ManualStop'; shutdownMessage?: string }
  | { type: 'AutomaticStart' }
  /** Cease subcode to send; default Administrative Reset. */
  | { type: 'AutomaticStop'; subcode?: number }
  | { type: 'ConnectRetryTimer_Expires' }
  | { type: 'HoldTimer_Expires' }
  | { type: 'KeepaliveTimer_Expires' }
  | { type: 'IdleHoldTimer_Expires' }
  | { type: 'StableTimer_Expires' }
  | { type: 'Tcp_CR_Acked' }
  | { type: 'TcpConnectionConfirmed' }
  | { type: 'TcpConnectionFails' }
  | { type: 'BGPOpen'; open: OpenMessage }
  | { type: 'BGPHeaderErr'; notification: NotificationFields }
  | { type: 'BGPOpenMsgErr'; notification: NotificationFields }
  | { type: 'OpenCollisionDump' }
  | { type: 'NotifMsgVerErr'; notification?: NotificationFields }
  | { type: 'NotifMsg'; notification: NotificationFields }
  | { type: 'KeepAliveMsg' }
  | { type: 'UpdateMsg' }
  | { type: 'UpdateMsgErr'; notification: NotificationFields }
  /** Not an RFC 4271 event: a ROUTE-REFRESH (RFC 2918) arrived. */
  | { type: 'RouteRefreshMsg'; afi: number; safi: number; subtype: number };

export type FsmEventType = FsmEvent['type'];

export type Action =
  | { type: 'send'; message: Message }
  | { type: 'start-timer'; timer: Timer; seconds: number }
  | { type: 'stop-timer'; timer: Timer }
  /** Initiate a TCP connection to the peer. */
  | { type: 'connect' }
  /** Drop the TCP connection (after flushing what was sent) and release everything for it. */
  | { type: 'disconnect' }
  /** Advertise every route for session.families, then End-of-RIB per family. */
  | { type: 'established'; session: Session }
  | {
      type: 'down';
      from: StateName;
      reason: string;
      sent?: NotificationFields;
      received?: NotificationFields;
    }
  /** Re-advertise the routes of one family (ROUTE-REFRESH). */
  | { type: 'resend-routes'; afi: number; safi: number };

export interface StepResult {
  state: FsmState;
  actions: Action[];
}

const DEFAULT_OPEN_HOLD = 240;
const ALL_TIMERS: Timer[] = ['ConnectRetry', 'Hold', 'Keepalive', 'Stable'];

export function initialState(config: PeerConfig): FsmState {
  return {
    config,
    state: 'Idle',
    connectRetryCounter: 0,
    adminDown: true,
    idleHoldTime: config.idleHold.initial,
    idleHoldRunning: false,
    grRestarting: config.gracefulRestart?.restarting ?? false,
  };
}

const MESSAGE_EVENTS = new Set<FsmEventType>([
  'BGPOpen',
  'KeepAliveMsg',
  'UpdateMsg',
  'UpdateMsgErr',
  'RouteRefreshMsg',
  'NotifMsg',
  'NotifMsgVerErr',
]);

function fsmError(state: 'OpenSent' | 'OpenConfirm' | 'Established', e: FsmEvent): NotificationFields {
  // RFC 6608: an unexpected message names the state; anything else is "unspecified".
  const sub = !MESSAGE_EVENTS.has(e.type)
    ? FsmSubcode.UNSPECIFIED
    : state === 'OpenSent'
      ? FsmSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT
      : state === 'OpenConfirm'
        ? FsmSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM
        : FsmSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED;
  return { code: ErrorCode.FSM, subcode: sub, data: new Uint8Array(0) };
}

const fields = (code: number, subcode: number): NotificationFields => ({
  code,
  subcode,
  data: new Uint8Array(0),
});

interface ToIdle {
  reason: string;
  send?: NotificationFields;
  received?: NotificationFields;
  /** ManualStop: counter to zero, no automatic restart. */
  admin?: boolean;
  /** RFC: most error paths increment ConnectRetryCounter; a few (NotifMsgVerErr, Tcp fails in Connect) do not. */
  countFailure?: boolean;
}

/** Every exit to Idle: optional NOTIFICATION, all timers stopped, TCP dropped, restart scheduled. */
function toIdle(s: FsmState, t: ToIdle): StepResult {
  const actions: Action[] = [];
  if (t.send) actions.push({ type: 'send', message: notification(t.send.code, t.send.subcode, t.send.data) });
  for (const timer of ALL_TIMERS) actions.push({ type: 'stop-timer', timer });
  actions.push({ type: 'disconnect' });
  actions.push({
    type: 'down',
    from: s.state,
    reason: t.reason,
    ...(t.send ? { sent: t.send } : {}),
    ...(t.received ? { received: t.received } : {}),
  });
  const next: FsmState = {
    ...s,
    state: 'Idle',
    session: undefined,
    localOpen: undefined,
    connectRetryCounter: t.admin ? 0 : s.connectRetryCounter + (t.countFailure === false ? 0 : 1),
    adminDown: s.adminDown || !!t.admin,
  };
  // Peer oscillation damping (RFC 4271 §8.1.1 leaves the method open): restart after IdleHold,
  // doubling on each failure up to max; StableTimer resets it once a session has held.
  if (!next.adminDown) {
    actions.push({ type: 'start-timer', timer: 'IdleHold', seconds: s.idleHoldTime });
    next.idleHoldRunning = true;
    next.idleHoldTime = Math.min(s.config.idleHold.max, Math.max(1, s.idleHoldTime * 2));
  }
  return { state: next, actions };
}

function start(s: FsmState): StepResult {
  const next: FsmState = { ...s, adminDown: false, idleHoldRunning: false };
  const actions: Action[] = [
    // ManualStart during the backoff starts now; the pending restart must not fire later.
    ...(s.idleHoldRunning ? [{ type: 'stop-timer', timer: 'IdleHold' } as const] : []),
    { type: 'start-timer', timer: 'ConnectRetry', seconds: s.config.connectRetryTime },
  ];
  if (s.config.passive) return { state: { ...next, state: 'Active' }, actions };
  actions.push({ type: 'connect' });
  return { state: { ...next, state: 'Connect' }, actions };
}

/** TCP is up (either direction): send our OPEN and wait for theirs under a long hold timer. */
function sendOpen(s: FsmState): StepResult {
  const c = s.config;
  const open = buildOpen({
    asn: c.localAs,
    holdTime: c.holdTime,
    bgpId: c.localId,
    families: c.families,
    routeRefresh: c.routeRefresh,
    ...(c.gracefulRestart ? { gracefulRestart: { ...c.gracefulRestart, restarting: s.grRestarting } } : {}),
  });
  return {
    state: { ...s, state: 'OpenSent', localOpen: open },
    actions: [
      { type: 'stop-timer', timer: 'ConnectRetry' },
      { type: 'send', message: open },
      { type: 'start-timer', timer: 'Hold', seconds: c.openHoldTime ?? DEFAULT_OPEN_HOLD },
    ],
  };
}

const stay = (s: FsmState, actions: Action[] = []): StepResult => ({ state: s, actions });

function ceaseFor(e: Extract<FsmEvent, { type: 'ManualStop' }>): NotificationFields {
  if (e.shutdownMessage === undefined) return fields(ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN);
  // RFC 9003 allows 255 octets; a longer operator message is cut at a character boundary, not refused.
  let text = '';
  let octets = 0;
  for (const ch of e.shutdownMessage) {
    octets += Buffer.byteLength(ch, 'utf8');
    if (octets > 255) break;
    text += ch;
  }
  const n = shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, text);
  return { code: n.code, subcode: n.subcode, data: n.data };
}

function holdActions(session: Session): Action[] {
  if (session.holdTime === 0) return [{ type: 'stop-timer', timer: 'Hold' }];
  return [{ type: 'start-timer', timer: 'Hold', seconds: session.holdTime }];
}

export function step(s: FsmState, e: FsmEvent): StepResult {
  switch (s.state) {
    case 'Idle':
      return idle(s, e);
    case 'Connect':
    case 'Active':
      return connectOrActive(s, e);
    case 'OpenSent':
      return openSent(s, e);
    case 'OpenConfirm':
      return openConfirm(s, e);
    case 'Established':
      return established(s, e);
  }
}

function idle(s: FsmState, e: FsmEvent): StepResult {
  switch (e.type) {
    case 'ManualStart':
      return start({ ...s, connectRetryCounter: 0, idleHoldTime: s.config.idleHold.initial });
    case 'AutomaticStart':
    case 'IdleHoldTimer_Expires':
      // An automatic start waits out the backoff and never overrides ManualStop.
      if (s.adminDown) return stay(s);
      if (e.type === 'AutomaticStart' && s.idleHoldRunning) return stay(s);
      return start(s);
    case 'ManualStop':
      // RFC 4271 ignores ManualStop in Idle; we also cancel a pending automatic restart.
      if (s.idleHoldRunning || !s.adminDown) {
        return stay({ ...s, adminDown: true, idleHoldRunning: false, connectRetryCounter: 0 }, [
          { type: 'stop-timer', timer: 'IdleHold' },
        ]);
      }
      return stay(s);
    default:
      // RFC 4271 §8.2.2 Idle: every other event is ignored.
      return stay(s);
  }
}

function connectOrActive(s: FsmState, e: FsmEvent): StepResult {
  const where = s.state;
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'IdleHoldTimer_Expires':
    case 'StableTimer_Expires':
      // Already started; a stale IdleHold/Stable timer is not an RFC event, so it is ignored.
      return stay(s);
    case 'ManualStop':
      return toIdle(s, { reason: 'manual stop', admin: true });
    case 'ConnectRetryTimer_Expires':
      if (where === 'Active' && s.config.passive) {
        // Departure: a passive peer never initiates; it keeps listening.
        return stay(s, [{ type: 'start-timer', timer: 'ConnectRetry', seconds: s.config.connectRetryTime }]);
      }
      return {
        state: { ...s, state: 'Connect' },
        actions: [
          ...(where === 'Connect' ? [{ type: 'disconnect' } as const] : []),
          { type: 'start-timer', timer: 'ConnectRetry', seconds: s.config.connectRetryTime },
          { type: 'connect' },
        ],
      };
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return sendOpen(s);
    case 'TcpConnectionFails':
      // Connect: to Idle without counting; Active: counted (RFC 4271 §8.2.2).
      return toIdle(s, { reason: 'TCP connection failed', countFailure: where === 'Active' });
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle(s, { reason: `${e.type} before OPEN was sent` });
    case 'NotifMsgVerErr':
      return toIdle(s, { reason: 'peer does not support BGP-4', countFailure: false });
    case 'NotifMsg':
      return toIdle(s, { reason: 'NOTIFICATION received', received: e.notification });
    default:
      // AutomaticStop, Hold/Keepalive expiry, BGPOpen, OpenCollisionDump, KeepAliveMsg, UpdateMsg,
      // UpdateMsgErr, RouteRefreshMsg: "any other event" → Idle.
      return toIdle(s, { reason: `unexpected ${e.type} in ${where}` });
  }
}

/** Handling shared by OpenSent, OpenConfirm and Established. */
function common(
  s: FsmState,
  e: FsmEvent,
  where: 'OpenSent' | 'OpenConfirm' | 'Established',
): StepResult | undefined {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'IdleHoldTimer_Expires':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // A second connection is tracked by the shell (collision); nothing changes here.
      return stay(s);
    case 'StableTimer_Expires':
      if (where !== 'Established') return stay(s);
      return stay({ ...s, idleHoldTime: s.config.idleHold.initial, connectRetryCounter: 0 });
    case 'ManualStop':
      return toIdle(s, { reason: 'manual stop', admin: true, send: ceaseFor(e) });
    case 'AutomaticStop':
      return toIdle(s, {
        reason: 'automatic stop',
        send: fields(ErrorCode.CEASE, e.subcode ?? CeaseSubcode.ADMINISTRATIVE_RESET),
      });
    case 'HoldTimer_Expires':
      return toIdle(s, { reason: 'hold timer expired', send: fields(ErrorCode.HOLD_TIMER_EXPIRED, 0) });
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      // Departure in Established: RFC 4271 §8.2.2 would send an FSM error here; §6.1/§6.2's own
      // NOTIFICATION tells the peer what was actually wrong.
      return toIdle(s, { reason: `${e.type}`, send: e.notification });
    case 'OpenCollisionDump':
      return toIdle(s, {
        reason: 'connection collision',
        send: fields(ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION),
      });
    case 'NotifMsgVerErr':
      return toIdle(s, {
        reason: 'peer does not support BGP-4',
        countFailure: false,
        ...(e.notification ? { received: e.notification } : {}),
      });
    case 'NotifMsg':
      // Departure in OpenSent: RFC 4271 lists NotifMsg among events answered with an FSM error; a
      // NOTIFICATION is never answered (§6.4), the peer is already closing.
      if (
        where !== 'Established' &&
        e.notification.code === ErrorCode.OPEN_MESSAGE &&
        e.notification.subcode === OpenSubcode.UNSUPPORTED_VERSION_NUMBER
      ) {
        return toIdle(s, {
          reason: 'peer does not support BGP-4',
          countFailure: false,
          received: e.notification,
        });
      }
      return toIdle(s, { reason: 'NOTIFICATION received', received: e.notification });
    case 'TcpConnectionFails':
      if (where === 'OpenSent') {
        // RFC 4271: back to Active, listening, with the ConnectRetryTimer restarted.
        return {
          state: { ...s, state: 'Active', localOpen: undefined },
          actions: [
            { type: 'stop-timer', timer: 'Hold' },
            { type: 'disconnect' },
            { type: 'start-timer', timer: 'ConnectRetry', seconds: s.config.connectRetryTime },
          ],
        };
      }
      return toIdle(s, { reason: 'TCP connection failed' });
    default:
      return undefined;
  }
}

function openSent(s: FsmState, e: FsmEvent): StepResult {
  const c = common(s, e, 'OpenSent');
  if (c) return c;
  if (e.type === 'BGPOpen') {
    const bad = validateOpen(s.config, e.open);
    if (bad) return toIdle(s, { reason: 'OPEN refused', send: bad });
    const session = negotiate(s.config, s.localOpen!, e.open);
    const actions: Action[] = [
      { type: 'stop-timer', timer: 'ConnectRetry' },
      { type: 'send', message: { type: 'keepalive' } },
    ];
    if (session.holdTime > 0) {
      actions.push({ type: 'start-timer', timer: 'Keepalive', seconds: session.keepaliveTime });
    }
    actions.push(...holdActions(session));
    return { state: { ...s, state: 'OpenConfirm', session }, actions };
  }
  return toIdle(s, { reason: `unexpected ${e.type} in OpenSent`, send: fsmError('OpenSent', e) });
}

function keepaliveTick(s: FsmState): StepResult {
  return stay(s, [
    { type: 'send', message: { type: 'keepalive' } },
    { type: 'start-timer', timer: 'Keepalive', seconds: s.session!.keepaliveTime },
  ]);
}

function openConfirm(s: FsmState, e: FsmEvent): StepResult {
  const c = common(s, e, 'OpenConfirm');
  if (c) return c;
  const session = s.session!;
  if (e.type === 'KeepaliveTimer_Expires') return keepaliveTick(s);
  if (e.type === 'KeepAliveMsg') {
    return {
      state: { ...s, state: 'Established', grRestarting: false },
      actions: [
        ...holdActions(session),
        { type: 'start-timer', timer: 'Stable', seconds: s.config.stableTime },
        { type: 'established', session },
      ],
    };
  }
  return toIdle(s, { reason: `unexpected ${e.type} in OpenConfirm`, send: fsmError('OpenConfirm', e) });
}

function established(s: FsmState, e: FsmEvent): StepResult {
  const c = common(s, e, 'Established');
  if (c) return c;
  const session = s.session!;
  switch (e.type) {
    case 'KeepaliveTimer_Expires':
      return keepaliveTick(s);
    case 'KeepAliveMsg':
    case 'UpdateMsg':
      // We ignore the routes a peer sends (ADR 100); an UPDATE only proves the peer is alive.
      return stay(s, holdActions(session));
    case 'UpdateMsgErr':
      return toIdle(s, { reason: 'UPDATE error', send: e.notification });
    case 'RouteRefreshMsg': {
      // RFC 2918 §4 / RFC 7313 §4: refresh only a negotiated family; anything else is ignored.
      const negotiated = session.families.some((f) => f.afi === e.afi && f.safi === e.safi);
      if (!session.routeRefresh || !negotiated || e.subtype !== 0) return stay(s);
      return stay(s, [{ type: 'resend-routes', afi: e.afi, safi: e.safi }]);
    }
    default:
      // ConnectRetryTimer_Expires, BGPOpen: RFC 4271 §8.2.2 "any other event" (RFC 6608 subcodes).
      return toIdle(s, { reason: `unexpected ${e.type} in Established`, send: fsmError('Established', e) });
  }
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildOpen, type OpenMessage } from '../../../speaker/bgp/codec.ts';
import { SUBCODES } from '../../../speaker/bgp/constants.ts';
import {
  type Action,
  type FsmEvent,
  type FsmState,
  initialState,
  type StateName,
  step,
  type Timer,
} from '../../../speaker/bgp/fsm.ts';
import type { PeerConfig } from '../../../speaker/bgp/negotiate.ts';

const V4 = { afi: 1, safi: 1 };
const V6 = { afi: 2, safi: 1 };

const CONFIG: PeerConfig = {
  localAs: 65001,
  localId: '192.0.2.1',
  peerAs: 65000,
  holdTime: 90,
  connectRetryTime: 5,
  passive: false,
  families: [V4, V6],
  routeRefresh: true,
  idleHold: { initial: 1, max: 16 },
  stableTime: 60,
};

const PEER_OPEN: OpenMessage = buildOpen({
  asn: 65000,
  holdTime: 30,
  bgpId: '192.0.2.254',
  families: [V4],
  routeRefresh: true,
});

const NOTIF = (code: number, subcode: number) => ({ code, subcode, data: new Uint8Array(0) });

/** One instance of every event the reducer knows. */
const EVENTS: Record<FsmEvent['type'], FsmEvent> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  AutomaticStop: { type: 'AutomaticStop' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  StableTimer_Expires: { type: 'StableTimer_Expires' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails' },
  BGPOpen: { type: 'BGPOpen', open: PEER_OPEN },
  BGPHeaderErr: { type: 'BGPHeaderErr', notification: NOTIF(1, 2) },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', notification: NOTIF(2, 4) },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr' },
  NotifMsg: { type: 'NotifMsg', notification: NOTIF(6, 2) },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg' },
  UpdateMsgErr: { type: 'UpdateMsgErr', notification: NOTIF(3, 1) },
  RouteRefreshMsg: { type: 'RouteRefreshMsg', afi: 1, safi: 1, subtype: 0 },
};

function run(s: FsmState, ...events: FsmEvent[]): { state: FsmState; actions: Action[] } {
  let actions: Action[] = [];
  for (const e of events) {
    const r = step(s, e);
    s = r.state;
    actions = r.actions;
  }
  return { state: s, actions };
}

function inState(name: StateName, config: PeerConfig = CONFIG): FsmState {
  const idle = initialState(config);
  const paths: Record<StateName, FsmEvent[]> = {
    Idle: [],
    Connect: [EVENTS.ManualStart],
    OpenSent: [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked],
    Active: [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.TcpConnectionFails],
    OpenConfirm: [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.BGPOpen],
    Established: [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.BGPOpen, EVENTS.KeepAliveMsg],
  };
  const s = run(idle, ...paths[name]).state;
  expect(s.state).toBe(name);
  return s;
}

const sent = (actions: Action[]) =>
  actions.flatMap((a) =>
    a.type === 'send' && a.message.type === 'notification' ? [`${a.message.code}/${a.message.subcode}`] : [],
  );

/**
 * RFC 4271 §8.2.2, state by state: the next state and the NOTIFICATION sent ('-' for none) for
 * every event. Where we depart from the RFC text the fsm.ts comment says why (NotifMsg is never
 * answered; header/OPEN errors in Established send their own §6 NOTIFICATION; stale IdleHold/
 * Stable timers are ignored).
 */
const TABLE: Record<StateName, Record<FsmEvent['type'], string>> = {
  Idle: {
    ManualStart: 'Connect -',
    ManualStop: 'Idle -',
    AutomaticStart: 'Idle -', // administratively down until ManualStart
    AutomaticStop: 'Idle -',
    ConnectRetryTimer_Expires: 'Idle -',
    HoldTimer_Expires: 'Idle -',
    KeepaliveTimer_Expires: 'Idle -',
    IdleHoldTimer_Expires: 'Idle -',
    StableTimer_Expires: 'Idle -',
    Tcp_CR_Acked: 'Idle -',
    TcpConnectionConfirmed: 'Idle -',
    TcpConnectionFails: 'Idle -',
    BGPOpen: 'Idle -',
    BGPHeaderErr: 'Idle -',
    BGPOpenMsgErr: 'Idle -',
    OpenCollisionDump: 'Idle -',
    NotifMsgVerErr: 'Idle -',
    NotifMsg: 'Idle -',
    KeepAliveMsg: 'Idle -',
    UpdateMsg: 'Idle -',
    UpdateMsgErr: 'Idle -',
    RouteRefreshMsg: 'Idle -',
  },
  Connect: {
    ManualStart: 'Connect -',
    ManualStop: 'Idle -',
    AutomaticStart: 'Connect -',
    AutomaticStop: 'Idle -',
    ConnectRetryTimer_Expires: 'Connect -',
    HoldTimer_Expires: 'Idle -',
    KeepaliveTimer_Expires: 'Idle -',
    IdleHoldTimer_Expires: 'Connect -',
    StableTimer_Expires: 'Connect -',
    Tcp_CR_Acked: 'OpenSent -',
    TcpConnectionConfirmed: 'OpenSent -',
    TcpConnectionFails: 'Idle -',
    BGPOpen: 'Idle -',
    BGPHeaderErr: 'Idle -',
    BGPOpenMsgErr: 'Idle -',
    OpenCollisionDump: 'Idle -',
    NotifMsgVerErr: 'Idle -',
    NotifMsg: 'Idle -',
    KeepAliveMsg: 'Idle -',
    UpdateMsg: 'Idle -',
    UpdateMsgErr: 'Idle -',
    RouteRefreshMsg: 'Idle -',
  },
  Active: {
    ManualStart: 'Active -',
    ManualStop: 'Idle -',
    AutomaticStart: 'Active -',
    AutomaticStop: 'Idle -',
    ConnectRetryTimer_Expires: 'Connect -',
    HoldTimer_Expires: 'Idle -',
    KeepaliveTimer_Expires: 'Idle -',
    IdleHoldTimer_Expires: 'Active -',
    StableTimer_Expires: 'Active -',
    Tcp_CR_Acked: 'OpenSent -',
    TcpConnectionConfirmed: 'OpenSent -',
    TcpConnectionFails: 'Idle -',
    BGPOpen: 'Idle -',
    BGPHeaderErr: 'Idle -',
    BGPOpenMsgErr: 'Idle -',
    OpenCollisionDump: 'Idle -',
    NotifMsgVerErr: 'Idle -',
    NotifMsg: 'Idle -',
    KeepAliveMsg: 'Idle -',
    UpdateMsg: 'Idle -',
    UpdateMsgErr: 'Idle -',
    RouteRefreshMsg: 'Idle -',
  },
  OpenSent: {
    ManualStart: 'OpenSent -',
    ManualStop: 'Idle 6/2',
    AutomaticStart: 'OpenSent -',
    AutomaticStop: 'Idle 6/4',
    ConnectRetryTimer_Expires: 'Idle 5/0',
    HoldTimer_Expires: 'Idle 4/0',
    KeepaliveTimer_Expires: 'Idle 5/0',
    IdleHoldTimer_Expires: 'OpenSent -',
    StableTimer_Expires: 'OpenSent -',
    Tcp_CR_Acked: 'OpenSent -',
    TcpConnectionConfirmed: 'OpenSent -',
    TcpConnectionFails: 'Active -',
    BGPOpen: 'OpenConfirm -',
    BGPHeaderErr: 'Idle 1/2',
    BGPOpenMsgErr: 'Idle 2/4',
    OpenCollisionDump: 'Idle 6/7',
    NotifMsgVerErr: 'Idle -',
    NotifMsg: 'Idle -',
    KeepAliveMsg: 'Idle 5/1',
    UpdateMsg: 'Idle 5/1',
    UpdateMsgErr: 'Idle 5/1',
    RouteRefreshMsg: 'Idle 5/1',
  },
  OpenConfirm: {
    ManualStart: 'OpenConfirm -',
    ManualStop: 'Idle 6/2',
    AutomaticStart: 'OpenConfirm -',
    AutomaticStop: 'Idle 6/4',
    ConnectRetryTimer_Expires: 'Idle 5/0',
    HoldTimer_Expires: 'Idle 4/0',
    KeepaliveTimer_Expires: 'OpenConfirm -',
    IdleHoldTimer_Expires: 'OpenConfirm -',
    StableTimer_Expires: 'OpenConfirm -',
    Tcp_CR_Acked: 'OpenConfirm -',
    TcpConnectionConfirmed: 'OpenConfirm -',
    TcpConnectionFails: 'Idle -',
    BGPOpen: 'Idle 5/2',
    BGPHeaderErr: 'Idle 1/2',
    BGPOpenMsgErr: 'Idle 2/4',
    OpenCollisionDump: 'Idle 6/7',
    NotifMsgVerErr: 'Idle -',
    NotifMsg: 'Idle -',
    KeepAliveMsg: 'Established -',
    UpdateMsg: 'Idle 5/2',
    UpdateMsgErr: 'Idle 5/2',
    RouteRefreshMsg: 'Idle 5/2',
  },
  Established: {
    ManualStart: 'Established -',
    ManualStop: 'Idle 6/2',
    AutomaticStart: 'Established -',
    AutomaticStop: 'Idle 6/4',
    ConnectRetryTimer_Expires: 'Idle 5/0',
    HoldTimer_Expires: 'Idle 4/0',
    KeepaliveTimer_Expires: 'Established -',
    IdleHoldTimer_Expires: 'Established -',
    StableTimer_Expires: 'Established -',
    Tcp_CR_Acked: 'Established -',
    TcpConnectionConfirmed: 'Established -',
    TcpConnectionFails: 'Idle -',
    BGPOpen: 'Idle 5/3',
    BGPHeaderErr: 'Idle 1/2',
    BGPOpenMsgErr: 'Idle 2/4',
    OpenCollisionDump: 'Idle 6/7',
    NotifMsgVerErr: 'Idle -',
    NotifMsg: 'Idle -',
    KeepAliveMsg: 'Established -',
    UpdateMsg: 'Established -',
    UpdateMsgErr: 'Idle 3/1',
    RouteRefreshMsg: 'Established -',
  },
};

describe('FSM: every state × every event (RFC 4271 §8.2.2)', () => {
  for (const [name, row] of Object.entries(TABLE) as [StateName, Record<string, string>][]) {
    for (const [ev, expected] of Object.entries(row)) {
      it(`${name} + ${ev} → ${expected}`, () => {
        const from = inState(name);
        const r = step(from, EVENTS[ev as FsmEvent['type']]);
        const [next, notif] = expected.split(' ');
        expect(r.state.state).toBe(next);
        expect(sent(r.actions)).toEqual(notif === '-' ? [] : [notif]);
        if (next === 'Idle' && name !== 'Idle') {
          // Every exit to Idle drops TCP and reports why, exactly once.
          expect(r.actions.filter((a) => a.type === 'disconnect')).toHaveLength(1);
          expect(r.actions.filter((a) => a.type === 'down')).toHaveLength(1);
          expect(r.state.session).toBeUndefined();
        }
      });
    }
  }

  it('covers every event type in every state', () => {
    for (const row of Object.values(TABLE))
      expect(Object.keys(row).sort()).toEqual(Object.keys(EVENTS).sort());
  });
});

describe('FSM: a full session', () => {
  it('Idle → Connect → OpenSent → OpenConfirm → Established, keepalives, refresh, manual stop', () => {
    let s = initialState(CONFIG);
    let r = step(s, EVENTS.ManualStart);
    expect(r.state.state).toBe('Connect');
    expect(r.actions).toEqual([
      { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 },
      { type: 'connect' },
    ]);

    r = step(r.state, EVENTS.Tcp_CR_Acked);
    expect(r.state.state).toBe('OpenSent');
    expect(r.actions).toEqual([
      { type: 'stop-timer', timer: 'ConnectRetry' },
      {
        type: 'send',
        message: buildOpen({
          asn: 65001,
          holdTime: 90,
          bgpId: '192.0.2.1',
          families: [V4, V6],
          routeRefresh: true,
        }),
      },
      { type: 'start-timer', timer: 'Hold', seconds: 240 },
    ]);

    r = step(r.state, EVENTS.BGPOpen);
    expect(r.state.state).toBe('OpenConfirm');
    // hold = min(90, 30); keepalive = 30 / 3
    expect(r.actions).toEqual([
      { type: 'stop-timer', timer: 'ConnectRetry' },
      { type: 'send', message: { type: 'keepalive' } },
      { type: 'start-timer', timer: 'Keepalive', seconds: 10 },
      { type: 'start-timer', timer: 'Hold', seconds: 30 },
    ]);

    r = step(r.state, EVENTS.KeepAliveMsg);
    expect(r.state.state).toBe('Established');
    const session = {
      peerAs: 65000,
      peerId: '192.0.2.254',
      internal: false,
      holdTime: 30,
      keepaliveTime: 10,
      fourOctetAs: true,
      families: [V4],
      routeRefresh: true,
    };
    expect(r.actions).toEqual([
      { type: 'start-timer', timer: 'Hold', seconds: 30 },
      { type: 'start-timer', timer: 'Stable', seconds: 60 },
      { type: 'established', session },
    ]);

    s = r.state;
    expect(step(s, EVENTS.KeepaliveTimer_Expires).actions).toEqual([
      { type: 'send', message: { type: 'keepalive' } },
      { type: 'start-timer', timer: 'Keepalive', seconds: 10 },
    ]);
    expect(step(s, EVENTS.UpdateMsg).actions).toEqual([{ type: 'start-timer', timer: 'Hold', seconds: 30 }]);
    expect(step(s, EVENTS.RouteRefreshMsg).actions).toEqual([{ type: 'resend-routes', afi: 1, safi: 1 }]);
    // IPv6 was not negotiated (the peer offered only IPv4): its refresh is ignored (RFC 2918 §4).
    expect(step(s, { type: 'RouteRefreshMsg', afi: 2, safi: 1, subtype: 0 }).actions).toEqual([]);
    // BoRR/EoRR (RFC 7313) are not requests.
    expect(step(s, { type: 'RouteRefreshMsg', afi: 1, safi: 1, subtype: 1 }).actions).toEqual([]);

    r = step(s, { type: 'ManualStop', shutdownMessage: 'node drain' });
    expect(r.state).toMatchObject({ state: 'Idle', adminDown: true, connectRetryCounter: 0 });
    const notification = r.actions[0];
    expect(notification).toMatchObject({
      type: 'send',
      message: { type: 'notification', code: 6, subcode: 2 },
    });
    expect(Buffer.from((notification as { message: { data: Uint8Array } }).message.data).toString()).toBe(
      '\x0anode drain',
    );
    expect(r.actions.some((a) => a.type === 'start-timer')).toBe(false); // no automatic restart
    expect(r.actions.at(-1)).toMatchObject({ type: 'down', from: 'Established', reason: 'manual stop' });
  });

  it('hold time 0 runs no keepalive and no hold timer', () => {
    const s = run(inState('OpenSent', { ...CONFIG, holdTime: 0 }), EVENTS.BGPOpen);
    expect(s.state.session).toMatchObject({ holdTime: 0, keepaliveTime: 0 });
    expect(s.actions.filter((a) => a.type === 'start-timer')).toEqual([]);
    const e = step(s.state, EVENTS.KeepAliveMsg);
    expect(e.actions.filter((a) => a.type === 'start-timer' && a.timer !== 'Stable')).toEqual([]);
  });

  it('passive: waits in Active, never connects, accepts the peer', () => {
    const cfg = { ...CONFIG, passive: true };
    let r = step(initialState(cfg), EVENTS.ManualStart);
    expect(r.state.state).toBe('Active');
    expect(r.actions.some((a) => a.type === 'connect')).toBe(false);
    r = step(r.state, EVENTS.ConnectRetryTimer_Expires);
    expect(r.state.state).toBe('Active');
    expect(r.actions).toEqual([{ type: 'start-timer', timer: 'ConnectRetry', seconds: 5 }]);
    r = step(r.state, EVENTS.TcpConnectionConfirmed);
    expect(r.state.state).toBe('OpenSent');
  });

  it('Connect: ConnectRetry expiry drops the attempt and retries', () => {
    const r = step(inState('Connect'), EVENTS.ConnectRetryTimer_Expires);
    expect(r.actions).toEqual([
      { type: 'disconnect' },
      { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 },
      { type: 'connect' },
    ]);
  });
});

describe('FSM: timers, failures and restart damping', () => {
  it('hold timer expiry in OpenSent sends Hold Timer Expired and schedules a restart', () => {
    const r = step(inState('OpenSent'), EVENTS.HoldTimer_Expires);
    expect(r.state).toMatchObject({
      state: 'Idle',
      connectRetryCounter: 1,
      idleHoldRunning: true,
      adminDown: false,
    });
    expect(r.actions[0]).toMatchObject({ type: 'send', message: { code: 4, subcode: 0 } });
    expect(r.actions.at(-1)).toEqual({ type: 'start-timer', timer: 'IdleHold', seconds: 1 });
    expect(r.actions).toContainEqual({
      type: 'down',
      from: 'OpenSent',
      reason: 'hold timer expired',
      sent: NOTIF(4, 0),
    });
  });

  it('restart backoff doubles up to max, and Stable resets it', () => {
    let s = inState('Established');
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const down = step(s, EVENTS.HoldTimer_Expires);
      const t = down.actions.find((a) => a.type === 'start-timer' && a.timer === 'IdleHold');
      delays.push((t as { seconds: number }).seconds);
      // AutomaticStart is refused while IdleHold runs; its expiry restarts.
      expect(step(down.state, EVENTS.AutomaticStart).state.state).toBe('Idle');
      s = run(
        down.state,
        EVENTS.IdleHoldTimer_Expires,
        EVENTS.Tcp_CR_Acked,
        EVENTS.BGPOpen,
        EVENTS.KeepAliveMsg,
      ).state;
      expect(s.state).toBe('Established');
    }
    expect(delays).toEqual([1, 2, 4, 8, 16, 16, 16]);
    s = step(s, EVENTS.StableTimer_Expires).state;
    expect(s).toMatchObject({ idleHoldTime: 1, connectRetryCounter: 0 });
  });

  it('ManualStop in Idle cancels a pending automatic restart; ManualStart starts at once', () => {
    const down = step(inState('OpenConfirm'), EVENTS.TcpConnectionFails).state;
    expect(down.idleHoldRunning).toBe(true);
    const stopped = step(down, EVENTS.ManualStop);
    expect(stopped.actions).toEqual([{ type: 'stop-timer', timer: 'IdleHold' }]);
    expect(step(stopped.state, EVENTS.IdleHoldTimer_Expires).state.state).toBe('Idle');
    const started = step(down, EVENTS.ManualStart);
    expect(started.state.state).toBe('Connect');
    expect(started.actions[0]).toEqual({ type: 'stop-timer', timer: 'IdleHold' });
  });

  it('OpenSent + TcpConnectionFails → Active, listening, ConnectRetry restarted, counter unchanged', () => {
    const r = step(inState('OpenSent'), EVENTS.TcpConnectionFails);
    expect(r.state).toMatchObject({ state: 'Active', connectRetryCounter: 0 });
    expect(r.actions).toEqual([
      { type: 'stop-timer', timer: 'Hold' },
      { type: 'disconnect' },
      { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 },
    ]);
  });

  it('a NOTIFICATION with Unsupported Version is NotifMsgVerErr: no failure counted', () => {
    const r = step(inState('OpenSent'), { type: 'NotifMsg', notification: NOTIF(2, 1) });
    expect(r.state.connectRetryCounter).toBe(0);
    expect(r.actions).toContainEqual(
      expect.objectContaining({ type: 'down', reason: 'peer does not support BGP-4' }),
    );
    expect(step(inState('OpenSent'), EVENTS.NotifMsg).state.connectRetryCounter).toBe(1);
  });

  it('AutomaticStop sends the Cease subcode it is given', () => {
    expect(sent(step(inState('Established'), { type: 'AutomaticStop', subcode: 8 }).actions)).toEqual([
      '6/8',
    ]);
  });
});

describe('FSM: OPEN validation', () => {
  const open = (o: Partial<OpenMessage>): OpenMessage => ({ ...PEER_OPEN, ...o });
  const cases: [string, PeerConfig, OpenMessage, string, string?][] = [
    ['version 3', CONFIG, open({ version: 3 }), '2/1', '0004'],
    [
      'wrong AS',
      CONFIG,
      buildOpen({ asn: 65002, holdTime: 30, bgpId: '192.0.2.254', families: [V4] }),
      '2/2',
    ],
    ['AS 0', { ...CONFIG, peerAs: 'external' }, open({ myAs: 0, capabilities: [] }), '2/2'],
    ['internal expected, external seen', { ...CONFIG, peerAs: 'internal' }, PEER_OPEN, '2/2'],
    [
      'external expected, internal seen',
      { ...CONFIG, peerAs: 'external' },
      buildOpen({ asn: 65001, holdTime: 30, bgpId: '192.0.2.254', families: [V4] }),
      '2/2',
    ],
    ['BGP identifier 0', CONFIG, open({ bgpId: '0.0.0.0' }), '2/3'],
    [
      'iBGP peer with our identifier',
      { ...CONFIG, peerAs: 'internal' },
      buildOpen({ asn: 65001, holdTime: 30, bgpId: '192.0.2.1', families: [V4] }),
      '2/3',
    ],
    ['hold time 1', CONFIG, open({ holdTime: 1 }), '2/6'],
    ['hold time 2', CONFIG, open({ holdTime: 2 }), '2/6'],
    [
      'IPv6 required but not offered',
      { ...CONFIG, required: ['ipv6-unicast'] },
      PEER_OPEN,
      '2/7',
      '010400020001',
    ],
    [
      '4-octet AS required, peer is old',
      { ...CONFIG, required: ['four-octet-as', 'graceful-restart'] },
      open({ capabilities: [] }),
      '2/7',
      '41040000fde9' + '40020000',
    ],
  ];
  for (const [name, cfg, o, notif, data] of cases) {
    it(`${name} → ${notif}`, () => {
      const r = step(inState('OpenSent', cfg), { type: 'BGPOpen', open: o });
      expect(r.state.state).toBe('Idle');
      expect(sent(r.actions)).toEqual([notif]);
      if (data !== undefined) {
        const a = r.actions[0] as { message: { data: Uint8Array } };
        expect(Buffer.from(a.message.data).toString('hex')).toBe(data);
      }
    });
  }

  const accepted: [string, PeerConfig, OpenMessage][] = [
    ['external peer with any AS', { ...CONFIG, peerAs: 'external' }, PEER_OPEN],
    ['same identifier from an external peer (RFC 6286 allows it)', CONFIG, open({ bgpId: '192.0.2.1' })],
    [
      '4-octet AS via AS_TRANS + capability',
      { ...CONFIG, peerAs: 4_200_000_000 },
      buildOpen({ asn: 4_200_000_000, holdTime: 3, bgpId: '10.0.0.9', families: [V4] }),
    ],
    ['an old speaker without capabilities', CONFIG, open({ capabilities: [] })],
    ['hold time 0', CONFIG, open({ holdTime: 0 })],
  ];
  for (const [name, cfg, o] of accepted) {
    it(`accepts ${name}`, () => {
      expect(step(inState('OpenSent', cfg), { type: 'BGPOpen', open: o }).state.state).toBe('OpenConfirm');
    });
  }
});

/** Event paths from Idle to each state, so random sequences start anywhere, not only in Idle. */
const PATHS: FsmEvent[][] = [
  [],
  [EVENTS.ManualStart],
  [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked],
  [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.TcpConnectionFails],
  [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.BGPOpen],
  [EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.BGPOpen, EVENTS.KeepAliveMsg],
];

describe('FSM properties', () => {
  const notifArb = fc.record({
    code: fc.integer({ min: 0, max: 255 }),
    subcode: fc.integer({ min: 0, max: 255 }),
    data: fc.uint8Array({ maxLength: 8 }),
  });
  const openArb: fc.Arbitrary<OpenMessage> = fc.record({
    type: fc.constant('open' as const),
    version: fc.constantFrom(3, 4, 4, 4),
    myAs: fc.constantFrom(0, 23456, 65000, 65001),
    holdTime: fc.constantFrom(0, 1, 2, 3, 30, 65535),
    bgpId: fc.constantFrom('0.0.0.0', '192.0.2.1', '192.0.2.254', '255.255.255.255'),
    capabilities: fc.subarray([
      { kind: 'multiprotocol' as const, afi: 2, safi: 1 },
      { kind: 'four-octet-as' as const, asn: 65000 },
      { kind: 'four-octet-as' as const, asn: 4_200_000_000 },
      { kind: 'route-refresh' as const },
      {
        kind: 'graceful-restart' as const,
        restarting: true,
        notification: false,
        restartTime: 90,
        families: [],
      },
    ]),
  });
  // Fixed instances plus events carrying arbitrary peer data (OPENs, NOTIFICATIONs, shutdown text).
  const eventArb: fc.Arbitrary<FsmEvent> = fc.oneof(
    fc.constantFrom(...Object.values(EVENTS)),
    openArb.map((open) => ({ type: 'BGPOpen' as const, open })),
    notifArb.map((notification) => ({ type: 'NotifMsg' as const, notification })),
    fc
      .string({ unit: 'grapheme', maxLength: 300 })
      .map((shutdownMessage) => ({ type: 'ManualStop' as const, shutdownMessage })),
    fc
      .record({
        afi: fc.integer({ min: 0, max: 3 }),
        safi: fc.integer({ min: 0, max: 2 }),
        subtype: fc.integer({ min: 0, max: 3 }),
      })
      .map((r) => ({ type: 'RouteRefreshMsg' as const, ...r })),
  );

  it('any event sequence: never throws, notifications are defined, exits to Idle always disconnect', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom(...PATHS),
        fc.array(eventArb, { maxLength: 60 }),
        (passive, path, events) => {
          let s = initialState({ ...CONFIG, passive });
          for (const e of [...path, ...events]) {
            const r = step(s, e);
            for (const a of r.actions) {
              if (a.type === 'send' && a.message.type === 'notification') {
                expect(SUBCODES[a.message.code]).toContain(a.message.subcode);
              }
              if (a.type === 'start-timer') expect(a.seconds).toBeGreaterThan(0);
            }
            if (r.state.state === 'Idle' && s.state !== 'Idle') {
              expect(r.actions.filter((a) => a.type === 'disconnect')).toHaveLength(1);
            }
            if (r.state.state === 'Established' || r.state.state === 'OpenConfirm')
              expect(r.state.session).toBeDefined();
            expect(r.state.idleHoldTime).toBeGreaterThanOrEqual(CONFIG.idleHold.initial);
            expect(r.state.idleHoldTime).toBeLessThanOrEqual(CONFIG.idleHold.max);
            s = r.state;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('with a shell that fires only running timers, the running timers always fit the state', () => {
    const timerEvent: Record<Timer, FsmEvent> = {
      ConnectRetry: EVENTS.ConnectRetryTimer_Expires,
      Hold: EVENTS.HoldTimer_Expires,
      Keepalive: EVENTS.KeepaliveTimer_Expires,
      IdleHold: EVENTS.IdleHoldTimer_Expires,
      Stable: EVENTS.StableTimer_Expires,
    };
    const nonTimer = Object.values(EVENTS).filter((e) => !Object.values(timerEvent).includes(e));
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom(0, 3, 90),
        fc.constantFrom(...PATHS),
        fc.array(
          fc.oneof(fc.constantFrom(...nonTimer), fc.constantFrom(...(Object.keys(timerEvent) as Timer[]))),
          { maxLength: 80 },
        ),
        (passive, holdTime, path, script) => {
          let s = initialState({ ...CONFIG, passive, holdTime });
          const running = new Set<Timer>();
          for (const item of [...path, ...script]) {
            let e: FsmEvent;
            if (typeof item === 'string') {
              if (!running.has(item)) continue; // a stopped timer never fires
              running.delete(item);
              e = timerEvent[item];
            } else e = item;
            const r = step(s, e);
            for (const a of r.actions) {
              if (a.type === 'start-timer') running.add(a.timer);
              if (a.type === 'stop-timer') running.delete(a.timer);
            }
            s = r.state;
            const has = (t: Timer) => running.has(t);
            switch (s.state) {
              case 'Idle':
                expect([...running].filter((t) => t !== 'IdleHold')).toEqual([]);
                expect(has('IdleHold')).toBe(s.idleHoldRunning);
                expect(has('IdleHold')).toBe(!s.adminDown);
                break;
              case 'Connect':
              case 'Active':
                expect(has('ConnectRetry')).toBe(true);
                expect(has('Hold') || has('Keepalive') || has('IdleHold')).toBe(false);
                break;
              case 'OpenSent':
                expect(has('Hold')).toBe(true);
                expect(has('ConnectRetry') || has('Keepalive') || has('IdleHold')).toBe(false);
                break;
              case 'OpenConfirm':
              case 'Established': {
                const timed = s.session!.holdTime > 0;
                expect(has('Hold')).toBe(timed);
                expect(has('Keepalive')).toBe(timed);
                expect(has('ConnectRetry') || has('IdleHold')).toBe(false);
                break;
              }
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('FSM: graceful restart and shutdown text', () => {
  const gr = { ...CONFIG, gracefulRestart: { restartTime: 60, restarting: true, forwarding: true } };
  const openOf = (actions: Action[]) => {
    const a = actions.find((x) => x.type === 'send' && x.message.type === 'open');
    const m = (a as { message: OpenMessage }).message;
    return m.capabilities.find((c) => c.kind === 'graceful-restart');
  };

  it('sets the R bit until a session has been Established once, then never again', () => {
    let s = run(initialState(gr), EVENTS.ManualStart).state;
    let r = step(s, EVENTS.Tcp_CR_Acked);
    expect(openOf(r.actions)).toMatchObject({
      restarting: true,
      restartTime: 60,
      families: [
        { ...V4, forwarding: true },
        { ...V6, forwarding: true },
      ],
    });
    // A failed attempt before Established keeps it.
    s = run(r.state, EVENTS.TcpConnectionFails, EVENTS.ConnectRetryTimer_Expires).state;
    r = step(s, EVENTS.Tcp_CR_Acked);
    expect(openOf(r.actions)).toMatchObject({ restarting: true });
    s = run(
      r.state,
      EVENTS.BGPOpen,
      EVENTS.KeepAliveMsg,
      EVENTS.HoldTimer_Expires,
      EVENTS.IdleHoldTimer_Expires,
    ).state;
    expect(openOf(step(s, EVENTS.Tcp_CR_Acked).actions)).toMatchObject({ restarting: false });
  });

  it('cuts an over-long shutdown communication to 255 octets on a character boundary', () => {
    const r = step(inState('Established'), { type: 'ManualStop', shutdownMessage: 'ü'.repeat(200) });
    const a = r.actions[0] as { message: { data: Uint8Array } };
    expect(a.message.data[0]).toBe(254); // 127 two-octet characters
    expect(Buffer.from(a.message.data.subarray(1)).toString('utf8')).toBe('ü'.repeat(127));
  });
});

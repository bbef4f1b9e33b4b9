/**
 * Manual interop check of the pure BGP cores against GoBGP (not part of `npm test`: CI does not
 * install gobgpd). Needs `gobgpd` and `gobgp` on PATH (Debian package gobgpd) and 127.0.0.2
 * on loopback (Linux has the whole 127/8). Run: `node test/speaker/bgp/gobgp-interop.ts`.
 *
 * A throwaway shell (net.Socket + setTimeout) drives fsm.step and the codec against a real
 * gobgpd on 127.0.0.1:1790: the session must reach Established, survive past several hold
 * times on our keepalives, GoBGP's RIB must show our IPv4 and IPv6 routes with the attributes we
 * sent, every UPDATE GoBGP sends us must decode as a clean `message`, and our Cease with a
 * shutdown communication must reach GoBGP.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CodecContext,
  decodeBody,
  encodeMessage,
  endOfRib,
  type Message,
  type PathAttribute,
  splitFrames,
} from '../../../speaker/bgp/codec.ts';
import { type Action, type FsmEvent, initialState, step, type Timer } from '../../../speaker/bgp/fsm.ts';
import type { PeerConfig } from '../../../speaker/bgp/negotiate.ts';
import { advertise } from '../../../speaker/bgp/routes.ts';

const API = '127.0.0.1:50151';
const dir = mkdtempSync(join(tmpdir(), 'portico-gobgp-'));
writeFileSync(
  join(dir, 'gobgpd.toml'),
  `[global.config]
  as = 65000
  router-id = "192.0.2.254"
  port = 1790
  local-address-list = ["127.0.0.1"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.2"
    peer-as = 65001
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
  [neighbors.transport.config]
    passive-mode = true
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
);
const daemon = spawn(
  'gobgpd',
  ['-f', join(dir, 'gobgpd.toml'), '--api-hosts', API, '--pprof-disable', '-p', '-l', 'info'],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let daemonLog = '';
daemon.stdout.on('data', (d) => (daemonLog += d));
daemon.stderr.on('data', (d) => (daemonLog += d));
const gobgp = (...args: string[]) =>
  execFileSync('gobgp', ['-u', '127.0.0.1', '-p', '50151', ...args], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const config: PeerConfig = {
  localAs: 65001,
  localId: '192.0.2.1',
  peerAs: 65000,
  holdTime: 9,
  connectRetryTime: 1,
  passive: false,
  families: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
  routeRefresh: true,
  gracefulRestart: { restartTime: 120, restarting: false, forwarding: true },
  required: ['four-octet-as', 'ipv4-unicast', 'ipv6-unicast'],
  idleHold: { initial: 1, max: 8 },
  stableTime: 60,
};

let state = initialState(config);
let sock: net.Socket | undefined;
let ctx: CodecContext = { fourOctetAs: false };
let pending = Buffer.alloc(0);
const timers = new Map<Timer, NodeJS.Timeout>();
const log: string[] = [];
const received: string[] = [];
let established = false;

const TIMER_EVENT: Record<Timer, FsmEvent['type']> = {
  ConnectRetry: 'ConnectRetryTimer_Expires',
  Hold: 'HoldTimer_Expires',
  Keepalive: 'KeepaliveTimer_Expires',
  IdleHold: 'IdleHoldTimer_Expires',
  Stable: 'StableTimer_Expires',
};

function send(m: Message) {
  sock?.write(encodeMessage(m, ctx));
}

function feed(e: FsmEvent) {
  const r = step(state, e);
  if (r.state.state !== state.state) log.push(`${state.state} --${e.type}--> ${r.state.state}`);
  state = r.state;
  for (const a of r.actions) act(a);
}

function act(a: Action) {
  switch (a.type) {
    case 'send':
      send(a.message);
      break;
    case 'start-timer': {
      clearTimeout(timers.get(a.timer));
      timers.set(
        a.timer,
        setTimeout(() => {
          timers.delete(a.timer);
          feed({ type: TIMER_EVENT[a.timer] } as FsmEvent);
        }, a.seconds * 1000),
      );
      break;
    }
    case 'stop-timer':
      clearTimeout(timers.get(a.timer));
      timers.delete(a.timer);
      break;
    case 'connect': {
      const s = net.connect({ host: '127.0.0.1', port: 1790, localAddress: '127.0.0.2' });
      sock = s;
      s.on('connect', () => feed({ type: 'Tcp_CR_Acked' }));
      s.on('data', (d) => onData(d));
      s.on('error', () => {});
      s.on('close', () => {
        if (sock === s) {
          sock = undefined;
          feed({ type: 'TcpConnectionFails' });
        }
      });
      break;
    }
    case 'disconnect': {
      const s = sock;
      sock = undefined;
      s?.end();
      pending = Buffer.alloc(0);
      break;
    }
    case 'established': {
      established = true;
      ctx = { fourOctetAs: a.session.fourOctetAs, external: !a.session.internal };
      log.push(`session ${JSON.stringify(a.session)}`);
      const base: PathAttribute[] = [
        { type: 'origin', value: 0 },
        { type: 'as-path', segments: [{ type: 2, asns: [65001] }] },
        { type: 'communities', values: [65001 * 65536 + 100] },
        { type: 'large-communities', values: [[65001, 1, 2]] },
      ];
      send({
        type: 'update',
        withdrawn: [],
        attributes: [...base, { type: 'next-hop', address: '192.0.2.1' }, { type: 'med', value: 7 }],
        nlri: ['198.51.100.10/32', '198.51.100.11/32'],
      });
      send(endOfRib(1, 1));
      send({
        type: 'update',
        withdrawn: [],
        attributes: [
          {
            type: 'mp-reach',
            afi: 2,
            safi: 1,
            nextHops: ['2001:db8::2', 'fe80::2'],
            nlri: ['2001:db8:1::10/128'],
          },
          ...base,
        ],
        nlri: [],
      });
      // And what the shell will really send: routes.ts's builder.
      const built = advertise(
        [
          { prefix: '198.51.100.12/32', largeCommunities: [[65001, 7, 7]] },
          { prefix: '2001:db8:1::11/128', communities: [65001 * 65536 + 200] },
        ],
        { localAs: 65001, session: a.session, nextHopV4: '192.0.2.1', nextHopV6: ['2001:db8::2'] },
      );
      for (const u of built.updates) send(u);
      send(endOfRib(2, 1));
      break;
    }
    case 'resend-routes':
      break;
    case 'down':
      log.push(`down from ${a.from}: ${a.reason}`);
      break;
  }
}

function onData(d: Buffer) {
  pending = Buffer.concat([pending, d]);
  const s = splitFrames(pending);
  pending = Buffer.from(s.rest);
  for (const f of s.frames) {
    const r = decodeBody(f.type, f.body, ctx);
    received.push(
      `${r.kind}:${r.kind === 'message' || r.kind === 'attribute-discard' ? r.message.type : r.reason}`,
    );
    if (r.kind === 'session-reset') {
      feed({
        type: f.type === 2 ? 'UpdateMsgErr' : f.type === 1 ? 'BGPOpenMsgErr' : 'BGPHeaderErr',
        notification: r.notification,
      });
      continue;
    }
    if (r.kind !== 'message' && r.kind !== 'attribute-discard') {
      feed({ type: 'UpdateMsg' });
      continue;
    }
    const m = r.message;
    if (m.type === 'open') feed({ type: 'BGPOpen', open: m });
    else if (m.type === 'keepalive') feed({ type: 'KeepAliveMsg' });
    else if (m.type === 'update') {
      if (m.attributes.length || m.nlri.length) received.push(`update ${JSON.stringify(m)}`);
      feed({ type: 'UpdateMsg' });
    } else if (m.type === 'notification') feed({ type: 'NotifMsg', notification: m });
    else feed({ type: 'RouteRefreshMsg', afi: m.afi, safi: m.safi, subtype: m.subtype });
  }
  if (s.error) feed({ type: 'BGPHeaderErr', notification: s.error.notification });
}

const results: [string, boolean, string?][] = [];
try {
  for (let i = 0; i < 50; i++) {
    try {
      gobgp('global');
      break;
    } catch {
      await sleep(100);
    }
  }
  feed({ type: 'ManualStart' });
  for (let i = 0; i < 100 && !established; i++) await sleep(100);
  results.push(['Established with gobgpd', established]);
  // The peer adds a route: its UPDATE must decode cleanly on our side.
  gobgp('global', 'rib', 'add', '203.0.113.0/24', '-a', 'ipv4', 'community', '65000:1');
  gobgp('global', 'rib', 'add', '2001:db8:ff::/48', '-a', 'ipv6');
  // Three hold times (27 s) on our keepalives alone.
  await sleep(28_000);
  const nb = gobgp('neighbor', '127.0.0.2');
  results.push([
    'still Established after 3 hold times',
    /BGP state = established/i.test(nb),
    nb.split('\n')[0],
  ]);
  const v4 = gobgp('global', 'rib', '-a', 'ipv4');
  const v6 = gobgp('global', 'rib', '-a', 'ipv6');
  results.push([
    'GoBGP RIB has our IPv4 routes with AS path, next hop, MED, communities, large community',
    /198\.51\.100\.10\/32\s+192\.0\.2\.1\s+65001/.test(v4) &&
      /198\.51\.100\.11\/32/.test(v4) &&
      /Med: 7/.test(v4) &&
      /Communities: 65001:100\}/.test(v4) &&
      /LargeCommunity: \[ ?65001:1:2\]/.test(v4),
    v4,
  ]);
  results.push([
    'GoBGP RIB has our IPv6 route via MP_REACH (global + link-local next hop)',
    /2001:db8:1::10\/128\s+2001:db8::2\s+65001/.test(v6),
    v6,
  ]);
  results.push([
    'GoBGP RIB has the routes built by routes.ts advertise()',
    /198\.51\.100\.12\/32\s+192\.0\.2\.1\s+65001.*LargeCommunity: \[ ?65001:7:7\]/.test(v4) &&
      /2001:db8:1::11\/128\s+2001:db8::2\s+65001.*Communities: 65001:200/.test(v6),
    v4 + v6,
  ]);
  const updates = received.filter((r) => r.startsWith('update '));
  results.push([
    'every message from GoBGP decoded as a clean message, its routes included',
    received.every((r) => r.startsWith('message:') || r.startsWith('update ')) &&
      updates.some((u) => u.includes('203.0.113.0/24')) &&
      updates.some((u) => u.includes('2001:db8:ff::/48')),
    updates.join('\n'),
  ]);
  feed({ type: 'ManualStop', shutdownMessage: 'portico interop: drain' });
  await sleep(1500);
  const after = gobgp('neighbor', '127.0.0.2');
  results.push([
    'GoBGP saw our Cease / Administrative Shutdown with its shutdown communication',
    /portico interop: drain/.test(daemonLog) || /portico interop: drain/.test(after),
  ]);
} finally {
  for (const t of timers.values()) clearTimeout(t);
  sock?.destroy();
  const exited = new Promise((r) => daemon.once('exit', r));
  daemon.kill('SIGTERM');
  await exited; // reap it: no zombie left behind
}
let ok = true;
for (const [name, pass, detail] of results) {
  console.log(`${pass ? 'PASS' : 'FAIL'} ${name}`);
  if (!pass) {
    ok = false;
    if (detail) console.log(detail);
  }
}
console.log(log.join('\n'));
console.log(`messages received: ${received.length}`);
if (!ok) console.log(daemonLog.slice(-4000));
process.exit(ok ? 0 : 1);

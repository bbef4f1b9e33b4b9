import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, notification, shutdownNotification } from '../../../speaker/bgp/codec.ts';
import type { PeerConfig } from '../../../speaker/bgp/negotiate.ts';
import { BgpPeer, type PeerOptions, type PeerStatus } from '../../../speaker/bgp/peer.ts';
import type { Route } from '../../../speaker/bgp/routes.ts';
import { FakeRouter } from './fake-router.ts';

// The peer shell over real loopback TCP against a fake router built from our own codec.

const CONFIG: PeerConfig = {
  localAs: 65001,
  localId: '192.0.2.11',
  peerAs: 65000,
  holdTime: 9,
  connectRetryTime: 1,
  passive: false,
  families: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
  routeRefresh: true,
  idleHold: { initial: 0.1, max: 0.4 },
  stableTime: 60,
};

const log = pino({ level: process.env.PORTICO_TEST_LOG ?? 'silent' });
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function router(opts: Partial<Parameters<typeof FakeRouter.start>[0]> = {}): Promise<FakeRouter> {
  const r = await FakeRouter.start({ as: 65000, id: '192.0.2.254', ...opts });
  cleanup.push(() => r.close());
  return r;
}

function peer(port: number, extra: Partial<PeerOptions> = {}, config: Partial<PeerConfig> = {}): BgpPeer {
  const p = new BgpPeer({
    config: { ...CONFIG, ...config },
    peerAddress: '127.0.0.1',
    peerPort: port,
    nextHopV6: ['2001:db8::11'],
    log,
    ...extra,
  });
  cleanup.push(() => p.stop({ graceful: false }));
  return p;
}

function waitStatus(p: BgpPeer, pred: (s: PeerStatus) => boolean, timeoutMs = 5000): Promise<PeerStatus> {
  if (pred(p.status())) return Promise.resolve(p.status());
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      p.off('status', on);
      reject(new Error(`status never matched; last ${JSON.stringify(p.status())}`));
    }, timeoutMs);
    const on = (s: PeerStatus) => {
      if (!pred(s)) return;
      clearTimeout(t);
      p.off('status', on);
      resolve(s);
    };
    p.on('status', on);
  });
}

const established = (p: BgpPeer) => waitStatus(p, (s) => s.state === 'Established');
const v4 = (i: number) => `198.51.100.${i}/32`;

describe('BgpPeer', () => {
  it('reaches Established, sends the routes set before start with End-of-RIB per family', async () => {
    const r = await router();
    const p = peer(r.port);
    const states: string[] = [];
    p.on('status', (s: PeerStatus) => states.push(s.state));
    p.setRoutes([{ prefix: v4(10) }, { prefix: '2001:db8:1::10/128', communities: [65001 * 65536 + 7] }]);
    p.start();
    const c = await r.conn();
    await c.until(() => c.eor.size === 2, 5000, 'End-of-RIB for both families');
    const s = await established(p);
    expect(s.establishedSince).toBeGreaterThan(0);
    expect(s.prefixesSent).toBe(2);
    expect(states).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
    expect(c.rib.get(v4(10))?.nextHop).toBe('127.0.0.1'); // default: the connection's local address
    expect(c.rib.get('2001:db8:1::10/128')?.nextHop).toBe('2001:db8::11');
    expect(c.errors).toEqual([]);
    // The End-of-RIBs come after the routes.
    const ups = c.updates();
    expect(ups.slice(-2).every((u) => u.nlri.length === 0 && u.withdrawn.length === 0)).toBe(true);
  });

  it('sends only the difference, withdrawals first, and coalesces calls within one tick', async () => {
    const r = await router();
    const p = peer(r.port);
    p.setRoutes([{ prefix: v4(1) }, { prefix: v4(2) }, { prefix: v4(3) }]);
    p.start();
    const c = await r.conn();
    await c.until(() => c.eor.size === 2);
    const before = c.updates().length;
    const sentBefore = p.status().updatesSent;
    // Three calls in one tick: only the last set counts.
    p.setRoutes([{ prefix: v4(9) }]);
    p.setRoutes([]);
    p.setRoutes([{ prefix: v4(1) }, { prefix: v4(3), communities: [1] }, { prefix: v4(4) }]);
    await c.until(() => c.rib.has(v4(4)) && !c.rib.has(v4(2)));
    const ups = c.updates().slice(before);
    // One withdrawal (2), one announcement group per attribute set: {4} and {3 with communities}.
    expect(ups[0]).toMatchObject({ withdrawn: [v4(2)], nlri: [] });
    const announced = ups.slice(1).flatMap((u) => u.nlri);
    expect(announced.sort()).toEqual([v4(3), v4(4)]);
    expect(c.rib.has(v4(9))).toBe(false);
    expect(c.rib.get(v4(3))?.attributes.find((a) => a.type === 'communities')).toEqual({
      type: 'communities',
      values: [1],
    });
    expect(p.status().updatesSent - sentBefore).toBe(3);
    expect(p.status().prefixesSent).toBe(3);
    // Same set again: nothing sent.
    p.setRoutes([{ prefix: v4(1) }, { prefix: v4(3), communities: [1] }, { prefix: v4(4) }]);
    await new Promise((res) => setTimeout(res, 100));
    expect(p.status().updatesSent - sentBefore).toBe(3);
  });

  it('sends 10,000 routes in a few full UPDATEs written together', async () => {
    const r = await router();
    const p = peer(r.port);
    p.start();
    const c = await r.conn();
    await c.until(() => c.eor.size === 2);
    const routes: Route[] = [];
    for (let i = 0; i < 10_000; i++) routes.push({ prefix: `10.${(i >> 8) & 255}.${i & 255}.1/32` });
    const t0 = performance.now();
    p.setRoutes(routes);
    await c.until(() => c.rib.size === 10_000, 10_000, '10,000 routes');
    const ms = performance.now() - t0;
    // 4096-octet messages hold ~800 host routes: 13 UPDATEs, not 10,000.
    expect(p.status().updatesSent).toBeLessThanOrEqual(2 + 15);
    expect(p.status().prefixesSent).toBe(10_000);
    expect(ms).toBeLessThan(3000);
    // And withdrawing them all is as cheap.
    const sent = p.status().updatesSent;
    p.setRoutes([]);
    await c.until(() => c.rib.size === 0, 10_000, 'all withdrawn');
    expect(p.status().updatesSent - sent).toBeLessThanOrEqual(15);
  });

  it('per-route LOCAL_PREF to an internal peer', async () => {
    const r = await router({ as: 65001 });
    const p = peer(r.port, {}, { peerAs: 'internal' });
    p.setRoutes([{ prefix: v4(1), localPref: 200 }, { prefix: v4(2) }]);
    p.start();
    const c = await r.conn();
    await c.until(() => c.rib.size === 2);
    const lp = (pfx: string) => c.rib.get(pfx)?.attributes.find((a) => a.type === 'local-pref');
    expect(lp(v4(1))).toEqual({ type: 'local-pref', value: 200 });
    expect(lp(v4(2))).toEqual({ type: 'local-pref', value: 100 });
  });

  it('graceful stop: withdraws every route, then Cease/Administrative Shutdown with the text, then closes', async () => {
    const r = await router();
    const p = peer(r.port);
    p.setRoutes([{ prefix: v4(1) }, { prefix: '2001:db8:1::1/128' }]);
    p.start();
    const c = await r.conn();
    await c.until(() => c.rib.size === 2 && c.eor.size === 2);
    const n = c.messages.length;
    await p.stop({ graceful: true, message: 'node drain' });
    await c.until(() => c.closed, 3000, 'close');
    const tail = c.messages.slice(n);
    expect(c.rib.size).toBe(0);
    const last = tail.at(-1)!;
    expect(last).toMatchObject({ type: 'notification', code: 6, subcode: 2 });
    expect(
      Buffer.from((last as { data: Uint8Array }).data)
        .subarray(1)
        .toString(),
    ).toBe('node drain');
    expect(tail.slice(0, -1).every((m) => m.type === 'update')).toBe(true);
    expect(p.status()).toMatchObject({ state: 'Idle', prefixesSent: 0 });
    // A stopped peer's timers never fire: no reconnect.
    await new Promise((res) => setTimeout(res, 1500));
    expect(r.conns.length).toBe(1);
  });

  it('non-graceful stop closes without a NOTIFICATION', async () => {
    const r = await router();
    const p = peer(r.port);
    p.start();
    const c = await r.conn();
    await established(p);
    await p.stop({ graceful: false });
    await c.until(() => c.closed, 3000, 'close');
    expect(c.notifications).toEqual([]);
    expect(p.status().state).toBe('Idle');
  });

  it('hold timer expiry: a silent router gets Hold Timer Expired and the session restarts', async () => {
    const r = await router({ holdTime: 3 });
    const p = peer(r.port, {}, { holdTime: 3 });
    p.start();
    const c = await r.conn();
    await established(p);
    c.silent = true;
    const t0 = Date.now();
    await c.until(() => c.notifications.length > 0, 6000, 'NOTIFICATION');
    const dt = Date.now() - t0;
    expect(c.notifications[0]).toMatchObject({ code: 4, subcode: 0 });
    expect(dt).toBeGreaterThan(1500);
    expect(dt).toBeLessThan(4500);
    expect(p.status().lastError).toMatch(/hold timer expired/);
    // It reconnects (backoff 0.1 s) and comes back.
    const c2 = await r.conn(1, 5000);
    await c2.until(() => c2.eor.size === 2);
    await established(p);
  });

  it('malformed input closes only that session with the right NOTIFICATION; another peer stays up', async () => {
    const r1 = await router();
    const r2 = await router();
    const p1 = peer(r1.port);
    const p2 = peer(r2.port);
    p1.start();
    p2.start();
    await Promise.all([established(p1), established(p2)]);
    const downs: PeerStatus[] = [];
    p2.on('status', (s: PeerStatus) => downs.push(s));
    const c = await r1.conn();
    // An UPDATE whose marker is not all ones: Message Header Error / Connection Not Synchronized.
    const bad = encodeMessage({ type: 'keepalive' }, { fourOctetAs: true });
    bad[0] = 0;
    c.sendRaw(bad);
    await c.until(() => c.closed, 3000, 'close');
    expect(c.notifications.at(-1)).toMatchObject({ code: 1, subcode: 1 });
    expect(p1.status().lastError).toMatch(/Message Header Error\/1/);
    // An UPDATE with a bad attribute list length on a fresh session: UPDATE Message Error.
    const c2 = await r1.conn(1, 5000);
    await established(p1);
    const upd = Buffer.from(
      encodeMessage({ type: 'update', withdrawn: [], attributes: [], nlri: [] }, { fourOctetAs: true }),
    );
    const body = Buffer.concat([upd, Buffer.from([0xff])]);
    body.writeUInt16BE(body.length, 16);
    c2.sendRaw(body);
    await c2.until(() => c2.closed, 3000, 'close');
    expect(c2.notifications.at(-1)).toMatchObject({ code: 3 });
    expect(p2.status().state).toBe('Established');
    expect(downs).toEqual([]);
  });

  it('an OPEN with the wrong AS is refused with OPEN Message Error / Bad Peer AS', async () => {
    const r = await router({ autoOpen: false });
    const p = peer(r.port);
    p.start();
    const c = await r.conn();
    await c.until(() => c.messages.some((m) => m.type === 'open'));
    c.open({ as: 64999 });
    await c.until(() => c.closed, 3000, 'close');
    expect(c.notifications.at(-1)).toMatchObject({ code: 2, subcode: 2 });
    expect(p.status().lastError).toMatch(/OPEN refused/);
  });

  it('a NOTIFICATION from the router is counted, described in lastError, and the session retried', async () => {
    const r = await router();
    const p = peer(r.port);
    p.start();
    const c = await r.conn();
    await established(p);
    c.send(shutdownNotification(2, 'router maintenance'));
    const s = await waitStatus(p, (x) => x.state !== 'Established');
    expect(s.notificationsReceived).toBe(1);
    expect(s.lastError).toMatch(/Cease\/2 "router maintenance"/);
    await r.conn(1, 5000);
    await established(p);
    c.send(notification(6, 4));
  });

  it('connection refused: lastError names it, retries with backoff until the router is there', async () => {
    const probe = await router();
    const port = probe.port;
    await probe.close();
    const p = peer(port);
    p.start();
    const s = await waitStatus(p, (x) => /ECONNREFUSED|refused/.test(x.lastError ?? ''));
    expect(s.state).toMatch(/Idle|Connect/);
    const r = await FakeRouter.start({ as: 65000, id: '192.0.2.254' }, port);
    cleanup.push(() => r.close());
    await established(p);
  });

  it('TCP MD5: with a password the SYN carries a signature a keyless listener drops (connect never completes)', async () => {
    const r = await router();
    const p = peer(r.port, { password: 'not-the-key' });
    p.start();
    const s = await waitStatus(p, (x) => /no answer/.test(x.lastError ?? ''), 4000);
    expect(s.lastError).toMatch(/MD5/);
    expect(r.conns.length).toBe(0);
    // The same without a password connects.
    const q = peer(r.port);
    q.start();
    await established(q);
  });

  it('refuses a bad configuration up front', () => {
    expect(() => peer(179, { peerAddress: 'router' })).toThrow(/peerAddress/);
    expect(() => peer(179, { password: 'x'.repeat(81) })).toThrow(/password/);
    expect(() => peer(179, {}, { passive: true })).toThrow(/passive/);
    expect(() => peer(179, { sourceAddress: '::1' })).toThrow(/sourceAddress/);
  });

  it('binds the source address', async () => {
    const r = await router();
    const p = peer(r.port, { sourceAddress: '127.0.0.7' });
    p.setRoutes([{ prefix: v4(1) }]);
    p.start();
    const c = await r.conn();
    expect(c.socket.remoteAddress).toBe('127.0.0.7');
    await c.until(() => c.rib.size === 1);
    expect(c.rib.get(v4(1))?.nextHop).toBe('127.0.0.7');
    expect(net.isIPv4(c.socket.remoteAddress!)).toBe(true);
  });
});

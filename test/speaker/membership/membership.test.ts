import { afterEach, describe, expect, it } from 'vitest';
import { Membership } from '../../../speaker/membership/membership.ts';
import type { MembershipView, PeerChange } from '../../../speaker/membership/peers.ts';

// The UDP shell on loopback (no root): 127.0.0.2 and 127.0.0.3 are both local, so two
// Memberships share one port number on different addresses, like two nodes.
const KEY = Buffer.from('loopback test key 0123456789');
const PORT = 17000 + (process.pid % 1000);

function node(name: string, address: string, peer: { node: string; address: string }, key = KEY) {
  const events: Array<{ view: MembershipView; changes: PeerChange[] }> = [];
  const m = new Membership({
    node: name,
    key,
    peers: [peer],
    port: PORT,
    bindAddress: address,
    intervalMs: 50,
    missedBeats: 3,
    meta: () => Buffer.from(`${name}-links`),
    onChange: (view, changes) => events.push({ view, changes }),
  });
  return { m, events };
}

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Membership over UDP (loopback)', () => {
  const open: Membership[] = [];
  afterEach(() => {
    for (const m of open.splice(0)) m.close();
  });

  it('peers see each other, carry meta, and a leave is applied at once', async () => {
    const a = node('a', '127.0.0.2', { node: 'b', address: '127.0.0.3' });
    const b = node('b', '127.0.0.3', { node: 'a', address: '127.0.0.2' });
    open.push(a.m, b.m);
    await a.m.start();
    await b.m.start();
    await until(() => a.m.view().peers[0]?.state === 'alive' && b.m.view().peers[0]?.state === 'alive');
    expect(a.m.peerMeta().get('b')?.toString()).toBe('b-links');
    expect(a.m.stats.accepted).toBeGreaterThan(0);
    await b.m.leave();
    await until(() => a.m.view().peers[0]?.state === 'left', 1000);
    expect(a.events.flatMap((e) => e.changes).find((c) => c.to === 'left')).toMatchObject({
      node: 'b',
      reason: 'leave',
    });
    expect(a.m.view().alive).toEqual(['a']);
  });

  it('a peer with the wrong key is never alive; its datagrams are counted as bad-mac', async () => {
    const a = node('a', '127.0.0.2', { node: 'b', address: '127.0.0.3' });
    const b = node(
      'b',
      '127.0.0.3',
      { node: 'a', address: '127.0.0.2' },
      Buffer.from('some other key 0123456789'),
    );
    open.push(a.m, b.m);
    await a.m.start();
    await b.m.start();
    await until(() => (a.m.stats.dropped['bad-mac'] ?? 0) >= 5);
    await until(() => a.m.view().peers[0]?.state === 'dead'); // start-up grace over, never heard
    expect(a.events.flatMap((e) => e.changes).some((c) => c.to === 'alive')).toBe(false);
  });

  it('a silent peer is declared dead after missedBeats × interval', async () => {
    const a = node('a', '127.0.0.2', { node: 'b', address: '127.0.0.3' });
    const b = node('b', '127.0.0.3', { node: 'a', address: '127.0.0.2' });
    open.push(a.m);
    await a.m.start();
    await b.m.start();
    await until(() => a.m.view().peers[0]?.state === 'alive');
    b.m.close(); // stops beating without a leave, like kill -9
    await until(() => a.m.view().peers[0]?.state === 'dead', 2000);
    expect(a.events.flatMap((e) => e.changes).at(-1)).toMatchObject({
      node: 'b',
      to: 'dead',
      reason: 'timeout',
    });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PeerTable } from '../../../speaker/membership/peers.ts';
import type { Heartbeat } from '../../../speaker/membership/wire.ts';

const DEAD = 300;
const beat = (
  node: string,
  incarnation: bigint,
  seq: bigint,
  type: Heartbeat['type'] = 'beat',
): Heartbeat => ({
  type,
  node,
  incarnation,
  seq,
  meta: Buffer.from(node),
});
const peers = (...names: string[]) => names.map((node, i) => ({ node, address: `192.0.2.${i + 2}` }));

describe('peer table', () => {
  it('counts configured peers alive during the start-up grace, then dead unless heard', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b', 'c'), 0);
    expect(t.view().alive).toEqual(['a', 'b', 'c']);
    t.receive(beat('b', 1n, 1n), 250);
    expect(t.tick(DEAD)).toEqual([]);
    expect(t.tick(DEAD + 1)).toEqual([{ node: 'c', from: 'pending', to: 'dead', reason: 'timeout' }]);
    expect(t.view()).toMatchObject({ alive: ['a', 'b'], configured: 2, heard: 1, minority: false });
  });

  it('a peer is dead after deadAfter ms without a beat, alive again when heard', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b'), 0);
    for (let ms = 0, seq = 1n; ms <= 1000; ms += 100, seq++) {
      t.receive(beat('b', 7n, seq), ms);
      expect(t.tick(ms + 50)).toEqual([]);
    }
    expect(t.tick(1000 + DEAD)).toEqual([]);
    expect(t.tick(1000 + DEAD + 1)).toEqual([{ node: 'b', from: 'alive', to: 'dead', reason: 'timeout' }]);
    expect(t.receive(beat('b', 7n, 100n), 2000)).toEqual({
      result: 'accepted',
      change: { node: 'b', from: 'dead', to: 'alive', reason: 'heard' },
    });
  });

  it('drops replays, stale incarnations, unknown peers and our own name', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b'), 0);
    expect(t.receive(beat('b', 10n, 5n), 1).result).toBe('accepted');
    expect(t.receive(beat('b', 10n, 5n), 2).result).toBe('replay');
    expect(t.receive(beat('b', 10n, 4n), 3).result).toBe('replay');
    expect(t.receive(beat('b', 9n, 100n), 4).result).toBe('stale-incarnation');
    expect(t.receive(beat('z', 1n, 1n), 5).result).toBe('unknown-peer');
    expect(t.receive(beat('a', 1n, 1n), 6).result).toBe('self');
    // None of these refreshed b: it still dies on time from its last real beat at 1 ms.
    expect(t.tick(1 + DEAD + 1)).toEqual([{ node: 'b', from: 'alive', to: 'dead', reason: 'timeout' }]);
  });

  it('leave makes the peer dead at once; later beats of that incarnation are ignored; a restart is welcome', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b'), 0);
    t.receive(beat('b', 10n, 1n), 0);
    expect(t.receive(beat('b', 10n, 2n, 'leave'), 10)).toEqual({
      result: 'accepted',
      change: { node: 'b', from: 'alive', to: 'left', reason: 'leave' },
    });
    expect(t.view().alive).toEqual(['a']);
    expect(t.receive(beat('b', 10n, 3n), 20).result).toBe('after-leave');
    expect(t.receive(beat('b', 10n, 2n, 'leave'), 20).result).toBe('replay');
    expect(t.receive(beat('b', 11n, 1n), 30).change).toEqual({
      node: 'b',
      from: 'left',
      to: 'alive',
      reason: 'heard',
    });
  });

  it('a restart while alive is reported but does not flap', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b'), 0);
    t.receive(beat('b', 10n, 50n), 0);
    expect(t.receive(beat('b', 11n, 1n), 50).change).toEqual({
      node: 'b',
      from: 'alive',
      to: 'alive',
      reason: 'restart',
    });
    expect(t.view().alive).toEqual(['a', 'b']);
  });

  it('reports a change of what a live peer says about itself (meta), and only then', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b'), 0);
    t.receive(beat('b', 1n, 1n), 0);
    expect(t.receive(beat('b', 1n, 2n), 100).change).toBeUndefined();
    const changed = { ...beat('b', 1n, 3n), meta: Buffer.from('eth0 down') };
    expect(t.receive(changed, 200).change).toEqual({ node: 'b', from: 'alive', to: 'alive', reason: 'meta' });
    expect(t.metas().get('b')).toEqual(Buffer.from('eth0 down'));
    expect(t.receive({ ...changed, seq: 4n }, 300).change).toBeUndefined();
  });

  it('forgets the incarnation of a long-silent peer (clock went backwards across a restart)', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD, forgetAfterMs: 10_000 }, peers('b'), 0);
    t.receive(beat('b', 100n, 1n), 0);
    t.tick(5000);
    expect(t.receive(beat('b', 50n, 1n), 5000).result).toBe('stale-incarnation');
    t.tick(10_001);
    expect(t.receive(beat('b', 50n, 1n), 10_002).result).toBe('accepted');
  });

  it('setPeers: removed peers vanish, new peers are dead until heard, known peers keep state', () => {
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b', 'c'), 0);
    t.receive(beat('b', 1n, 1n), 10);
    const changes = t.setPeers(
      [...peers('b'), { node: 'd', address: '192.0.2.9' }, { node: 'a', address: 'x' }],
      20,
    );
    expect(changes).toEqual([
      { node: 'c', from: 'pending', to: 'dead', reason: 'removed' },
      { node: 'd', from: 'dead', to: 'dead', reason: 'added' },
    ]);
    expect(t.view().alive).toEqual(['a', 'b']);
    expect(t.get('d')?.address).toBe('192.0.2.9');
    expect(t.metas()).toEqual(new Map([['b', Buffer.from('b')]]));
  });

  it.each([
    // [configured peers, heard, minority]
    [0, 0, false], // alone in the cluster: owns everything it is a candidate for
    [1, 0, false], // two nodes, the other silent: a tie, take over (availability)
    [2, 0, true], // three nodes, hears nobody: probably the isolated one → hold
    [2, 1, false],
    [3, 1, false], // four nodes split 2/2: tie
    [4, 1, true], // five nodes, sees 2 of 5
    [4, 2, false],
  ])('quorum: %i peers configured, %i heard → minority %s', (configured, heard, minority) => {
    const names = Array.from({ length: configured }, (_, i) => `p${i}`);
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers(...names), 0);
    for (let i = 0; i < heard; i++) t.receive(beat(names[i]!, 1n, 1n), 400);
    t.tick(400);
    expect(t.view()).toMatchObject({ configured, heard, minority });
  });

  it('quorum ignores peers that missed most of their dead interval (no grab between two timeouts)', () => {
    // a is cut off from b and c; their last beats arrived at 0 and 40 ms.
    const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b', 'c'), 0);
    t.receive(beat('b', 1n, 1n), 0);
    t.receive(beat('c', 1n, 1n), 40);
    expect(t.view(100)).toMatchObject({ heard: 2, minority: false });
    // 301 ms: b times out; c is still "alive" but silent for 261 ms > 200 ms: not counted.
    expect(t.tick(301)).toEqual([{ node: 'b', from: 'alive', to: 'dead', reason: 'timeout' }]);
    expect(t.view(301)).toMatchObject({ alive: ['a', 'c'], heard: 0, minority: true });
    // Without a clock (or once c beats again) c counts.
    expect(t.view().minority).toBe(false);
    t.receive(beat('c', 1n, 2n), 320);
    expect(t.view(320)).toMatchObject({ heard: 1, minority: false });
  });

  it('property: no sequence of replayed messages ever keeps a dead peer alive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ inc: fc.bigInt({ min: 1n, max: 3n }), seq: fc.bigInt({ min: 1n, max: 20n }) }), {
          minLength: 1,
          maxLength: 30,
        }),
        (msgs) => {
          const t = new PeerTable({ self: 'a', deadAfterMs: DEAD }, peers('b'), 0);
          // The genuine stream: incarnation 3, seq up to 20, then b dies at t=100.
          t.receive(beat('b', 3n, 20n), 100);
          t.tick(100 + DEAD + 1);
          // An attacker replays any mix of recorded messages afterwards.
          msgs.forEach((m, i) => {
            t.receive(beat('b', m.inc, m.seq), 500 + i);
          });
          t.tick(600);
          expect(t.view().alive).toEqual(['a']);
        },
      ),
    );
  });
});

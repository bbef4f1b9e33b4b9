import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHeartbeat,
  encodeHeartbeat,
  type Heartbeat,
  newIncarnation,
} from '../../../speaker/membership/wire.ts';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const BEAT: Heartbeat = {
  type: 'beat',
  node: 'node-a',
  incarnation: 123456789n,
  seq: 42n,
  meta: Buffer.from('[{"n":"eth0"}]'),
};

describe('heartbeat codec', () => {
  it('round-trips beats and leaves', () => {
    expect(decodeHeartbeat(encodeHeartbeat(BEAT, KEY), KEY)).toEqual(BEAT);
    const leave = { ...BEAT, type: 'leave' as const, meta: Buffer.alloc(0) };
    expect(decodeHeartbeat(encodeHeartbeat(leave, KEY), KEY)).toEqual(leave);
  });

  it('round-trips any message (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'beat' | 'leave'>('beat', 'leave'),
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.uint8Array({ maxLength: 300 }),
        (type, node, incarnation, seq, meta) => {
          const m = { type, node, incarnation, seq, meta: Buffer.from(meta) };
          expect(decodeHeartbeat(encodeHeartbeat(m, KEY), KEY)).toEqual(m);
        },
      ),
    );
  });

  it('rejects a wrong key', () => {
    expect(decodeHeartbeat(encodeHeartbeat(BEAT, Buffer.from('another key, 16+ bytes long')), KEY)).toEqual({
      error: 'bad-mac',
    });
  });

  it('rejects any single flipped bit (forgery / corruption)', () => {
    const good = encodeHeartbeat(BEAT, KEY);
    for (let i = 0; i < good.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(good);
        bad[i]! ^= bit;
        const r = decodeHeartbeat(bad, KEY);
        expect('error' in r, `byte ${i} bit ${bit}`).toBe(true);
      }
    }
  });

  it('rejects truncation and extension', () => {
    const good = encodeHeartbeat(BEAT, KEY);
    expect('error' in decodeHeartbeat(good.subarray(0, good.length - 1), KEY)).toBe(true);
    expect('error' in decodeHeartbeat(Buffer.concat([good, Buffer.from([0])]), KEY)).toBe(true);
    expect(decodeHeartbeat(Buffer.alloc(10), KEY)).toEqual({ error: 'short' });
  });

  it('never throws on arbitrary datagrams', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const buf = Buffer.from(b);
        if (buf.length > 4) Buffer.from('PTHB').copy(buf); // get past the magic sometimes
        decodeHeartbeat(buf, KEY);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses to encode what would not fit', () => {
    expect(() => encodeHeartbeat({ ...BEAT, node: '' }, KEY)).toThrow(/node name/);
    expect(() => encodeHeartbeat({ ...BEAT, meta: Buffer.alloc(1400) }, KEY)).toThrow(/exceeds/);
  });

  it('incarnations of later starts compare greater', () => {
    expect(newIncarnation(1_000, 65535)).toBeLessThan(newIncarnation(1_001, 0));
    expect(newIncarnation(1_000, 1)).not.toBe(newIncarnation(1_000, 2));
  });
});

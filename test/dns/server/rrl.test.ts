import { describe, expect, it } from 'vitest';
import { networkKey, RateLimiter } from '../../../dns/server/rrl.ts';

describe('response rate limiting', () => {
  it('groups clients by /24 and /56', () => {
    expect(networkKey('192.0.2.1')).toBe(networkKey('192.0.2.254'));
    expect(networkKey('192.0.2.1')).not.toBe(networkKey('192.0.3.1'));
    expect(networkKey('2001:db8:0:aa01::1')).toBe(networkKey('2001:db8:0:aaff::2'));
    expect(networkKey('2001:db8:0:ab00::1')).not.toBe(networkKey('2001:db8:0:aa00::1'));
    expect(networkKey('::ffff:192.0.2.7')).toBe(networkKey('192.0.2.8'));
  });

  it('allows the rate, then slips every 2nd and drops the rest; refills with time', () => {
    const rl = new RateLimiter({ responsesPerSecond: 5, slip: 2 });
    const t = 1_000_000;
    const got = Array.from({ length: 9 }, () => rl.check('192.0.2.1', t));
    expect(got).toEqual(['send', 'send', 'send', 'send', 'send', 'drop', 'slip', 'drop', 'slip']);
    expect(rl.check('198.51.100.1', t)).toBe('send'); // another network is unaffected
    expect(rl.check('192.0.2.9', t + 1000)).toBe('send');
  });

  it('forgets the least recently seen network when full', () => {
    const rl = new RateLimiter({ responsesPerSecond: 1, slip: 0, maxNetworks: 2 });
    rl.check('192.0.2.1', 0);
    expect(rl.check('192.0.2.1', 0)).toBe('drop');
    rl.check('198.51.100.1', 0);
    rl.check('203.0.113.1', 0); // evicts 192.0.2.0/24
    expect(rl.check('192.0.2.1', 0)).toBe('send');
  });
});

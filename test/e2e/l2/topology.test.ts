// The capture parser the e2e tests and the failover bench measure with: a wrong parse would make
// every "exactly one node answers" and every failover time meaningless, so it gets its own table.
import { describe, expect, it } from 'vitest';
import { parseTcpdumpArp } from './topology.ts';

describe('parseTcpdumpArp', () => {
  it.each([
    [
      '1763780000.123456 02:00:00:00:02:11 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 198.51.100.200 tell 198.51.100.200, length 28',
      { t: 1763780000123.456, src: '02:00:00:00:02:11', kind: 'garp', ip: '198.51.100.200' },
    ],
    [
      '1763780000.500000 02:00:00:00:01:11 > 02:00:00:00:0c:11, ethertype ARP (0x0806), length 42: Reply 198.51.100.200 is-at 02:00:00:00:01:11, length 28',
      { t: 1763780000500, src: '02:00:00:00:01:11', kind: 'reply', ip: '198.51.100.200' },
    ],
    [
      '1763780001.000001 02:00:00:00:0c:11 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 198.51.100.200 tell 198.51.100.100, length 28',
      { t: 1763780001000.001, src: '02:00:00:00:0c:11', kind: 'request', ip: '198.51.100.200' },
    ],
    [
      '1763780001.000001 02:00:00:00:0c:11 > 02:00:00:00:01:11, ethertype ARP (0x0806), length 42: Request who-has 198.51.100.200 (02:00:00:00:01:11) tell 198.51.100.100, length 28',
      { t: 1763780001000.001, src: '02:00:00:00:0c:11', kind: 'request', ip: '198.51.100.200' },
    ],
  ])('%s', (line, want) => {
    const f = parseTcpdumpArp(line);
    expect(f).toBeDefined();
    expect(f!.src).toBe(want.src);
    expect(f!.kind).toBe(want.kind);
    expect(f!.ip).toBe(want.ip);
    expect(f!.t).toBeCloseTo(want.t, 2);
  });

  it.each([
    'tcpdump: verbose output suppressed, use -v[v]... for full protocol decode',
    'listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
    '1763780000.1 02:00:00:00:02:11 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: fe80::1 > ff02::1: ICMP6',
    '',
  ])('ignores %j', (line) => {
    expect(parseTcpdumpArp(line)).toBeUndefined();
  });
});

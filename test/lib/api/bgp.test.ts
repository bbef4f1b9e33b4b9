import { describe, expect, it } from 'vitest';
import {
  checkAdvertisement,
  checkAggregation,
  checkPeer,
  formatCommunity,
  parseCommunity,
  parseDuration,
  peerTimers,
  secretPassword,
  sessionStateBody,
  sessionStateName,
  sessionStateStatusBody,
} from '../../../lib/api/bgp.ts';
import type { BGPAdvertisement, BGPPeer, BGPPeerSpec, IPAddressPool } from '../../../lib/api/types.ts';

const peer = (spec: Partial<BGPPeerSpec>): BGPPeer => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'BGPPeer',
  metadata: { name: 'r1' },
  spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', ...spec },
});
const adv = (spec: BGPAdvertisement['spec']): BGPAdvertisement => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'BGPAdvertisement',
  metadata: { name: 'a1' },
  spec,
});
const pool = (addresses: string[]): IPAddressPool => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'IPAddressPool',
  metadata: { name: 'p1' },
  spec: { addresses },
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['0', 0],
    ['0s', 0],
    ['3m', 180],
    ['1m30s', 90],
    ['1.5h', 5400],
    ['500ms', 0.5],
    ['2h3m4s', 7384],
    ['10us', 0.00001],
  ])('%s = %d s', (text, secs) => expect(parseDuration(text)).toBe(secs));

  it.each(['', '90', 's', '-3s', '1d', '3 s', '1.s', 'abc'])('%j is refused with a sentence', (text) => {
    expect(parseDuration(text)).toMatch(/is not a duration/);
  });
});

describe('parseCommunity', () => {
  it.each([
    ['65535:65281', 0xffffff01],
    ['0:0', 0],
    ['64512:100', 64512 * 65536 + 100],
    ['no-export', 0xffffff01],
    ['NO_EXPORT', 0xffffff01],
    ['No-Advertise', 0xffffff02],
    ['no-export-subconfed', 0xffffff03],
    ['local-as', 0xffffff03],
    ['no-peer', 0xffffff04],
    ['blackhole', 0xffff029a],
    ['graceful-shutdown', 0xffff0000],
    ['accept-own', 0xffff0001],
  ])('%s → standard %d', (text, value) => expect(parseCommunity(text)).toEqual({ kind: 'standard', value }));

  it('large communities', () => {
    expect(parseCommunity('large:1:2:3')).toEqual({ kind: 'large', value: [1, 2, 3] });
    expect(parseCommunity('LARGE:4294967295:0:4294967295')).toEqual({
      kind: 'large',
      value: [4294967295, 0, 4294967295],
    });
  });

  it.each([
    ['65536:1', /two numbers 0..65535/],
    ['1:65536', /two numbers 0..65535/],
    ['1:2:3', /not valid/],
    ['01:2', /not valid/],
    ['no-such', /well-known name/],
    ['large:1:2', /RFC 8092/],
    ['large:4294967296:1:1', /RFC 8092/],
    ['large:a:b:c', /RFC 8092/],
    ['', /not valid/],
  ])('%j is refused: %s', (text, re) => {
    const p = parseCommunity(text);
    expect(p.kind).toBe('invalid');
    expect(p.kind === 'invalid' && p.error).toMatch(re);
  });

  it('formatCommunity inverts the numeric form', () => {
    expect(formatCommunity(0xffffff01)).toBe('65535:65281');
    expect(formatCommunity(64512 * 65536 + 7)).toBe('64512:7');
  });
});

describe('peerTimers', () => {
  it('defaults: hold 90, keepalive hold/3, connect 10', () => {
    expect(peerTimers(peer({}).spec)).toEqual({ holdTime: 90, keepaliveTime: 30, connectTime: 10 });
  });
  it('explicit values', () => {
    expect(peerTimers(peer({ holdTime: '9s', keepaliveTime: '2s', connectTime: '1m' }).spec)).toEqual({
      holdTime: 9,
      keepaliveTime: 2,
      connectTime: 60,
    });
    expect(peerTimers(peer({ holdTime: '0s' }).spec)).toEqual({
      holdTime: 0,
      keepaliveTime: 0,
      connectTime: 10,
    });
  });
  it.each([
    [{ holdTime: '2s' }, /0s or 3s..65535s/],
    [{ holdTime: '1.5s' }, /whole seconds/],
    [{ holdTime: '20h' }, /0s or 3s..65535s/],
    [{ holdTime: '9s', keepaliveTime: '9s' }, /less than holdTime/],
    [{ keepaliveTime: '90s' }, /less than holdTime \(90s\)/],
    [{ connectTime: '500ms' }, /at least 1s/],
    [{ holdTime: 'soon' }, /not a duration/],
  ])('%j → %s', (spec, re) => {
    const t = peerTimers(peer(spec).spec);
    expect('problems' in t && t.problems.join('\n')).toMatch(re);
  });
});

describe('checkPeer', () => {
  it('a minimal peer is fine', () => expect(checkPeer(peer({}), 'portico-system')).toEqual([]));
  it('dynamicASN instead of peerASN', () => {
    expect(checkPeer(peer({ peerASN: undefined, dynamicASN: 'external' }))).toEqual([]);
  });
  it.each([
    [{ peerASN: undefined }, 'exactly one of spec.peerASN and spec.dynamicASN must be set'],
    [{ dynamicASN: 'internal' as const }, 'exactly one of spec.peerASN and spec.dynamicASN must be set'],
    [{ myASN: 0 }, 'spec.myASN 0 must be an AS number 1..4294967295'],
    [{ peerASN: 4294967296 }, 'spec.peerASN 4294967296 must be an AS number 1..4294967295'],
    [{ peerAddress: 'router' }, 'spec.peerAddress "router" is not an IP address'],
    [{ sourceAddress: '2001:db8::1' }, 'spec.sourceAddress 2001:db8::1 is IPv6 but peerAddress is IPv4'],
    [{ peerPort: 0 }, 'spec.peerPort 0 must be 1..65535'],
    [{ routerID: '2001:db8::1' }, 'spec.routerID "2001:db8::1" must be a non-zero IPv4 address (RFC 6286)'],
    [{ routerID: '0.0.0.0' }, 'spec.routerID "0.0.0.0" must be a non-zero IPv4 address (RFC 6286)'],
    [
      { peerASN: 64512, ebgpMultiHop: true },
      'spec.ebgpMultiHop applies to external peers only; this peer is internal (iBGP)',
    ],
  ])('%j', (spec, message) => expect(checkPeer(peer(spec))).toEqual([message]));

  it('passwordSecret outside the speaker namespace', () => {
    expect(
      checkPeer(peer({ passwordSecret: { name: 's', namespace: 'default' } }), 'portico-system'),
    ).toEqual([
      'spec.passwordSecret default/s: the speaker reads Secrets only in its own namespace portico-system; move the Secret there',
    ]);
    expect(checkPeer(peer({ passwordSecret: { name: 's' } }), 'portico-system')).toEqual([]);
    expect(
      checkPeer(peer({ passwordSecret: { name: 's', namespace: 'portico-system' } }), 'portico-system'),
    ).toEqual([]);
  });
});

describe('secretPassword', () => {
  const ref = { name: 'bgp', namespace: 'portico-system' };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('reads key password of a basic-auth Secret', () => {
    expect(
      secretPassword(ref, { type: 'kubernetes.io/basic-auth', data: { password: b64('s3cret') } }),
    ).toEqual({
      password: 's3cret',
    });
  });
  it.each([
    [undefined, 'password Secret portico-system/bgp not found'],
    [
      { type: 'Opaque', data: { password: b64('x') } },
      'password Secret portico-system/bgp has type Opaque; it must be kubernetes.io/basic-auth',
    ],
    [
      { type: 'kubernetes.io/basic-auth', data: { username: b64('x') } },
      'password Secret portico-system/bgp has no (or an empty) key password',
    ],
    [
      { type: 'kubernetes.io/basic-auth', data: { password: b64('x'.repeat(81)) } },
      'password Secret portico-system/bgp: a TCP MD5 key holds at most 80 bytes (RFC 2385)',
    ],
  ])('%j → %s', (secret, error) => expect(secretPassword(ref, secret)).toEqual({ error }));
});

describe('checkAdvertisement', () => {
  it('valid', () => {
    expect(
      checkAdvertisement(
        adv({ communities: ['65535:65281', 'no-advertise', 'large:1:2:3'], aggregationLength: 24 }),
      ),
    ).toEqual([]);
    expect(checkAdvertisement(adv(undefined))).toEqual([]);
  });
  it('lists every problem', () => {
    expect(
      checkAdvertisement(
        adv({ communities: ['x', '1:2'], aggregationLength: 33, aggregationLengthV6: -1, localPref: 1.5 }),
      ),
    ).toEqual([
      expect.stringMatching(/^spec.communities: community "x" is not valid/),
      'spec.aggregationLength 33 must be 0..32',
      'spec.aggregationLengthV6 -1 must be 0..128',
      'spec.localPref 1.5 must be 0..4294967295',
    ]);
  });
});

describe('checkAggregation', () => {
  it.each([
    [['192.0.2.0/24'], 24, 128, []],
    [['192.0.2.0/24'], 32, 128, []],
    [['192.0.2.0/24'], 23, 128, ['/24']],
    [['192.0.2.0/26', '198.51.100.0/24'], 25, 128, ['/26']],
    [['192.0.2.0/26', '198.51.100.0/24'], 23, 128, ['/26', '/24']],
    // A range: its widest block (192.0.2.16/28) bounds the aggregate.
    [['192.0.2.10-192.0.2.40'], 28, 128, []],
    [['192.0.2.10-192.0.2.40'], 27, 128, ['/28']],
    [['2001:db8::/64'], 32, 64, []],
    [['2001:db8::/64'], 32, 48, ['/64']],
    [['2001:db8::/64', 'not-an-entry'], 32, 128, []],
  ])('%j v4 /%d v6 /%d', (addresses, v4, v6, expected) => {
    const problems = checkAggregation(
      adv({ aggregationLength: v4, aggregationLengthV6: v6 }),
      pool(addresses),
    );
    expect(problems.length).toBe(expected.length);
    for (const [i, e] of expected.entries()) {
      expect(problems[i]).toContain(`shorter than ${e}`);
      expect(problems[i]).toContain('pool p1');
    }
  });
});

describe('BGPSessionState objects', () => {
  it('name <node>-<peer>; past 253 characters cut and hashed, still unique', () => {
    expect(sessionStateName('node-1', 'tor-a')).toBe('node-1-tor-a');
    const long = 'n'.repeat(200);
    const a = sessionStateName(long, 'p'.repeat(100));
    const b = sessionStateName(long, `${'p'.repeat(99)}q`);
    expect(a.length).toBeLessThanOrEqual(253);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(a).not.toBe(b);
  });

  it('apply body: labels and the Node and BGPPeer as owners', () => {
    expect(sessionStateBody({ name: 'n1', uid: 'u-node' }, { name: 'tor', uid: 'u-peer' })).toEqual({
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPSessionState',
      metadata: {
        name: 'n1-tor',
        labels: { 'portico.dev/node': 'n1', 'portico.dev/peer': 'tor' },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u-node' },
          { apiVersion: 'portico.dev/v1alpha1', kind: 'BGPPeer', name: 'tor', uid: 'u-peer' },
        ],
      },
    });
    const long = sessionStateBody({ name: 'x'.repeat(80), uid: 'a' }, { name: 'tor', uid: 'b' });
    expect(long.metadata.labels!['portico.dev/node']!.length).toBeLessThanOrEqual(63);
  });

  it('status body', () => {
    expect(sessionStateStatusBody('n1-tor', { state: 'Active', lastError: 'connection refused' })).toEqual({
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPSessionState',
      metadata: { name: 'n1-tor' },
      status: { state: 'Active', lastError: 'connection refused' },
    });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildOpen, type OpenMessage } from '../../../speaker/bgp/codec.ts';
import {
  checkPeerConfig,
  familiesOf,
  negotiate,
  type PeerConfig,
  resolveCollision,
} from '../../../speaker/bgp/negotiate.ts';

const V4 = { afi: 1, safi: 1 };
const V6 = { afi: 2, safi: 1 };
const CONFIG: PeerConfig = {
  localAs: 65001,
  localId: '192.0.2.1',
  peerAs: 'external',
  holdTime: 90,
  connectRetryTime: 5,
  passive: false,
  families: [V4, V6],
  routeRefresh: true,
  gracefulRestart: { restartTime: 120, restarting: false, forwarding: true },
  idleHold: { initial: 1, max: 60 },
  stableTime: 60,
};
const local = buildOpen({
  asn: 65001,
  holdTime: 90,
  bgpId: '192.0.2.1',
  families: [V4, V6],
  routeRefresh: true,
  gracefulRestart: { restartTime: 120, restarting: false, forwarding: true },
});

describe('negotiate', () => {
  it('takes the smaller hold time, keepalive a third of it, and the common families', () => {
    const remote = buildOpen({
      asn: 65000,
      holdTime: 9,
      bgpId: '10.0.0.1',
      families: [V6],
      routeRefresh: false,
    });
    expect(negotiate(CONFIG, local, remote)).toEqual({
      peerAs: 65000,
      peerId: '10.0.0.1',
      internal: false,
      holdTime: 9,
      keepaliveTime: 3,
      fourOctetAs: true,
      families: [V6],
      routeRefresh: false,
    });
  });

  it('a peer without capabilities speaks IPv4 unicast with 2-octet ASNs only (RFC 4760 §8, RFC 6793)', () => {
    const old: OpenMessage = {
      type: 'open',
      version: 4,
      myAs: 64512,
      holdTime: 180,
      bgpId: '10.0.0.2',
      capabilities: [],
    };
    expect(familiesOf(old)).toEqual([V4]);
    expect(negotiate(CONFIG, local, old)).toMatchObject({
      families: [V4],
      fourOctetAs: false,
      holdTime: 90,
      keepaliveTime: 30,
    });
  });

  it('graceful restart only when both advertise it, with the peer’s restart time and F bits', () => {
    const remote = buildOpen({
      asn: 65000,
      holdTime: 90,
      bgpId: '10.0.0.1',
      families: [V4],
      gracefulRestart: { restartTime: 300, restarting: true, forwarding: false },
    });
    expect(negotiate(CONFIG, local, remote).gracefulRestart).toEqual({
      peerRestartTime: 300,
      peerRestarting: true,
      peerFamilies: [{ ...V4, forwarding: false }],
    });
    const noGr = buildOpen({ asn: 65000, holdTime: 90, bgpId: '10.0.0.1', families: [V4] });
    expect(negotiate(CONFIG, local, noGr).gracefulRestart).toBeUndefined();
  });

  it('hold time 0 on either side disables keepalives', () => {
    const remote = buildOpen({ asn: 65000, holdTime: 0, bgpId: '10.0.0.1', families: [V4] });
    expect(negotiate(CONFIG, local, remote)).toMatchObject({ holdTime: 0, keepaliveTime: 0 });
  });

  it('an iBGP session is marked internal', () => {
    const remote = buildOpen({ asn: 65001, holdTime: 90, bgpId: '10.0.0.1', families: [V4] });
    expect(negotiate(CONFIG, local, remote).internal).toBe(true);
  });
});

describe('resolveCollision (RFC 4271 §6.8, RFC 6286 §2.3)', () => {
  const table: [string, string, string, string, number, number, string][] = [
    ['OpenConfirm', 'OpenConfirm', '10.0.0.1', '10.0.0.2', 1, 2, 'close-ours'], // remote id higher: its connection wins
    ['OpenConfirm', 'OpenConfirm', '10.0.0.2', '10.0.0.1', 1, 2, 'close-theirs'],
    ['OpenConfirm', 'OpenConfirm', '9.255.255.255', '10.0.0.0', 1, 2, 'close-ours'], // compared as 32-bit numbers
    ['OpenConfirm', 'OpenConfirm', '200.0.0.1', '10.0.0.1', 1, 2, 'close-theirs'], // not as signed ints
    ['OpenConfirm', 'OpenConfirm', '10.0.0.1', '10.0.0.1', 65001, 65002, 'close-ours'], // equal ids: higher AS wins
    ['OpenConfirm', 'OpenConfirm', '10.0.0.1', '10.0.0.1', 65002, 65001, 'close-theirs'],
    ['Established', 'OpenConfirm', '10.0.0.1', '10.0.0.2', 1, 2, 'close-theirs'], // established always stays
    ['OpenConfirm', 'Established', '10.0.0.2', '10.0.0.1', 1, 2, 'close-ours'],
    ['OpenSent', 'OpenConfirm', '10.0.0.1', '10.0.0.2', 1, 2, 'none'], // no OPEN on ours yet
    ['Connect', 'OpenConfirm', '10.0.0.1', '10.0.0.2', 1, 2, 'none'],
    ['OpenConfirm', 'Active', '10.0.0.1', '10.0.0.2', 1, 2, 'none'],
    ['Idle', 'Idle', '10.0.0.1', '10.0.0.2', 1, 2, 'none'],
  ];
  for (const [ours, theirs, lid, rid, las, ras, want] of table) {
    it(`ours ${ours}, theirs ${theirs}, local ${lid}/${las}, remote ${rid}/${ras} → ${want}`, () => {
      expect(resolveCollision(ours, theirs, lid, rid, las, ras)).toBe(want);
    });
  }

  it('both speakers keep the same connection (the one the higher identifier initiated)', () => {
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
    fc.assert(
      fc.property(ip, ip, fc.nat(), fc.nat(), (a, b, asA, asB) => {
        fc.pre(a !== b || asA !== asB);
        // Connection X is initiated by A (A's "ours", B's "theirs"); Y by B.
        const atA = resolveCollision('OpenConfirm', 'OpenConfirm', a, b, asA, asB);
        const atB = resolveCollision('OpenConfirm', 'OpenConfirm', b, a, asB, asA);
        const keptByA = atA === 'close-ours' ? 'Y' : 'X';
        const keptByB = atB === 'close-ours' ? 'X' : 'Y';
        expect(keptByA).toBe(keptByB);
      }),
    );
  });
});

describe('checkPeerConfig', () => {
  it('accepts a sane config', () => {
    expect(checkPeerConfig(CONFIG)).toEqual([]);
    expect(checkPeerConfig({ ...CONFIG, holdTime: 0, peerAs: 4_200_000_000 })).toEqual([]);
  });

  const bad: [string, Partial<PeerConfig>, RegExp][] = [
    ['hold time 2', { holdTime: 2 }, /holdTime 2 must be 0 or 3\.\.65535/],
    ['hold time 70000', { holdTime: 70000 }, /holdTime 70000/],
    ['AS 0', { localAs: 0 }, /localAs 0/],
    ['peer AS too big', { peerAs: 2 ** 32 }, /peerAs 4294967296/],
    ['identifier 0.0.0.0', { localId: '0.0.0.0' }, /localId "0\.0\.0\.0"/],
    ['identifier not IPv4', { localId: 'node-1' }, /localId "node-1"/],
    ['no families', { families: [] }, /at least one address family/],
    ['multicast SAFI', { families: [{ afi: 1, safi: 2 }] }, /AFI 1 SAFI 2 is not supported/],
    [
      'restart time 5000',
      { gracefulRestart: { restartTime: 5000, restarting: false, forwarding: true } },
      /restartTime 5000/,
    ],
    ['backoff max below initial', { idleHold: { initial: 10, max: 5 } }, /idleHold/],
    ['connect retry 0', { connectRetryTime: 0 }, /connectRetryTime 0/],
    ['stable time 0', { stableTime: 0 }, /stableTime 0/],
  ];
  for (const [name, patch, msg] of bad) {
    it(`refuses ${name}`, () => {
      const errs = checkPeerConfig({ ...CONFIG, ...patch });
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatch(msg);
    });
  }
});

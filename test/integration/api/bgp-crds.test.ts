import { CustomObjectsApi } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { GROUP, KINDS, PLURALS, type PorticoKind, VERSION } from '../../../lib/api/group.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';

/**
 * The BGP CRDs on a real kube-apiserver (1.34): valid objects are accepted (with defaults), invalid
 * ones rejected with the CEL message a user sees in `kubectl apply`. dryRun=All throughout, so the
 * shared control plane stays clean.
 */

let custom: CustomObjectsApi;
beforeAll(() => {
  custom = sharedKubeConfig().makeApiClient(CustomObjectsApi);
});

let seq = 0;
async function create(kind: PorticoKind, spec: unknown, status?: unknown): Promise<Record<string, unknown>> {
  seq += 1;
  const body = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind,
    metadata: { name: `${kind.toLowerCase()}-${process.pid}-${seq}` },
    spec,
    ...(status ? { status } : {}),
  };
  return (await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    body,
    dryRun: 'All',
  })) as Record<string, unknown>;
}

async function rejection(kind: PorticoKind, spec: unknown): Promise<string> {
  try {
    await create(kind, spec);
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    expect(e.code, `expected HTTP 422, got ${String(err)}`).toBe(422);
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    return String((body as { message?: unknown }).message);
  }
  throw new Error(`${kind} ${JSON.stringify(spec)} was accepted; expected a rejection`);
}

const peer = (more: Record<string, unknown> = {}) => ({
  myASN: 64512,
  peerASN: 64513,
  peerAddress: '192.0.2.1',
  ...more,
});

describe('BGPPeer', () => {
  it('a minimal peer gets its defaults', async () => {
    const res = await create(KINDS.BGPPeer, peer());
    expect(res.spec).toEqual({
      ...peer(),
      peerPort: 179,
      ebgpMultiHop: false,
      enableGracefulRestart: false,
    });
  });

  it.each([
    ['dynamicASN external', { peerASN: undefined, dynamicASN: 'external' }],
    ['dynamicASN internal', { peerASN: undefined, dynamicASN: 'internal' }],
    ['4-octet ASNs', { myASN: 4200000000, peerASN: 4294967295 }],
    ['IPv6 with source address', { peerAddress: '2001:db8::1', sourceAddress: '2001:db8::10' }],
    [
      'every field',
      {
        peerPort: 1179,
        sourceAddress: '192.0.2.10',
        holdTime: '9s',
        keepaliveTime: '3s',
        connectTime: '1m',
        passwordSecret: { name: 'bgp-r1', namespace: 'portico-system' },
        ebgpMultiHop: true,
        nodeSelectors: [
          { matchLabels: { rack: 'a' } },
          { matchExpressions: [{ key: 'x', operator: 'Exists' }] },
        ],
        enableGracefulRestart: true,
        routerID: '10.0.0.1',
      },
    ],
    ['hold time 0', { holdTime: '0s' }],
    ['hold time in minutes', { holdTime: '3m', keepaliveTime: '1m' }],
    ['keepalive below the default hold', { keepaliveTime: '60s' }],
  ])('accepts %s', async (_n, more) => {
    const spec = peer(more);
    const res = await create(KINDS.BGPPeer, JSON.parse(JSON.stringify(spec)));
    expect(res.spec).toMatchObject(JSON.parse(JSON.stringify(spec)));
  });

  it.each([
    [
      'neither peerASN nor dynamicASN',
      { peerASN: undefined },
      'exactly one of peerASN and dynamicASN must be set',
    ],
    [
      'both peerASN and dynamicASN',
      { dynamicASN: 'external' },
      'exactly one of peerASN and dynamicASN must be set',
    ],
    ['a bad dynamicASN', { peerASN: undefined, dynamicASN: 'any' }, 'Unsupported value: "any"'],
    ['ASN 0', { myASN: 0 }, 'should be greater than or equal to 1'],
    ['ASN over 32 bits', { peerASN: 4294967296 }, 'should be less than or equal to 4294967295'],
    [
      'a host name as peer address',
      { peerAddress: 'router.lan' },
      "peerAddress 'router.lan' is not an IPv4 or IPv6 address",
    ],
    [
      'a bad source address',
      { sourceAddress: '192.0.2' },
      "sourceAddress '192.0.2' is not an IPv4 or IPv6 address",
    ],
    [
      'mixed families',
      { sourceAddress: '2001:db8::1' },
      'sourceAddress and peerAddress must be of the same IP family',
    ],
    ['port 0', { peerPort: 0 }, 'should be greater than or equal to 1'],
    [
      'a number of seconds without unit',
      { holdTime: '90' },
      "holdTime '90' is not a duration: write e.g. 90s, 3m or 1m30s",
    ],
    ['hold time 2s', { holdTime: '2s' }, 'holdTime must be 0s or between 3s and 65535s (RFC 4271 §4.2)'],
    ['hold time over 65535s', { holdTime: '19h' }, 'holdTime must be 0s or between 3s and 65535s'],
    [
      'keepalive not below hold',
      { holdTime: '9s', keepaliveTime: '9s' },
      'keepaliveTime must be less than holdTime (default 90s)',
    ],
    [
      'keepalive above the default hold',
      { keepaliveTime: '2m' },
      'keepaliveTime must be less than holdTime (default 90s)',
    ],
    ['connect time under 1s', { connectTime: '500ms' }, 'connectTime must be at least 1s'],
    [
      'a password secret without name',
      { passwordSecret: { namespace: 'x' } },
      'spec.passwordSecret.name: Required value',
    ],
    ['a bad secret name', { passwordSecret: { name: 'Bad_Name' } }, "'Bad_Name' is not a valid object name"],
    [
      'multihop on iBGP',
      { peerASN: 64512, ebgpMultiHop: true },
      'ebgpMultiHop applies to external (eBGP) peers only',
    ],
    [
      'multihop on dynamic internal',
      { peerASN: undefined, dynamicASN: 'internal', ebgpMultiHop: true },
      'ebgpMultiHop applies to external (eBGP) peers only',
    ],
    [
      'an IPv6 router ID',
      { routerID: '2001:db8::1' },
      "routerID '2001:db8::1' must be a non-zero IPv4 address (RFC 6286)",
    ],
    ['router ID 0.0.0.0', { routerID: '0.0.0.0' }, "routerID '0.0.0.0' must be a non-zero IPv4 address"],
    ['no peerAddress', { peerAddress: undefined }, 'spec.peerAddress: Required value'],
  ])('rejects %s', async (_n, more, message) => {
    const msg = await rejection(KINDS.BGPPeer, JSON.parse(JSON.stringify(peer(more))));
    expect(msg).toContain(message);
  });

  it('has no plain password field: the apiserver drops it (and strict kubectl apply refuses it)', async () => {
    const res = await create(KINDS.BGPPeer, peer({ password: 'secret' }));
    expect(res.spec).not.toHaveProperty('password');
  });
});

describe('BGPAdvertisement', () => {
  it('an empty spec gets the aggregation defaults', async () => {
    const res = await create(KINDS.BGPAdvertisement, {});
    expect(res.spec).toEqual({ aggregationLength: 32, aggregationLengthV6: 128 });
  });

  it('accepts every field, every community form', async () => {
    const spec = {
      aggregationLength: 24,
      aggregationLengthV6: 64,
      localPref: 4294967295,
      communities: [
        '65535:65281',
        '0:0',
        'no-export',
        'NO_ADVERTISE',
        'No-Export-Subconfed',
        'local-as',
        'no-peer',
        'blackhole',
        'graceful-shutdown',
        'accept-own',
        'large:1:2:3',
        'LARGE:4294967295:0:4294967295',
      ],
      ipAddressPools: ['web'],
      ipAddressPoolSelectors: [{ matchLabels: { bgp: 'yes' } }],
      nodeSelectors: [{ matchLabels: { rack: 'a' } }],
      peers: ['tor-a', 'tor-b'],
    };
    const res = await create(KINDS.BGPAdvertisement, spec);
    expect(res.spec).toEqual(spec);
  });

  it.each([
    ['a 17-bit community half', { communities: ['65536:1'] }, "community '65536:1' is not valid"],
    ['a leading zero', { communities: ['01:1'] }, "community '01:1' is not valid"],
    ['an unknown name', { communities: ['no-such'] }, "community 'no-such' is not valid"],
    ['a short large community', { communities: ['large:1:2'] }, "community 'large:1:2' is not valid"],
    [
      'a 33-bit large community',
      { communities: ['large:4294967296:1:1'] },
      "community 'large:4294967296:1:1' is not valid",
    ],
    ['aggregation over 32', { aggregationLength: 33 }, 'should be less than or equal to 32'],
    ['aggregation v6 over 128', { aggregationLengthV6: 129 }, 'should be less than or equal to 128'],
    ['negative localPref', { localPref: -1 }, 'should be greater than or equal to 0'],
    ['a bad peer name', { peers: ['Tor A'] }, "'Tor A' is not a valid object name"],
    ['a duplicate pool', { ipAddressPools: ['a', 'a'] }, 'Duplicate value'],
  ])('rejects %s', async (_n, spec, message) => {
    expect(await rejection(KINDS.BGPAdvertisement, spec)).toContain(message);
  });
});

describe('BGPSessionState', () => {
  it('is created empty; status is a subresource', async () => {
    const res = await create(KINDS.BGPSessionState, {}, { state: 'Established' });
    expect(res.spec).toEqual({});
    expect(res.status).toBeUndefined();
  });
});

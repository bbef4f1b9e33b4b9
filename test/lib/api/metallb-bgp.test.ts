// Table tests of the MetalLB → Portico converter for BGP mode: one row per field of MetalLB's
// v1beta2 BGPPeer (v0.15, plus v0.16's localASN) and v1beta1 BGPAdvertisement, with the exact
// Portico spec and the exact findings; Community aliases; v1beta1 BGPPeers; the plain-text
// password never leaving the input; every object printed passing Portico's own checks.
import { describe, expect, test } from 'vitest';
import { checkAdvertisement, checkPeer } from '../../../lib/api/bgp.ts';
import {
  convertMetalLB,
  type Finding,
  formatFinding,
  goDurationSeconds,
  MIGRATED_LABEL,
  MIRRORED_LABEL,
  metallbCommunity,
  passwordSecretName,
  SOURCE_ANNOTATION,
} from '../../../lib/api/metallb.ts';

const NS = 'metallb-system';
const peer = (name: string, spec: unknown, apiVersion = 'metallb.io/v1beta2', extra = {}) => ({
  apiVersion,
  kind: 'BGPPeer',
  metadata: { name, namespace: NS, ...extra },
  spec,
});
const adv = (name: string, spec?: unknown) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'BGPAdvertisement',
  metadata: { name, namespace: NS },
  ...(spec === undefined ? {} : { spec }),
});
const community = (name: string, aliases: unknown) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'Community',
  metadata: { name, namespace: NS },
  spec: { communities: aliases },
});
const pool = (name: string, addresses: string[], labels?: Record<string, string>) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
  spec: { addresses },
});
const texts = (fs: readonly Finding[], level?: string) =>
  fs.filter((f) => level === undefined || f.level === level).map(formatFinding);
/** Findings about one object only (the input-level BGP-mode note left out). */
const about = (fs: readonly Finding[], prefix: string) => texts(fs).filter((t) => t.startsWith(prefix));
const BASE = { myASN: 64512, peerASN: 64513, peerAddress: '10.0.0.1' };

describe('BGPPeer: every field', () => {
  const rows: Array<{ name: string; spec: Record<string, unknown>; want: unknown; findings?: string[] }> = [
    {
      name: 'the minimum: myASN, peerASN, peerAddress',
      spec: BASE,
      want: BASE,
    },
    {
      name: 'dynamicASN instead of peerASN',
      spec: { myASN: 64512, dynamicASN: 'external', peerAddress: '2001:db8::1' },
      want: { myASN: 64512, dynamicASN: 'external', peerAddress: '2001:db8::1' },
    },
    {
      name: 'dynamicASN internal',
      spec: { myASN: 64512, dynamicASN: 'internal', peerAddress: '10.0.0.1' },
      want: { myASN: 64512, dynamicASN: 'internal', peerAddress: '10.0.0.1' },
    },
    {
      name: "peerASN 0 is Go's unset: dynamicASN decides",
      spec: { myASN: 64512, peerASN: 0, dynamicASN: 'external', peerAddress: '10.0.0.1' },
      want: { myASN: 64512, dynamicASN: 'external', peerAddress: '10.0.0.1' },
    },
    {
      name: '4-octet AS numbers',
      spec: { myASN: 4200000000, peerASN: 4294967295, peerAddress: '10.0.0.1' },
      want: { myASN: 4200000000, peerASN: 4294967295, peerAddress: '10.0.0.1' },
    },
    {
      name: 'localASN (v0.16, local-as no-prepend replace-as) becomes myASN',
      spec: { ...BASE, localASN: 65001 },
      want: { myASN: 65001, peerASN: 64513, peerAddress: '10.0.0.1' },
      findings: [
        "BGPPeer/p spec.localASN: 65001: the router sees only this AS (local-as, no-prepend, replace-as), so it is written as myASN (MetalLB's myASN 64512 is not sent)",
      ],
    },
    {
      name: 'peerPort is carried; the default 179 is left out',
      spec: { ...BASE, peerPort: 1179 },
      want: { ...BASE, peerPort: 1179 },
    },
    {
      name: 'peerPort 179 written out changes nothing',
      spec: { ...BASE, peerPort: 179 },
      want: BASE,
    },
    {
      name: 'sourceAddress of the same family',
      spec: { ...BASE, sourceAddress: '10.0.0.10' },
      want: { ...BASE, sourceAddress: '10.0.0.10' },
    },
    {
      name: 'sourceAddress of the other family is not carried',
      spec: { ...BASE, sourceAddress: 'fd00::10' },
      want: BASE,
      findings: [
        'BGPPeer/p spec.sourceAddress: fd00::10 is IPv6 but peerAddress is IPv4 (no session could use it); not carried: the local address is chosen by routing',
      ],
    },
    {
      name: 'holdTime and keepaliveTime as written',
      spec: { ...BASE, holdTime: '1m30s', keepaliveTime: '30s' },
      want: { ...BASE, holdTime: '1m30s', keepaliveTime: '30s' },
    },
    {
      name: 'holdTime alone: keepalive is hold/3 in both',
      spec: { ...BASE, holdTime: '9s' },
      want: { ...BASE, holdTime: '9s' },
    },
    {
      name: 'keepaliveTime alone: MetalLB holds 3 × keepalive, written out',
      spec: { ...BASE, keepaliveTime: '20s' },
      want: { ...BASE, holdTime: '60s', keepaliveTime: '20s' },
      findings: [
        "BGPPeer/p spec.holdTime: absent with keepaliveTime 20s: MetalLB holds 3 × keepalive, written out as holdTime 60s (Portico's default would be 90s)",
      ],
    },
    {
      name: 'a fractional hold time is cut to whole seconds, as FRR does',
      spec: { ...BASE, holdTime: '9.5s' },
      want: { ...BASE, holdTime: '9s' },
      findings: ['BGPPeer/p spec.holdTime: 9.5s written as 9s (BGP counts whole seconds, as FRR does)'],
    },
    {
      name: 'keepalive equal to hold (MetalLB allows it, Portico does not): hold/3',
      spec: { ...BASE, holdTime: '30s', keepaliveTime: '30s' },
      want: { ...BASE, holdTime: '30s' },
      findings: [
        'BGPPeer/p spec.keepaliveTime: 30s equals holdTime; Portico needs it shorter (one lost KEEPALIVE would drop the session), so it is not carried: keepalive is holdTime / 3 = 10s',
      ],
    },
    {
      name: 'hold 0 (no keepalives): the keepalive is left out',
      spec: { ...BASE, holdTime: '0s', keepaliveTime: '0s' },
      want: { ...BASE, holdTime: '0s' },
      findings: ['BGPPeer/p spec.keepaliveTime: 0s left out: a hold time of 0 sends no keepalives'],
    },
    {
      name: 'a hold time beyond BGP’s 65535 s is not carried',
      spec: { ...BASE, holdTime: '24h' },
      want: BASE,
      findings: [
        "BGPPeer/p spec.holdTime: 24h is longer than BGP's 65535s (RFC 4271 §4.2); not carried: Portico's default 90s (keepalive 30s) applies",
      ],
    },
    {
      name: 'connectTime',
      spec: { ...BASE, connectTime: '5s' },
      want: { ...BASE, connectTime: '5s' },
    },
    {
      name: 'routerID (IPv4)',
      spec: { ...BASE, routerID: '10.0.0.10' },
      want: { ...BASE, routerID: '10.0.0.10' },
    },
    {
      name: 'routerID that is IPv6 is not carried',
      spec: { ...BASE, routerID: 'fd00::1' },
      want: BASE,
      findings: [
        "BGPPeer/p spec.routerID: fd00::1 is not an IPv4 address; a BGP identifier is 32 bits (RFC 6286), so it is not carried: the node's IPv4 address is used",
      ],
    },
    {
      name: 'nodeSelectors: the list is carried as a list (Portico OR-s them too); duplicates once',
      spec: {
        ...BASE,
        nodeSelectors: [
          { matchLabels: { rack: 'a' } },
          { matchExpressions: [{ key: 'rack', operator: 'In', values: ['b'] }] },
          { matchLabels: { rack: 'a' } },
        ],
      },
      want: {
        ...BASE,
        nodeSelectors: [
          { matchLabels: { rack: 'a' } },
          { matchExpressions: [{ key: 'rack', operator: 'In', values: ['b'] }] },
        ],
      },
    },
    {
      name: 'enableGracefulRestart and ebgpMultiHop (eBGP)',
      spec: { ...BASE, enableGracefulRestart: true, ebgpMultiHop: true },
      want: { ...BASE, enableGracefulRestart: true, ebgpMultiHop: true },
    },
    {
      name: 'false booleans are their defaults: left out',
      spec: {
        ...BASE,
        enableGracefulRestart: false,
        ebgpMultiHop: false,
        disableMP: false,
        dualStackAddressFamily: false,
      },
      want: BASE,
    },
    {
      name: 'ebgpMultiHop on a dynamicASN internal peer (MetalLB accepts, meaningless): not carried',
      spec: { myASN: 64512, dynamicASN: 'internal', peerAddress: '10.0.0.1', ebgpMultiHop: true },
      want: { myASN: 64512, dynamicASN: 'internal', peerAddress: '10.0.0.1' },
      findings: [
        'BGPPeer/p spec.ebgpMultiHop: set on an internal (iBGP) peer, where it has no meaning; not carried (iBGP sessions are multihop anyway)',
      ],
    },
    {
      name: 'passwordSecret in the namespace Portico runs in: carried',
      spec: { ...BASE, passwordSecret: { name: 'md5' } },
      want: { ...BASE, passwordSecret: { name: 'md5' } },
    },
    {
      name: 'passwordSecret {} (what the API returns when unset) is absent',
      spec: { ...BASE, passwordSecret: {} },
      want: BASE,
    },
    {
      name: 'bfdProfile: no BFD in Portico',
      spec: { ...BASE, bfdProfile: 'fast', holdTime: '9s' },
      want: { ...BASE, holdTime: '9s' },
      findings: [
        'BGPPeer/p spec.bfdProfile: "fast": Portico has no BFD (ADR 100); not carried: a dead link or router is noticed by hold-time expiry (9s), so consider a shorter holdTime',
      ],
    },
    {
      name: 'disableMP true: not carried',
      spec: { ...BASE, disableMP: true },
      want: BASE,
      findings: [
        'BGPPeer/p spec.disableMP: not carried (deprecated, and without effect since MetalLB 0.15): Portico offers IPv4 and IPv6 unicast on every session (multiprotocol, RFC 4760)',
      ],
    },
    {
      name: 'dualStackAddressFamily true: what Portico does anyway',
      spec: { ...BASE, dualStackAddressFamily: true },
      want: BASE,
      findings: [
        'BGPPeer/p spec.dualStackAddressFamily: not a Portico field: Portico always offers IPv4 and IPv6 unicast on a session and sends each family the router accepts, which is what this asks',
      ],
    },
    {
      name: 'an unknown field is reported, the rest carried',
      spec: { ...BASE, shinyNewThing: 1 },
      want: BASE,
      findings: [
        'BGPPeer/p spec.shinyNewThing: not a field this converter knows (newer MetalLB?); not carried',
      ],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const r = convertMetalLB([peer('p', row.spec)], { porticoNamespace: NS });
      expect(r.sources[0]?.notCarried ?? null).toBeNull();
      expect(r.bgpPeers).toHaveLength(1);
      expect(r.bgpPeers[0]!.spec).toEqual(row.want);
      expect(checkPeer(r.bgpPeers[0]!, NS)).toEqual([]);
      expect(about(r.findings, 'BGPPeer/p')).toEqual(row.findings ?? []);
    });
  }

  const refused: Array<[string, Record<string, unknown>, string]> = [
    ['no myASN', { peerASN: 1, peerAddress: '10.0.0.1' }, 'spec.myASN is required'],
    ['myASN out of range', { ...BASE, myASN: 4294967296 }, 'spec.myASN: 4294967296 must be an AS number'],
    [
      'neither peerASN nor dynamicASN',
      { myASN: 1, peerAddress: '10.0.0.1' },
      'spec.peerASN or spec.dynamicASN is required',
    ],
    [
      'both peerASN and dynamicASN',
      { ...BASE, dynamicASN: 'external' },
      'both set (MetalLB rejects this peer)',
    ],
    [
      'a bad dynamicASN',
      { myASN: 1, dynamicASN: 'any', peerAddress: '10.0.0.1' },
      'must be internal or external',
    ],
    ['no peerAddress', { myASN: 1, peerASN: 2 }, 'spec.peerAddress is required'],
    ['a bad peerAddress', { ...BASE, peerAddress: '10.0.0.300' }, 'is not an IP address'],
    ['unnumbered (interface)', { myASN: 1, dynamicASN: 'external', interface: 'eth1' }, 'unnumbered BGP'],
    ['a VRF', { ...BASE, vrf: 'red' }, 'spec.vrf: "red": Portico peers only from the default routing table'],
    ['hold time 1s', { ...BASE, holdTime: '1s' }, 'must be 0 or at least 3s (MetalLB rejects this peer)'],
    [
      'keepalive longer than hold',
      { ...BASE, holdTime: '9s', keepaliveTime: '10s' },
      'is longer than holdTime',
    ],
    ['a duration that is not one', { ...BASE, holdTime: 'soon' }, 'spec.holdTime: "soon" is not a duration'],
    [
      'connectTime under 1s',
      { ...BASE, connectTime: '500ms' },
      'spec.connectTime: 500ms must be whole seconds',
    ],
    ['a routerID that is no IP', { ...BASE, routerID: 'r1' }, 'spec.routerID: "r1" is not an IP address'],
    ['peerPort 0..65535', { ...BASE, peerPort: 70000 }, 'spec.peerPort: 70000 must be a TCP port'],
    [
      'ebgpMultiHop with peerASN = myASN',
      { ...BASE, peerASN: 64512, ebgpMultiHop: true },
      'ebgpMultiHop is set on an internal (iBGP) peer (MetalLB rejects',
    ],
    [
      'a bad node selector',
      { ...BASE, nodeSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Near' }] }] },
      'unknown operator',
    ],
    [
      'password and passwordSecret',
      { ...BASE, password: 'x', passwordSecret: { name: 's' } },
      'both set (MetalLB rejects such a peer)',
    ],
    [
      'a passwordSecret name that is none',
      { ...BASE, passwordSecret: { name: 'Not A Name' } },
      'is not a Secret name',
    ],
  ];
  for (const [what, spec, msg] of refused) {
    test(`not carried, with a warning naming the object: ${what}`, () => {
      const r = convertMetalLB([peer('p', spec)], { porticoNamespace: NS });
      expect(r.bgpPeers).toEqual([]);
      expect(r.sources).toEqual([
        expect.objectContaining({
          kind: 'BGPPeer',
          name: 'p',
          outputs: [],
          notCarried: expect.stringContaining(msg),
        }),
      ]);
      expect(texts(r.findings, 'warning')).toContainEqual(
        expect.stringMatching(/^BGPPeer\/p: not carried: /),
      );
    });
  }
});

describe('BGPPeer passwords', () => {
  const SECRET = 'hunter2-md5-Sup3rS3cret';

  test('a plain-text password is never copied: passwordSecret names a Secret to create, and the finding says how', () => {
    for (const mode of ['migrate', 'mirror'] as const) {
      const r = convertMetalLB([peer('tor-a', { ...BASE, password: SECRET })], {
        mode,
        porticoNamespace: 'portico-system',
      });
      expect(JSON.stringify(r)).not.toContain(SECRET);
      expect(JSON.stringify(r)).not.toContain('hunter2');
      expect(r.bgpPeers[0]!.spec.passwordSecret).toEqual({ name: 'tor-a-bgp-password' });
      expect(about(r.findings, 'BGPPeer/tor-a')).toEqual([
        "BGPPeer/tor-a spec.password: the plain-text password is not carried (Portico takes TCP MD5 keys only from Secrets, and never copies the password into its output): passwordSecret is set to tor-a-bgp-password; create that Secret in portico-system with `kubectl -n portico-system create secret generic tor-a-bgp-password --type=kubernetes.io/basic-auth --from-literal=password='<the password>'`. Until it exists the speaker opens no session to this peer (never an unauthenticated one)",
      ]);
    }
  });

  test('nor when the peer is refused, nor when the password is odd', () => {
    const r = convertMetalLB([
      peer('a', { ...BASE, password: SECRET, passwordSecret: { name: 's' } }),
      peer('b', { myASN: 1, password: SECRET }),
      peer('c', { ...BASE, password: SECRET, vrf: 'red' }),
      peer('d', { ...BASE, password: SECRET }, 'metallb.io/v1beta1'),
    ]);
    expect(JSON.stringify(r)).not.toContain(SECRET);
  });

  test('the suggested Secret name is a valid name even for the longest peer name', () => {
    expect(passwordSecretName('x'.repeat(253))).toHaveLength(253);
    expect(passwordSecretName('a.b')).toBe('a.b-bgp-password');
  });

  test('passwordSecret in another namespace: carried by name, with how to copy it', () => {
    const r = convertMetalLB([peer('tor-a', { ...BASE, passwordSecret: { name: 'md5', namespace: NS } })], {
      porticoNamespace: 'portico-system',
    });
    expect(r.bgpPeers[0]!.spec.passwordSecret).toEqual({ name: 'md5' });
    expect(about(r.findings, 'BGPPeer/tor-a')).toEqual([
      `BGPPeer/tor-a spec.passwordSecret: MetalLB reads Secret md5 in metallb-system; Portico's speaker reads Secrets only in portico-system: copy it there (type kubernetes.io/basic-auth, key password), e.g. \`kubectl -n portico-system create secret generic md5 --type=kubernetes.io/basic-auth --from-literal=password="$(kubectl -n metallb-system get secret md5 -o jsonpath='{.data.password}' | base64 -d)"\`. Until it exists the speaker opens no session to this peer (never an unauthenticated one)`,
    ]);
  });

  test("MetalLB ignores passwordSecret.namespace (it reads its own namespace's Secrets): noted", () => {
    const r = convertMetalLB(
      [peer('tor-a', { ...BASE, passwordSecret: { name: 'md5', namespace: 'elsewhere' } })],
      {
        porticoNamespace: NS,
      },
    );
    expect(r.bgpPeers[0]!.spec.passwordSecret).toEqual({ name: 'md5' });
    expect(about(r.findings, 'BGPPeer/tor-a')).toEqual([
      'BGPPeer/tor-a spec.passwordSecret.namespace: elsewhere: MetalLB ignores it and reads the Secret from its own namespace metallb-system',
    ]);
  });

  test('no Portico namespace given: the copy warning is always there', () => {
    const r = convertMetalLB([peer('tor-a', { ...BASE, passwordSecret: { name: 'md5' } })]);
    expect(texts(r.findings, 'warning')).toEqual([
      expect.stringContaining("Portico's speaker reads Secrets only in Portico's namespace: copy it there"),
    ]);
  });
});

describe('BGPPeer v1beta1 (deprecated)', () => {
  test('read as MetalLB converts it; v1beta2-only fields are pruned by the apiserver, so reported', () => {
    const r = convertMetalLB(
      [
        peer(
          'old',
          { ...BASE, holdTime: '90s', keepaliveTime: '30s', dynamicASN: 'external', connectTime: '5s' },
          'metallb.io/v1beta1',
        ),
      ],
      { porticoNamespace: NS },
    );
    expect(r.bgpPeers[0]!.spec).toEqual({ ...BASE, holdTime: '90s', keepaliveTime: '30s' });
    expect(about(r.findings, 'BGPPeer/old')).toEqual([
      'BGPPeer/old spec.connectTime: not a field of metallb.io/v1beta1 BGPPeer (the apiserver prunes it; use v1beta2); not carried',
      'BGPPeer/old spec.dynamicASN: not a field of metallb.io/v1beta1 BGPPeer (the apiserver prunes it; use v1beta2); not carried',
      'BGPPeer/old: metallb.io/v1beta1 BGPPeer (deprecated) read as MetalLB converts it to v1beta2',
    ]);
  });
});

describe('BGPAdvertisement: every field', () => {
  const rows: Array<{ name: string; spec?: Record<string, unknown>; want: unknown; findings?: string[] }> = [
    { name: 'no spec: every pool, every peer, every node', spec: undefined, want: undefined },
    {
      name: 'aggregation lengths; the defaults 32 / 128 are left out',
      spec: { aggregationLength: 24, aggregationLengthV6: 128 },
      want: { aggregationLength: 24 },
    },
    { name: 'aggregationLengthV6', spec: { aggregationLengthV6: 120 }, want: { aggregationLengthV6: 120 } },
    { name: 'localPref', spec: { localPref: 200 }, want: { localPref: 200 } },
    { name: "localPref 0 is MetalLB's unset", spec: { localPref: 0 }, want: undefined },
    {
      name: 'standard and large communities, written the Portico way (no leading zeros); duplicates once',
      spec: { communities: ['64512:100', '064512:0100', 'large:64512:1:2'] },
      want: { communities: ['64512:100', 'large:64512:1:2'] },
    },
    {
      name: 'ipAddressPools and ipAddressPoolSelectors',
      spec: {
        ipAddressPools: ['a', 'b', 'a'],
        ipAddressPoolSelectors: [{ matchLabels: { x: '1' } }, { matchLabels: { x: '2' } }],
      },
      want: {
        ipAddressPools: ['a', 'b'],
        ipAddressPoolSelectors: [{ matchLabels: { x: '1' } }, { matchLabels: { x: '2' } }],
      },
      findings: [
        'BGPAdvertisement/a spec.ipAddressPools: names pool a, which is not among the converted pools',
        'BGPAdvertisement/a spec.ipAddressPools: names pool b, which is not among the converted pools',
      ],
    },
    {
      name: 'nodeSelectors',
      spec: { nodeSelectors: [{ matchLabels: { rack: 'a' } }] },
      want: { nodeSelectors: [{ matchLabels: { rack: 'a' } }] },
    },
    {
      name: 'peers',
      spec: { peers: ['tor-a'] },
      want: { peers: ['tor-a'] },
    },
    {
      name: 'serviceSelectors (v0.16): not carried',
      spec: { serviceSelectors: [{ matchLabels: { app: 'x' } }] },
      want: undefined,
      findings: [
        'BGPAdvertisement/a spec.serviceSelectors: not supported by Portico; not carried: every Service of the covered pools is advertised',
      ],
    },
    {
      name: 'an unknown field',
      spec: { somethingNew: true },
      want: undefined,
      findings: [
        'BGPAdvertisement/a spec.somethingNew: not a field this converter knows (newer MetalLB?); not carried',
      ],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const r = convertMetalLB([adv('a', row.spec), peer('tor-a', BASE)]);
      expect(r.bgpAdvertisements).toHaveLength(1);
      expect(r.bgpAdvertisements[0]!.spec).toEqual(row.want);
      expect(checkAdvertisement(r.bgpAdvertisements[0]!)).toEqual([]);
      expect(about(r.findings, 'BGPAdvertisement/a')).toEqual(row.findings ?? []);
    });
  }

  const refused: Array<[string, Record<string, unknown>, string]> = [
    [
      'aggregationLength over 32',
      { aggregationLength: 33 },
      'spec.aggregationLength: 33 must be a prefix length 1..32',
    ],
    [
      'aggregationLength 0 (MetalLB requires at least 1)',
      { aggregationLength: 0 },
      'must be a prefix length 1..32',
    ],
    ['aggregationLengthV6 over 128', { aggregationLengthV6: 129 }, 'spec.aggregationLengthV6: 129'],
    ['a negative localPref', { localPref: -1 }, 'spec.localPref: -1'],
    ['a community that is nothing', { communities: ['64512:70000'] }, 'is neither a community'],
    [
      'an alias not defined anywhere',
      { communities: ['my-alias'] },
      'nor an alias defined by a Community object',
    ],
    ['a pool name that is none', { ipAddressPools: ['Bad Name'] }, 'cannot be pool names'],
    [
      'a bad pool selector',
      { ipAddressPoolSelectors: [{ matchLabels: { a: 1 } }] },
      'matchLabels values must be strings',
    ],
    [
      'too many node selectors',
      { nodeSelectors: Array.from({ length: 17 }, (_, i) => ({ matchLabels: { n: `${i}` } })) },
      'at most 16',
    ],
  ];
  for (const [what, spec, msg] of refused) {
    test(`not carried, with a warning naming the object: ${what}`, () => {
      const r = convertMetalLB([adv('a', spec)]);
      expect(r.bgpAdvertisements).toEqual([]);
      expect(r.sources[0]).toEqual(
        expect.objectContaining({
          kind: 'BGPAdvertisement',
          outputs: [],
          notCarried: expect.stringContaining(msg),
        }),
      );
      expect(texts(r.findings, 'warning')).toContainEqual(
        expect.stringMatching(/^BGPAdvertisement\/a: not carried: /),
      );
    });
  }
});

describe('Community aliases', () => {
  test('an alias is resolved from the Community objects, before any other reading (as MetalLB)', () => {
    const r = convertMetalLB([
      community('c1', [
        { name: 'upstream', value: '64512:1' },
        { name: 'big', value: 'large:64512:7:8' },
      ]),
      community('c2', [{ name: 'no-export', value: '64512:666' }]),
      adv('a', { communities: ['upstream', 'big', 'no-export', '64512:1'] }),
    ]);
    expect(r.bgpAdvertisements[0]!.spec?.communities).toEqual(['64512:1', 'large:64512:7:8', '64512:666']);
    expect(about(r.findings, 'BGPAdvertisement/a')).toEqual([
      'BGPAdvertisement/a spec.communities: alias "upstream" resolved to 64512:1 (Community metallb-system/c1)',
      'BGPAdvertisement/a spec.communities: alias "big" resolved to large:64512:7:8 (Community metallb-system/c1)',
      'BGPAdvertisement/a spec.communities: alias "no-export" resolved to 64512:666 (Community metallb-system/c2)',
    ]);
    expect(about(r.findings, 'Community/c1')).toEqual([
      'Community/c1: Portico has no Community kind: its aliases are resolved into the BGPAdvertisements that use them',
    ]);
  });

  test('a well-known name without an alias: carried as the well-known community, with a warning', () => {
    const r = convertMetalLB([adv('a', { communities: ['no-export'] })]);
    expect(r.bgpAdvertisements[0]!.spec?.communities).toEqual(['65535:65281']);
    expect(texts(r.findings, 'warning')).toContain(
      'BGPAdvertisement/a spec.communities: "no-export" is no alias defined by a Community object in the input (MetalLB would wait for one and announce nothing meanwhile); carried as the well-known community no-export = 65535:65281: check that is what the alias stood for',
    );
  });

  test('an alias with a bad value, or defined twice differently: advertisements using it are not carried', () => {
    const r = convertMetalLB([
      community('c1', [
        { name: 'bad', value: '1:2:3' },
        { name: 'twice', value: '1:1' },
      ]),
      community('c2', [
        { name: 'twice', value: '1:2' },
        { name: 'same', value: '5:5' },
      ]),
      community('c3', [{ name: 'same', value: '05:5' }]),
      adv('uses-bad', { communities: ['bad'] }),
      adv('uses-twice', { communities: ['twice'] }),
      adv('uses-same', { communities: ['same'] }),
    ]);
    expect(r.bgpAdvertisements.map((a) => a.metadata.name)).toEqual(['uses-same']);
    expect(r.bgpAdvertisements[0]!.spec?.communities).toEqual(['5:5']);
    expect(texts(r.findings, 'warning')).toEqual([
      'Community/c1 spec.communities[0]: alias "bad": "1:2:3" is not a community (A:B or large:A:B:C; MetalLB rejects it); advertisements using it are not carried',
      'Community/c2 spec.communities[0]: alias "twice" is also defined by Community metallb-system/c1 with another value (MetalLB rejects duplicate aliases); advertisements using it are not carried',
      'BGPAdvertisement/uses-bad: not carried: spec.communities: alias "bad" (Community metallb-system/c1) is unusable (see its warning)',
      'BGPAdvertisement/uses-twice: not carried: spec.communities: alias "twice" (Community metallb-system/c1) is unusable (see its warning)',
      'BGPAdvertisements were carried but no BGPPeer: nothing is advertised over BGP until a peer exists',
    ]);
  });

  test("MetalLB's community syntax", () => {
    expect(metallbCommunity('65535:65281')).toBe('65535:65281');
    expect(metallbCommunity('00001:2')).toBe('1:2');
    expect(metallbCommunity('65536:1')).toBeNull();
    expect(metallbCommunity('large:4294967295:0:1')).toBe('large:4294967295:0:1');
    expect(metallbCommunity('LARGE:1:2:3')).toBeNull(); // MetalLB's marker is lower-case
    expect(metallbCommunity('no-export')).toBeNull();
    expect(metallbCommunity('1:2:3')).toBeNull();
  });
});

describe('BGP: objects, coverage and the whole picture', () => {
  test('names and labels kept, origin annotated, label says who made it (migrate and mirror)', () => {
    const input = [
      peer('tor-a', BASE, 'metallb.io/v1beta2', { labels: { team: 'net', [MIRRORED_LABEL]: 'forged' } }),
      adv('routed', { ipAddressPools: ['routed'] }),
    ];
    const m = convertMetalLB(input);
    expect(m.bgpPeers[0]!.metadata).toEqual({
      name: 'tor-a',
      labels: { team: 'net', [MIGRATED_LABEL]: 'metallb' },
      annotations: { [SOURCE_ANNOTATION]: 'BGPPeer metallb-system/tor-a' },
    });
    expect(m.bgpAdvertisements[0]!.metadata.annotations).toEqual({
      [SOURCE_ANNOTATION]: 'BGPAdvertisement metallb-system/routed',
    });
    const mirror = convertMetalLB(input, { mode: 'mirror' });
    expect(mirror.bgpPeers[0]!.metadata.labels).toEqual({ team: 'net', [MIRRORED_LABEL]: 'metallb' });
    expect(mirror.bgpAdvertisements[0]!.metadata.labels).toEqual({ [MIRRORED_LABEL]: 'metallb' });
  });

  test('a pool announced only by BGP is announced: no finding; the BGP-mode note says how to turn it on', () => {
    const r = convertMetalLB([
      pool('routed', ['10.0.0.0/24'], { exposure: 'bgp' }),
      peer('tor-a', BASE),
      adv('routed', { ipAddressPoolSelectors: [{ matchLabels: { exposure: 'bgp' } }] }),
    ]);
    expect(texts(r.findings)).toEqual([
      "BGPPeer and BGPAdvertisement take effect only with the speaker's BGP mode: helm upgrade … --set speaker.bgp.enabled=true (speaker flag --bgp)",
    ]);
  });

  test('a pool whose only MetalLB advertisement was not carried: warned, naming it', () => {
    const r = convertMetalLB([
      pool('routed', ['10.0.0.0/24']),
      peer('tor-a', BASE),
      adv('routed', { ipAddressPools: ['routed'], communities: ['undefined-alias'] }),
    ]);
    expect(texts(r.findings, 'warning')).toContain(
      'IPAddressPool/routed: announced in MetalLB by BGPAdvertisement/routed, not carried (see above): Portico allocates from this pool but announces nothing until an advertisement covers it',
    );
  });

  test('an aggregate wider than a pool block, a peer that was not carried, two objects of one name', () => {
    const r = convertMetalLB([
      pool('routed', ['10.0.0.0/28']),
      peer('tor-a', BASE),
      { ...peer('tor-a', BASE), metadata: { name: 'tor-a', namespace: 'other' } },
      adv('wide', { ipAddressPools: ['routed'], aggregationLength: 24, peers: ['tor-a', 'tor-gone'] }),
    ]);
    expect(r.bgpPeers.map((p) => p.metadata.annotations?.[SOURCE_ANNOTATION])).toEqual([
      'BGPPeer metallb-system/tor-a',
    ]);
    expect(texts(r.findings, 'warning')).toEqual([
      "BGPPeer/tor-a metadata.namespace: same name as BGPPeer metallb-system/tor-a; Portico's BGPPeer is cluster-scoped, so only that one is carried",
      'BGPAdvertisement/wide spec.peers: names BGPPeer tor-gone, which is not among the converted peers: nothing is advertised to it',
      'BGPAdvertisement/wide spec: aggregationLength 24 is shorter than /28, the widest block of "10.0.0.0/28" in pool routed: the aggregate would cover addresses outside the pool (MetalLB rejects this; Portico advertises nothing of that pool through it)',
    ]);
  });

  test('output is sorted by name, whatever the input order', () => {
    const r = convertMetalLB([peer('b', BASE), peer('a', BASE), adv('z'), adv('y')]);
    expect(r.bgpPeers.map((p) => p.metadata.name)).toEqual(['a', 'b']);
    expect(r.bgpAdvertisements.map((p) => p.metadata.name)).toEqual(['y', 'z']);
  });
});

describe('goDurationSeconds (metav1.Duration, Go syntax)', () => {
  test.each([
    ['90s', 90],
    ['1m30s', 90],
    ['1.5h', 5400],
    ['.5s', 0.5],
    ['0', 0],
    ['500ms', 0.5],
    ['-1s', -1],
    ['+2s', 2],
    ['1d', null],
    ['', null],
    ['90', null],
  ])('%s', (text, want) => {
    expect(goDurationSeconds(text)).toBe(want);
  });
});

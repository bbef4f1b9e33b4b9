// The mirror's pure planner: creates what is missing, updates only its own objects and only when
// they differ (CRD defaults included, so a resync writes nothing), never touches a user-made object
// of the same name (conflict), keeps the last good mirror of a MetalLB object that became
// unusable, and deletes mirrors whose MetalLB object is gone — for pools, L2Advertisements,
// BGPPeers and BGPAdvertisements alike.
import { describe, expect, test } from 'vitest';
import { type ExistingObject, planMirror, withDefaults } from '../../controllers/metallb-mirror.ts';
import { convertMetalLB, MIRRORED_LABEL, SOURCE_ANNOTATION } from '../../lib/api/metallb.ts';

const mpool = (name: string, addresses: unknown, ns = 'metallb-system') => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: ns },
  spec: { addresses },
});
const ml2 = (name: string, spec: unknown) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name, namespace: 'metallb-system' },
  spec,
});
const mpeer = (name: string, spec: unknown) => ({
  apiVersion: 'metallb.io/v1beta2',
  kind: 'BGPPeer',
  metadata: { name, namespace: 'metallb-system' },
  spec,
});
const madv = (name: string, spec?: unknown) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'BGPAdvertisement',
  metadata: { name, namespace: 'metallb-system' },
  ...(spec === undefined ? {} : { spec }),
});
const convert = (objs: unknown[]) =>
  convertMetalLB(objs, { mode: 'mirror', porticoNamespace: 'metallb-system' });

/** What the apiserver would hold after the mirror wrote `o`. */
function stored(o: ReturnType<typeof withDefaults>, rv = '1'): ExistingObject {
  return {
    kind: o.kind as ExistingObject['kind'],
    name: o.metadata?.name ?? '',
    uid: `uid-${o.metadata?.name}`,
    resourceVersion: rv,
    labels: { ...o.metadata?.labels },
    annotations: { ...o.metadata?.annotations },
    spec: JSON.parse(JSON.stringify(o.spec ?? {})),
  };
}

describe('planMirror', () => {
  test('creates everything on an empty cluster, with the CRD defaults written out', () => {
    const conv = convert([mpool('a', ['10.0.0.0/24']), ml2('l2', { interfaces: ['eth0'] })]);
    const plan = planMirror(conv, []);
    expect(plan.map((a) => a.op)).toEqual(['create', 'create']);
    const pool = plan[0]!.op === 'create' ? plan[0]!.object : undefined;
    expect(pool?.spec).toEqual({ addresses: ['10.0.0.0/24'], autoAssign: true, avoidBuggyIPs: false });
    expect(pool?.metadata?.labels?.[MIRRORED_LABEL]).toBe('metallb');
  });

  test('level-based: what it wrote plans nothing (no write on resync)', () => {
    const conv = convert([mpool('a', ['10.0.0.0/24']), ml2('l2', { interfaces: ['eth0'] })]);
    const existing = planMirror(conv, [])
      .map((a) => (a.op === 'create' ? stored(a.object) : undefined))
      .filter((x) => x !== undefined);
    expect(planMirror(conv, existing)).toEqual([]);
  });

  test('a changed MetalLB object updates its mirror, with the resourceVersion as a precondition', () => {
    const before = convert([mpool('a', ['10.0.0.0/24'])]);
    const existing = [stored(withDefaults(before.pools[0]! as never), '42')];
    const plan = planMirror(convert([mpool('a', ['10.0.0.0/23'])]), existing);
    expect(plan).toEqual([expect.objectContaining({ op: 'update', resourceVersion: '42' })]);
  });

  test('a user-made Portico object of the same name is never touched: conflict', () => {
    const user: ExistingObject = {
      kind: 'IPAddressPool',
      name: 'a',
      spec: { addresses: ['10.9.0.0/24'] },
      labels: { mine: 'yes' },
    };
    const plan = planMirror(convert([mpool('a', ['10.0.0.0/24'])]), [user]);
    expect(plan).toEqual([
      {
        op: 'conflict',
        kind: 'IPAddressPool',
        name: 'a',
        source: expect.objectContaining({ namespace: 'metallb-system', name: 'a' }),
      },
    ]);
  });

  test('a MetalLB object that became invalid keeps its last good mirror (held, not deleted)', () => {
    const good = convert([mpool('a', ['10.0.0.0/24'])]);
    const existing = [stored(withDefaults(good.pools[0]! as never))];
    const plan = planMirror(convert([mpool('a', ['10.0.0.9-10.0.0.1'])]), existing);
    expect(plan).toEqual([expect.objectContaining({ op: 'hold', kind: 'IPAddressPool', name: 'a' })]);
  });

  test('a MetalLB object that is gone takes its mirror with it (uid + resourceVersion preconditions)', () => {
    const good = convert([mpool('a', ['10.0.0.0/24'])]);
    const existing = [stored(withDefaults(good.pools[0]! as never), '7')];
    expect(planMirror(convert([]), existing)).toEqual([
      {
        op: 'delete',
        kind: 'IPAddressPool',
        name: 'a',
        uid: 'uid-a',
        resourceVersion: '7',
        why: 'IPAddressPool metallb-system/a is gone',
      },
    ]);
  });

  test('objects the mirror did not make are never deleted, even with a source annotation', () => {
    const user: ExistingObject = {
      kind: 'IPAddressPool',
      name: 'z',
      annotations: { [SOURCE_ANNOTATION]: 'IPAddressPool metallb-system/z' },
      labels: { 'portico.dev/migrated-from': 'metallb' },
    };
    expect(planMirror(convert([]), [user])).toEqual([]);
  });

  test('an L2Advertisement split in fewer parts deletes the extra mirror', () => {
    const two = convert([
      ml2('l2', {
        nodeSelectors: [{ matchLabels: { a: '1' } }, { matchLabels: { b: '1' } }],
        interfaces: ['eth0'],
      }),
    ]);
    const existing = two.l2Advertisements.map((o) => stored(withDefaults(o as never)));
    const one = convert([ml2('l2', { nodeSelectors: [{ matchLabels: { a: '1' } }], interfaces: ['eth0'] })]);
    expect(planMirror(one, existing)).toEqual([
      expect.objectContaining({
        op: 'delete',
        kind: 'L2Advertisement',
        name: 'l2-2',
        why: 'L2Advertisement metallb-system/l2 no longer produces it',
      }),
    ]);
  });

  test('BGPPeers and BGPAdvertisements are mirrored too, with their CRD defaults written out', () => {
    const conv = convert([
      mpeer('tor-a', { myASN: 64512, peerASN: 64513, peerAddress: '10.0.0.1', holdTime: '9s' }),
      madv('routed', { ipAddressPools: ['a'], communities: ['64512:1'] }),
      madv('everything'),
    ]);
    const plan = planMirror(conv, []);
    expect(
      plan.map((a) => (a.op === 'create' ? `${a.object.kind}/${a.object.metadata?.name}` : a.op)),
    ).toEqual(['BGPPeer/tor-a', 'BGPAdvertisement/everything', 'BGPAdvertisement/routed']);
    const spec = (i: number) => (plan[i]!.op === 'create' ? plan[i]!.object.spec : undefined);
    expect(spec(0)).toEqual({
      myASN: 64512,
      peerASN: 64513,
      peerAddress: '10.0.0.1',
      holdTime: '9s',
      peerPort: 179,
      ebgpMultiHop: false,
      enableGracefulRestart: false,
    });
    // No spec stays no spec (structural defaults apply inside an existing object only).
    expect(spec(1)).toBeUndefined();
    expect(spec(2)).toEqual({
      ipAddressPools: ['a'],
      communities: ['64512:1'],
      aggregationLength: 32,
      aggregationLengthV6: 128,
    });
    // Level-based: what it wrote plans nothing.
    const existing = plan
      .map((a) => (a.op === 'create' ? stored(a.object) : undefined))
      .filter((x) => x !== undefined);
    expect(planMirror(conv, existing)).toEqual([]);
  });

  test('a BGPPeer edit updates, an unusable one is held, a deleted one goes; a user-made one is never touched', () => {
    const peerSpec = { myASN: 64512, peerASN: 64513, peerAddress: '10.0.0.1' };
    const good = convert([mpeer('tor-a', peerSpec), mpeer('tor-b', peerSpec)]);
    const existing = good.bgpPeers.map((p) => stored(withDefaults(p as never), '5'));
    const user: ExistingObject = { kind: 'BGPPeer', name: 'mine', spec: { myASN: 1 } };
    const plan = planMirror(
      convert([
        mpeer('tor-a', { ...peerSpec, holdTime: '9s' }),
        mpeer('tor-b', { ...peerSpec, vrf: 'red' }),
        mpeer('mine', peerSpec),
      ]),
      [...existing, user],
    );
    expect(plan).toEqual([
      { op: 'conflict', kind: 'BGPPeer', name: 'mine', source: expect.objectContaining({ name: 'mine' }) },
      expect.objectContaining({ op: 'update', resourceVersion: '5' }),
      expect.objectContaining({ op: 'hold', kind: 'BGPPeer', name: 'tor-b' }),
    ]);
    expect(planMirror(convert([]), existing)).toEqual([
      expect.objectContaining({
        op: 'delete',
        kind: 'BGPPeer',
        name: 'tor-a',
        why: 'BGPPeer metallb-system/tor-a is gone',
      }),
      expect.objectContaining({
        op: 'delete',
        kind: 'BGPPeer',
        name: 'tor-b',
        why: 'BGPPeer metallb-system/tor-b is gone',
      }),
    ]);
  });

  test('mirrors of a kind whose MetalLB CRD is not watched are never deleted on that evidence', () => {
    const good = convert([mpeer('tor-a', { myASN: 64512, peerASN: 64513, peerAddress: '10.0.0.1' })]);
    const existing = good.bgpPeers.map((p) => stored(withDefaults(p as never)));
    expect(planMirror(convert([]), existing, ['BGPPeer', 'BGPAdvertisement'])).toEqual([]);
    expect(planMirror(convert([]), existing, ['BGPAdvertisement'])).toHaveLength(1);
  });
});

// The mirror's planner as a state machine over an in-memory apiserver: from any starting state
// (user-made objects, stale mirrors) and any MetalLB input, applying the plan converges in one
// pass (planning again proposes no write), never changes or deletes an object the mirror did not
// make, and leaves exactly the desired objects mirrored — except the last good mirror of a
// MetalLB object that is now unusable, which is kept as it was.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ExistingObject,
  type MirrorAction,
  planMirror,
  withDefaults,
} from '../../controllers/metallb-mirror.ts';
import { convertMetalLB, MIRRORED_LABEL, SOURCE_ANNOTATION } from '../../lib/api/metallb.ts';

const NAMES = ['a', 'b', 'c'];
const ADDRESSES = [
  ['10.0.0.0/24'],
  ['10.1.0.0/24', '10.1.1.5-10.1.1.9'],
  ['10.2.0.9-10.2.0.1'] /* invalid */,
];

const metallbArb = fc.record({
  pools: fc.uniqueArray(
    fc.record({
      name: fc.constantFrom(...NAMES),
      addresses: fc.constantFrom(...ADDRESSES),
      autoAssign: fc.boolean(),
    }),
    { selector: (p) => p.name, maxLength: 3 },
  ),
  l2s: fc.uniqueArray(
    fc.record({
      name: fc.constantFrom(...NAMES),
      nodes: fc.integer({ min: 0, max: 3 }),
      interfaces: fc.constantFrom(['eth0'], ['bad/name'], ['eth1', 'eth2']),
    }),
    { selector: (l) => l.name, maxLength: 3 },
  ),
});

type MetalLBState = typeof metallbArb extends fc.Arbitrary<infer T> ? T : never;

function metallbObjects(m: MetalLBState): unknown[] {
  return [
    ...m.pools.map((p) => ({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: p.name, namespace: 'metallb-system', labels: { from: 'metallb' } },
      spec: { addresses: p.addresses, autoAssign: p.autoAssign },
    })),
    ...m.l2s.map((l) => ({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: l.name, namespace: 'metallb-system' },
      spec: {
        interfaces: l.interfaces,
        nodeSelectors: Array.from({ length: l.nodes }, (_, i) => ({ matchLabels: { rack: String(i) } })),
      },
    })),
  ];
}

type Store = Map<string, ExistingObject>;
const keyOf = (kind: string, name: string) => `${kind}/${name}`;

/** The apiserver's side of each action, with the preconditions it enforces. */
function apply(store: Store, actions: readonly MirrorAction[], rv: { n: number }): void {
  for (const a of actions) {
    if (a.op === 'create' || a.op === 'update') {
      const o = a.object;
      const k = keyOf(o.kind, o.metadata?.name ?? '');
      const cur = store.get(k);
      if (a.op === 'create' && cur) throw new Error(`create of existing ${k}`);
      if (a.op === 'update' && cur?.resourceVersion !== a.resourceVersion)
        throw new Error(`stale update of ${k}`);
      store.set(k, {
        kind: o.kind as ExistingObject['kind'],
        name: o.metadata?.name ?? '',
        uid: cur?.uid ?? `uid-${k}-${rv.n}`,
        resourceVersion: String(++rv.n),
        labels: { ...o.metadata?.labels },
        annotations: { ...o.metadata?.annotations },
        spec: JSON.parse(JSON.stringify(o.spec ?? {})),
      });
    } else if (a.op === 'delete') {
      const k = keyOf(a.kind, a.name);
      const cur = store.get(k);
      if (!cur || cur.uid !== a.uid || cur.resourceVersion !== a.resourceVersion)
        throw new Error(`precondition failed on ${k}`);
      store.delete(k);
    }
  }
}

const writes = (plan: readonly MirrorAction[]) =>
  plan.filter((a) => a.op === 'create' || a.op === 'update' || a.op === 'delete');

describe('planMirror properties', () => {
  it('converges in one pass, never touches user objects, mirrors exactly the desired set (holding the last good of unusable sources)', () => {
    fc.assert(
      fc.property(
        metallbArb,
        metallbArb,
        fc.uniqueArray(
          fc.tuple(fc.constantFrom('IPAddressPool', 'L2Advertisement'), fc.constantFrom(...NAMES, 'a-2')),
          {
            selector: ([k, n]) => `${k}/${n}`,
            maxLength: 3,
          },
        ),
        (first, second, userObjects) => {
          const store: Store = new Map();
          const rv = { n: 0 };
          for (const [kind, name] of userObjects)
            store.set(keyOf(kind, name), {
              kind: kind as ExistingObject['kind'],
              name,
              uid: `user-${name}`,
              resourceVersion: String(++rv.n),
              labels: { owner: 'user' },
              spec: { mine: true },
            });
          const users = new Map([...store].map(([k, v]) => [k, JSON.stringify(v)]));
          // Two MetalLB states in a row, as if the user edited MetalLB's objects in between.
          for (const state of [first, second]) {
            const conv = convertMetalLB(metallbObjects(state), { mode: 'mirror' });
            const before = new Map(store);
            apply(store, planMirror(conv, [...store.values()]), rv);
            // One pass converges: nothing left to write.
            expect(writes(planMirror(conv, [...store.values()]))).toEqual([]);
            // User objects are exactly as they were.
            for (const [k, v] of users) expect(JSON.stringify(store.get(k))).toBe(v);
            // Every desired object not shadowed by a user object is mirrored with the desired spec.
            for (const o of [...conv.pools, ...conv.l2Advertisements]) {
              const k = keyOf(o.kind, o.metadata.name ?? '');
              if (users.has(k)) continue;
              const got = store.get(k);
              expect(got?.labels?.[MIRRORED_LABEL]).toBe('metallb');
              expect(got?.spec).toEqual(JSON.parse(JSON.stringify(withDefaults(o as never).spec ?? {})));
            }
            const desired = new Set(
              [...conv.pools, ...conv.l2Advertisements].map((o) => keyOf(o.kind, o.metadata.name ?? '')),
            );
            // A mirror whose source still exists but cannot be carried is never deleted.
            for (const [k, v] of before) {
              if (users.has(k) || desired.has(k) || v.labels?.[MIRRORED_LABEL] !== 'metallb') continue;
              const src = conv.sources.find(
                (s) => `${s.kind} ${s.namespace}/${s.name}` === v.annotations?.[SOURCE_ANNOTATION],
              );
              if (src?.notCarried) expect(store.get(k), k).toEqual(v);
            }
            // Any other mirrored object is the untouched last good mirror of an unusable source.
            for (const [k, v] of store) {
              if (users.has(k) || desired.has(k)) continue;
              const src = conv.sources.find(
                (s) => `${s.kind} ${s.namespace}/${s.name}` === v.annotations?.[SOURCE_ANNOTATION],
              );
              expect(src?.notCarried, k).toBeTruthy();
              expect(store.get(k)).toEqual(before.get(k));
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

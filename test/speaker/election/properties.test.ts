import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ElectionInput, type ElectionNode, elect } from '../../../speaker/election/elect.ts';
import { announcedBy } from '../../../speaker/election/partition.ts';

// Properties of the ownership policy that make it safe without coordination.

const nodeNames = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), {
  minLength: 1,
  maxLength: 12,
});
const vipList = fc.uniqueArray(
  fc.oneof(
    fc.integer({ min: 1, max: 254 }).map((i) => `192.0.2.${i}`),
    fc.integer({ min: 1, max: 0xffff }).map((i) => `2001:db8::${i.toString(16)}`),
  ),
  { minLength: 1, maxLength: 40 },
);

function build(names: string[], vips: string[], live: string[] = names): ElectionInput {
  const nodes: ElectionNode[] = names.map((name) => ({ name, labels: {} }));
  return {
    nodes,
    liveNodes: live,
    pools: [{ name: 'p' }],
    l2Advertisements: [{ name: 'all' }],
    vips: vips.map((ip) => ({ ip, pool: 'p', services: [{ key: `ns/${ip}` }] })),
  };
}

const owners = (inp: ElectionInput): Map<string, string | undefined> =>
  new Map([...elect(inp)].map(([ip, d]) => [ip, d.owner]));

describe('election properties', () => {
  it('is stable under node, peer and VIP order', () => {
    fc.assert(
      fc.property(nodeNames, vipList, (names, vips) => {
        const a = owners(build(names, vips));
        const b = owners(build([...names].reverse(), [...vips].reverse(), [...names].sort()));
        expect(b).toEqual(a);
      }),
    );
  });

  it('every speaker computes the same owners, so each VIP is announced by exactly one node', () => {
    fc.assert(
      fc.property(nodeNames, vipList, fc.integer(), (names, vips, seed) => {
        // Each speaker gets its own shuffled copy of the same facts.
        const perSpeaker = names.map((self, i) => {
          const rot = (seed + i) % names.length;
          const shuffled = [...names.slice(rot), ...names.slice(0, rot)];
          const decisions = elect(build(shuffled, [...vips].sort(), shuffled));
          return announcedBy(self, decisions, { minority: false }, new Set());
        });
        for (const ip of elect(build(names, vips)).keys()) {
          expect(perSpeaker.filter((s) => s.has(ip)).length, ip).toBe(1);
        }
      }),
    );
  });

  it('removing a node moves only the VIPs it owned', () => {
    fc.assert(
      fc.property(
        nodeNames.filter((n) => n.length >= 2),
        vipList,
        fc.nat(),
        (names, vips, k) => {
          const gone = names[k % names.length]!;
          const before = owners(build(names, vips));
          const after = owners(
            build(
              names,
              vips,
              names.filter((n) => n !== gone),
            ),
          );
          for (const [ip, owner] of before) {
            if (owner === gone) expect(after.get(ip)).not.toBe(gone);
            else expect(after.get(ip), ip).toBe(owner);
          }
        },
      ),
    );
  });

  it('adding a node takes VIPs only onto the new node', () => {
    fc.assert(
      fc.property(
        nodeNames.filter((n) => n.length >= 2),
        vipList,
        (names, vips) => {
          const [newcomer, ...rest] = names;
          const before = owners(build(names, vips, rest));
          const after = owners(build(names, vips, names));
          for (const [ip, owner] of after) if (owner !== newcomer) expect(before.get(ip)).toBe(owner);
        },
      ),
    );
  });

  it('spreads VIPs roughly evenly over N nodes', () => {
    const vips = Array.from({ length: 4096 }, (_, i) => `2001:db8::${i.toString(16)}`);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), (n) => {
        const names = Array.from({ length: n }, (_, i) => `worker-${i}`);
        const counts = new Map<string, number>();
        for (const owner of owners(build(names, vips)).values())
          counts.set(owner!, (counts.get(owner!) ?? 0) + 1);
        const mean = vips.length / n;
        for (const name of names) {
          // 4096 balls into ≤16 bins: ±25% is > 5 standard deviations, so a failure means a bad hash.
          expect(Math.abs((counts.get(name) ?? 0) - mean) / mean, `${name} of ${n}`).toBeLessThan(0.25);
        }
      }),
      { numRuns: 15 },
    );
  });
});

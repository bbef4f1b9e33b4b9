import { CustomObjectsApi } from '@kubernetes/client-node';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_POOL_ENTRIES } from '../../../lib/api/crds/ipaddresspool.ts';
import { GROUP, PLURALS, VERSION } from '../../../lib/api/group.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';

/**
 * Property tests of the IPAddressPool CEL rules against BigInt arithmetic: random ranges and
 * CIDRs in many spellings, a whole pool per apiserver request (dry run: nothing is stored and no
 * address here is ever used on a network). The apiserver reports every bad entry by index, so
 * one request checks up to MAX_POOL_ENTRIES cases.
 */

let custom: CustomObjectsApi;
beforeAll(() => {
  custom = sharedKubeConfig().makeApiClient(CustomObjectsApi);
});

const V4_BITS = 32n;
const V6_BITS = 128n;
const MAPPED = 0xffffn << 32n; // ::ffff:0:0/96, which the apiserver's isIP() rejects by design

function v4(x: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((x >> s) & 0xffn)).join('.');
}

function v6Groups(x: bigint): bigint[] {
  return [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => (x >> s) & 0xffffn);
}

/** RFC 5952-style: longest run (≥ 2) of zero groups becomes '::'. */
function v6Compressed(x: bigint): string {
  const g = v6Groups(x).map((n) => n.toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

type Spelling = 'compressed' | 'expanded' | 'upper' | 'unpadded';
function v6(x: bigint, spelling: Spelling): string {
  switch (spelling) {
    case 'compressed':
      return v6Compressed(x);
    case 'upper':
      return v6Compressed(x).toUpperCase();
    case 'expanded':
      return v6Groups(x)
        .map((n) => n.toString(16).padStart(4, '0'))
        .join(':');
    case 'unpadded':
      return v6Groups(x)
        .map((n) => n.toString(16))
        .join(':');
  }
}

/** An address, and a second one near it in the ways that break naive comparisons. */
function pair(bits: bigint) {
  const max = (1n << bits) - 1n;
  const addr = fc.bigInt({ min: 0n, max });
  const clamp = (x: bigint) => (x < 0n ? 0n : x > max ? max : x);
  return fc
    .tuple(
      addr,
      fc.oneof(
        fc.bigInt({ min: -3n, max: 3n }).map((d) => (a: bigint) => clamp(a + d)),
        fc.nat({ max: Number(bits) - 1 }).map((k) => (a: bigint) => a ^ (1n << BigInt(k))),
        addr.map((b) => () => b),
      ),
    )
    .map(([a, f]) => [a, f(a)] as const);
}

const notMapped = (x: bigint) => x >> 32n !== MAPPED >> 32n;

const v4Range = pair(V4_BITS).map(([a, b]) => ({ text: `${v4(a)}-${v4(b)}`, reversed: a > b }));
const v6Range = fc
  .tuple(
    pair(V6_BITS),
    fc.constantFrom<Spelling>('compressed', 'expanded', 'upper', 'unpadded'),
    fc.boolean(),
  )
  .filter(([[a, b]]) => notMapped(a) && notMapped(b))
  .map(([[a, b], spelling, spaces]) => ({
    text: `${v6(a, spelling)}${spaces ? ' - ' : '-'}${v6(b, spelling)}`,
    reversed: a > b,
  }));

interface Case {
  text: string;
  bad: boolean;
}

/** Create a dry-run pool; returns the indices the apiserver reported, with their messages. */
async function reported(addresses: string[]): Promise<Map<number, string>> {
  const body = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'IPAddressPool',
    metadata: { name: 'property' },
    spec: { addresses },
  };
  const out = new Map<number, string>();
  try {
    await custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.IPAddressPool,
      body,
      dryRun: 'All',
    });
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    if (e.code !== 422) throw err;
    const status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as {
      details?: { causes?: Array<{ field?: string; message?: string }> };
    };
    for (const c of status.details?.causes ?? []) {
      const m = /^spec\.addresses\[(\d+)\]$/.exec(c.field ?? '');
      if (m) out.set(Number(m[1]), c.message ?? '');
      else throw new Error(`unexpected cause ${JSON.stringify(c)}`);
    }
  }
  return out;
}

async function check(cases: Case[], badMessage: RegExp): Promise<void> {
  // listType=set rejects duplicates; keep the first of each text.
  const seen = new Set<string>();
  const unique = cases.filter((c) => !seen.has(c.text) && seen.add(c.text));
  const got = await reported(unique.map((c) => c.text));
  unique.forEach((c, i) => {
    if (c.bad) expect(got.get(i), `${c.text} should be rejected`).toMatch(badMessage);
    else expect(got.has(i), `${c.text} should be accepted: ${got.get(i)}`).toBe(false);
  });
}

const runs = { numRuns: 4, endOnFailure: true };

describe('IPAddressPool CEL rules agree with BigInt arithmetic', () => {
  it('IPv4 ranges: rejected exactly when reversed', async () => {
    const batch = fc.array(v4Range, { minLength: MAX_POOL_ENTRIES, maxLength: MAX_POOL_ENTRIES });
    await fc.assert(
      fc.asyncProperty(batch, (rs) =>
        check(
          rs.map((r) => ({ text: r.text, bad: r.reversed })),
          /is reversed/,
        ),
      ),
      runs,
    );
  });

  it('IPv6 ranges in any spelling: rejected exactly when reversed', async () => {
    const batch = fc.array(v6Range, { minLength: MAX_POOL_ENTRIES, maxLength: MAX_POOL_ENTRIES });
    await fc.assert(
      fc.asyncProperty(batch, (rs) =>
        check(
          rs.map((r) => ({ text: r.text, bad: r.reversed })),
          /is reversed/,
        ),
      ),
      runs,
    );
  });

  it('CIDRs: rejected exactly when host bits are set after the prefix', async () => {
    const cidr = fc.oneof(
      fc
        .tuple(fc.bigInt({ min: 0n, max: (1n << V4_BITS) - 1n }), fc.nat({ max: 32 }), fc.nat({ max: 32 }))
        .map(([x, p, zeroFrom]) => {
          // Clear the low bits from a random position, so about half of the cases are clean.
          const v = (x >> BigInt(zeroFrom)) << BigInt(zeroFrom);
          const host = (1n << (V4_BITS - BigInt(p))) - 1n;
          return { text: `${v4(v)}/${p}`, bad: (v & host) !== 0n };
        }),
      fc
        .tuple(fc.bigInt({ min: 0n, max: (1n << V6_BITS) - 1n }), fc.nat({ max: 128 }), fc.nat({ max: 128 }))
        .map(([x, p, zeroFrom]) => {
          const v = (x >> BigInt(zeroFrom)) << BigInt(zeroFrom);
          const host = (1n << (V6_BITS - BigInt(p))) - 1n;
          return { v, text: `${v6Compressed(v)}/${p}`, bad: (v & host) !== 0n };
        })
        .filter((c) => notMapped(c.v)),
    );
    const batch = fc.array(cidr, { minLength: MAX_POOL_ENTRIES, maxLength: MAX_POOL_ENTRIES });
    await fc.assert(
      fc.asyncProperty(batch, (cs) =>
        check(
          cs.map((c) => ({ text: c.text, bad: c.bad })),
          /has host bits set/,
        ),
      ),
      runs,
    );
  });
});

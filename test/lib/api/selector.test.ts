// The shared label-selector matcher. The tables were the DNS sources' and the speaker's own tests
// before their copies of the matcher were merged into lib/api/selector.ts; the IPAM controller's
// table (which also checks its selectorErrors validation) stays in test/controllers/ipam.
import { describe, expect, it, test } from 'vitest';
import { matchesSelector } from '../../../lib/api/selector.ts';
import type { LabelSelector } from '../../../lib/api/types.ts';

const labels = { env: 'prod', team: 'web' };

describe('matchesSelector: DNS source cases', () => {
  test.each<[string, LabelSelector, Record<string, string> | undefined, boolean]>([
    ['empty selects everything', {}, labels, true],
    ['empty selects unlabelled', {}, undefined, true],
    ['matchLabels equal', { matchLabels: { env: 'prod' } }, labels, true],
    ['matchLabels differ', { matchLabels: { env: 'dev' } }, labels, false],
    ['matchLabels missing', { matchLabels: { zone: 'a' } }, labels, false],
    ['In', { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev', 'prod'] }] }, labels, true],
    ['In, absent key', { matchExpressions: [{ key: 'x', operator: 'In', values: ['a'] }] }, labels, false],
    ['NotIn', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels, false],
    [
      'NotIn, absent key',
      { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] },
      labels,
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels, true],
    ['Exists, absent', { matchExpressions: [{ key: 'x', operator: 'Exists' }] }, labels, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels, true],
    [
      'DoesNotExist, present',
      { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] },
      labels,
      false,
    ],
    [
      'labels and expressions are ANDed',
      { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'team', operator: 'In', values: ['db'] }] },
      labels,
      false,
    ],
    [
      'unknown operator selects nothing',
      { matchExpressions: [{ key: 'env', operator: 'Near' as 'In', values: ['prod'] }] },
      labels,
      false,
    ],
  ])('%s', (_why, sel, l, want) => expect(matchesSelector(sel, l)).toBe(want));
});

const nodeLabels = { zone: 'a', role: 'edge', 'kubernetes.io/hostname': 'n1' };

describe('matchesSelector: speaker election cases', () => {
  it.each([
    [{}, true],
    [{ matchLabels: { zone: 'a' } }, true],
    [{ matchLabels: { zone: 'b' } }, false],
    [{ matchLabels: { zone: 'a', role: 'edge' } }, true],
    [{ matchLabels: { missing: '' } }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, false],
    [{ matchExpressions: [{ key: 'nope', operator: 'In', values: ['a'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, false],
    [{ matchExpressions: [{ key: 'nope', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'role', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'nope', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'nope', operator: 'DoesNotExist' }] }, true],
    [{ matchExpressions: [{ key: 'role', operator: 'DoesNotExist' }] }, false],
    [{ matchExpressions: [{ key: 'role', operator: 'Gt', values: ['1'] }] }, false],
    [
      { matchLabels: { zone: 'a' }, matchExpressions: [{ key: 'role', operator: 'In', values: ['core'] }] },
      false,
    ],
  ])('%j → %s', (selector, want) => {
    expect(matchesSelector(selector, nodeLabels)).toBe(want);
  });

  it('no labels: only selectors without positive terms match', () => {
    expect(matchesSelector({}, undefined)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] })).toBe(true);
    expect(matchesSelector({ matchLabels: { x: 'y' } })).toBe(false);
  });
});

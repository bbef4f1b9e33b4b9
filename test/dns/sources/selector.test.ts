import { describe, expect, test } from 'vitest';
import { selectorMatches } from '../../../dns/sources/selector.ts';
import type { LabelSelector } from '../../../lib/api/types.ts';

const labels = { env: 'prod', team: 'web' };

describe('selectorMatches', () => {
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
  ])('%s', (_why, sel, l, want) => expect(selectorMatches(sel, l)).toBe(want));
});

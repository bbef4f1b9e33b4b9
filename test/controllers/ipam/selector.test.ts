import { describe, expect, it } from 'vitest';
import { type LabelSelector, selectorErrors } from '../../../controllers/ipam/selector.ts';
import { matchesSelector } from '../../../lib/api/selector.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'edge', env: '' };
  const cases: Array<[string, LabelSelector, boolean]> = [
    ['empty selector matches everything', {}, true],
    ['matchLabels hit', { matchLabels: { app: 'web' } }, true],
    ['matchLabels: all must hold', { matchLabels: { app: 'web', tier: 'core' } }, false],
    ['matchLabels: empty value is a value', { matchLabels: { env: '' } }, true],
    ['matchLabels: missing key', { matchLabels: { zone: 'a' } }, false],
    ['In hit', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['core', 'edge'] }] }, true],
    ['In miss', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['core'] }] }, false],
    ['In on a missing key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn hit', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['core'] }] }, true],
    ['NotIn miss', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['edge'] }] }, false],
    [
      'NotIn on a missing key matches',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'env', operator: 'Exists' }] }, true],
    ['Exists on a missing key', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [
      'DoesNotExist on a present key',
      { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      false,
    ],
    [
      'labels and expressions are ANDed',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['core'] }] },
      false,
    ],
    [
      'inherited properties are not labels',
      { matchExpressions: [{ key: 'toString', operator: 'Exists' }] },
      false,
    ],
  ];
  it.each(cases)('%s', (_, sel, expected) => {
    expect(selectorErrors(sel, 'sel')).toEqual([]);
    expect(matchesSelector(sel, labels)).toBe(expected);
  });

  it('undefined labels behave as no labels', () => {
    expect(matchesSelector({}, undefined)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, undefined)).toBe(
      true,
    );
    expect(matchesSelector({ matchLabels: { a: 'b' } }, undefined)).toBe(false);
  });

  it('reports malformed selectors with their path', () => {
    expect(selectorErrors(undefined, 'x')).toEqual([]);
    expect(
      selectorErrors(
        {
          matchLabels: { a: 1 as unknown as string },
          matchExpressions: [
            { key: 'a', operator: 'In' },
            { key: 'b', operator: 'Exists', values: ['x'] },
            { key: '', operator: 'Exists' },
            { key: 'c', operator: 'Near' },
          ],
        },
        'spec.sel',
      ),
    ).toEqual([
      'spec.sel.matchLabels["a"]: must be a string',
      'spec.sel.matchExpressions[0]: operator In needs at least one value',
      'spec.sel.matchExpressions[1]: operator Exists takes no values',
      'spec.sel.matchExpressions[2]: key is required',
      'spec.sel.matchExpressions[3]: unknown operator "Near" (In, NotIn, Exists, DoesNotExist)',
    ]);
    expect(selectorErrors({ matchExpressions: 'x' as unknown as [] }, 's')).toEqual([
      's.matchExpressions: must be a list',
    ]);
  });
});

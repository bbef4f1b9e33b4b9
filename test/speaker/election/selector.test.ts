import { describe, expect, it } from 'vitest';
import { matchesSelector } from '../../../speaker/election/selector.ts';

const labels = { zone: 'a', role: 'edge', 'kubernetes.io/hostname': 'n1' };

describe('label selectors', () => {
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
    expect(matchesSelector(selector, labels)).toBe(want);
  });

  it('no labels: only selectors without positive terms match', () => {
    expect(matchesSelector({}, undefined)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] })).toBe(true);
    expect(matchesSelector({ matchLabels: { x: 'y' } })).toBe(false);
  });
});

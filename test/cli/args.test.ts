import { describe, expect, test } from 'vitest';
import { type Command, parseCommandLine } from '../../cli/args.ts';
import { age, renderTable } from '../../cli/format.ts';

const defaults = { output: 'table', classes: { lbClass: 'portico.dev/lb', handleUnclassed: true } };

describe('parseCommandLine', () => {
  const ok: Array<[string, string[], Command]> = [
    ['status', ['status'], { kind: 'status', options: defaults } as Command],
    [
      'flags before and after the command',
      ['--kubeconfig', '/k', 'status', '-o', 'json', '--context=c'],
      { kind: 'status', options: { ...defaults, output: 'json', kubeconfig: '/k', context: 'c' } } as Command,
    ],
    [
      'status -n',
      ['status', '-n', 'team', '-o', 'yaml'],
      { kind: 'status', options: { ...defaults, output: 'yaml', namespace: 'team' } } as Command,
    ],
    ['why NAME', ['why', 'web'], { kind: 'why', options: defaults, name: 'web' } as Command],
    [
      'why NAME -n NS',
      ['why', 'web', '-n', 'team'],
      { kind: 'why', options: { ...defaults, namespace: 'team' }, namespace: 'team', name: 'web' } as Command,
    ],
    [
      'why NS/NAME',
      ['why', 'team/web'],
      { kind: 'why', options: defaults, namespace: 'team', name: 'web' } as Command,
    ],
    ['why svc/NAME', ['why', 'svc/web'], { kind: 'why', options: defaults, name: 'web' } as Command],
    [
      'why service/NS/NAME with a matching -n',
      ['-n', 'team', 'why', 'service/team/web'],
      { kind: 'why', options: { ...defaults, namespace: 'team' }, namespace: 'team', name: 'web' } as Command,
    ],
    [
      'class flags',
      ['status', '--lb-class', 'example.com/lb', '--handle-unclassed=false'],
      {
        kind: 'status',
        options: { output: 'table', classes: { lbClass: 'example.com/lb', handleUnclassed: false } },
      } as Command,
    ],
    ['--help anywhere', ['why', 'web', '--help'], { kind: 'help' }],
    ['-h', ['-h'], { kind: 'help' }],
    ['help', ['help'], { kind: 'help' }],
    [
      'migrate: everything after it is its own, --kubeconfig before it travels',
      ['--kubeconfig', '/k', 'migrate', 'metallb', '-o', 'yaml', '--help', '--whatever'],
      {
        kind: 'migrate',
        options: { ...defaults, kubeconfig: '/k' },
        args: ['metallb', '-o', 'yaml', '--help', '--whatever'],
      } as Command,
    ],
    ['migrate alone', ['migrate'], { kind: 'migrate', options: defaults, args: [] } as Command],
  ];
  test.each(ok)('%s', (_n, argv, want) => {
    expect(parseCommandLine(argv)).toEqual(want);
  });

  const bad: Array<[string[], RegExp]> = [
    [[], /no command given/],
    [['stat'], /unknown command "stat"/],
    [['status', 'extra'], /status takes no arguments/],
    [['why'], /exactly one SERVICE \(got none\)/],
    [['why', 'a', 'b'], /exactly one SERVICE \(got a b\)/],
    [['why', 'a/b/c'], /use NAME or NAMESPACE\/NAME/],
    [['why', 'Web'], /"Web" is not a valid Service name/],
    [['why', 'bad_ns/web'], /"bad_ns" is not a valid namespace name/],
    [['why', 'team/web', '-n', 'prod'], /names namespace team but -n says prod/],
    [['status', '-o', 'wide'], /-o wide: unknown output format; use table, json, yaml/],
    [['status', '--handle-unclassed', 'maybe'], /'maybe' is not true or false/],
    [['status', '-n', 'Not_A_Namespace'], /not a valid namespace name/],
    [['status', '--bogus'], /Unknown option '--bogus'/],
    [['status', '--kubeconfig'], /argument missing/],
    [['status', '--kubeconfig='], /--kubeconfig needs a value/],
    [['-o', 'json', 'migrate', 'metallb'], /put --output after "migrate \.\.\."/],
  ];
  test.each(bad)('usage error: %j', (argv, want) => {
    const c = parseCommandLine(argv);
    expect(c.kind).toBe('usage');
    expect(c.kind === 'usage' ? c.error : '').toMatch(want);
  });
});

describe('renderTable', () => {
  test('pads to the widest cell, dashes for empty cells, no trailing spaces', () => {
    expect(
      renderTable(
        ['A', 'LONGER', 'C'],
        [
          ['x', '', 'last'],
          ['wide-cell', 'y', ''],
        ],
      ),
    ).toBe('A           LONGER   C\nx           -        last\nwide-cell   y        -\n');
  });
  test('headers only', () => {
    expect(renderTable(['A', 'B'], [])).toBe('A   B\n');
  });
});

describe('age', () => {
  const now = Date.parse('2026-01-10T00:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000).toISOString();
  test.each([
    [0, '0s'],
    [119, '119s'],
    [120, '2m'],
    [3599, '59m'],
    [3600, '1h'],
    [3660 + 600, '1h11m'],
    [8 * 3600 + 60, '8h'],
    [24 * 3600, '1d'],
    [26 * 3600, '1d2h'],
    [9 * 86400 + 3600, '9d'],
    [-50, '0s'],
  ])('%i s ago → %s', (s, want) => {
    expect(age(ago(s), now)).toBe(want);
  });
  test('missing or garbage', () => {
    expect(age(undefined, now)).toBeUndefined();
    expect(age('yesterday', now)).toBeUndefined();
  });
});

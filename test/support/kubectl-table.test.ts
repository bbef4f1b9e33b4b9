import { describe, expect, it } from 'vitest';
import { parseTables } from './kubectl-table.ts';

describe('parseTables', () => {
  it('reads kubectl tabwriter output: multi-word headers, blank cells, one table per type', () => {
    const out = [
      'NAME   ASSIGNED V4   POOLS     AGE',
      'a      1                       5s',
      'bb     12            ["x"]     10s',
      '',
      'NAME   ZONE',
      'z      k8s.home.arpa',
      '',
    ].join('\n');
    expect(parseTables(out)).toEqual([
      {
        headers: ['NAME', 'ASSIGNED V4', 'POOLS', 'AGE'],
        rows: [
          { NAME: 'a', 'ASSIGNED V4': '1', POOLS: '', AGE: '5s' },
          { NAME: 'bb', 'ASSIGNED V4': '12', POOLS: '["x"]', AGE: '10s' },
        ],
      },
      { headers: ['NAME', 'ZONE'], rows: [{ NAME: 'z', ZONE: 'k8s.home.arpa' }] },
    ]);
  });

  it('a last column wider than its header and an empty output', () => {
    expect(parseTables('NAME   NODES\nx      {"matchLabels":{"a":"b"}}\n')).toEqual([
      { headers: ['NAME', 'NODES'], rows: [{ NAME: 'x', NODES: '{"matchLabels":{"a":"b"}}' }] },
    ]);
    expect(parseTables('')).toEqual([]);
  });
});

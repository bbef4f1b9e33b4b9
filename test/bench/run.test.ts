import { describe, expect, it } from 'vitest';
import { formatJsonLines, formatTable } from './run.ts';

describe('bench runner output', () => {
  const rows = [{ bench: 'x', qps: 12345, ratio: 0.8123, ok: true }];

  it('prints one JSON object per line that parses back to the rows', () => {
    const out = formatJsonLines([...rows, { bench: 'x', qps: 1 }]);
    expect(out.split('\n').map((l) => JSON.parse(l))).toEqual([...rows, { bench: 'x', qps: 1 }]);
  });

  it('prints a human table with one line per key', () => {
    const out = formatTable(rows).split('\n');
    expect(out).toHaveLength(4);
    expect(out[1]).toMatch(/^qps\s+12,345$/);
    expect(out[2]).toMatch(/^ratio\s+0\.812$/);
  });
});

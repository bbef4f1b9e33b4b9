import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { YOUNG_GENERATION_FLAG, youngGenerationFlag } from '../../../lib/observe/young-generation.ts';

describe('youngGenerationFlag', () => {
  test('set when nobody sized the young generation; left alone when the user did', () => {
    expect(youngGenerationFlag([], undefined)).toBe(YOUNG_GENERATION_FLAG);
    expect(youngGenerationFlag(['--enable-source-maps'], '--max-old-space-size=200')).toBe(
      YOUNG_GENERATION_FLAG,
    );
    expect(youngGenerationFlag([], '--max-semi-space-size=2')).toBeNull(); // the chart
    expect(youngGenerationFlag(['--max-semi-space-size=16'], '')).toBeNull();
    expect(youngGenerationFlag(['--min_semi_space_size=4'], undefined)).toBeNull();
    expect(youngGenerationFlag(['--semi-space-growth-factor=2'], undefined)).toBeNull();
    expect(youngGenerationFlag([], '--inspect --max-semi-space-size=8')).toBeNull();
  });
});

// The cap relies on V8 reading --semi-space-growth-factor whenever it considers growing the young
// generation (not a documented API). A real Node process checks it still holds: the same survival-
// heavy work grows the young generation several-fold without the cap and not at all with it.
const module = fileURLToPath(new URL('../../../lib/observe/young-generation.ts', import.meta.url));
const script = `
import { getHeapSpaceStatistics } from 'node:v8';
const { capYoungGeneration } = await import(${JSON.stringify(module)});
const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const before = young();
const flag = capYoungGeneration();
const keep = [];
for (let i = 0; i < 400000; i++) {
  keep.push({ a: 'x' + i, b: [i, i + 1], c: { d: i } });
  if (keep.length > 100000) keep.splice(0, 50000);
}
console.log(JSON.stringify({ flag, before, after: young() }));
`;

function run(nodeArgs: string[]): { flag: string | null; before: number; after: number } {
  const out = execFileSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], {
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('capYoungGeneration in a real Node process', () => {
  test('keeps the young generation at its size; without it the same work grows it', () => {
    const capped = run([]);
    const MiB = 1024 * 1024;
    expect(capped.flag).toBe(YOUNG_GENERATION_FLAG);
    // new_space reports both semi-spaces once both are committed: 2 × 1 MiB here, at most what the
    // chart's --max-semi-space-size=2 allows (2 × 2 MiB).
    expect(capped.after).toBeLessThanOrEqual(4 * MiB);
    // The user's own flag turns the cap off: V8's default growth (factor 2) applies again.
    const grown = run(['--semi-space-growth-factor=2']);
    expect(grown.flag).toBeNull();
    expect(grown.after).toBeGreaterThanOrEqual(4 * capped.after);
  });
});

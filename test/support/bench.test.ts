import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { median, runEnvironment, summarizeRounds, v8FlagsOf } from './bench.ts';

describe('v8FlagsOf', () => {
  test('options before the script and NODE_OPTIONS; none means Node defaults', () => {
    expect(v8FlagsOf(['node', 'main.js', '--kubeconfig', 'x'], undefined)).toBe('none (Node defaults)');
    expect(v8FlagsOf(['node', 'main.js'], '  ')).toBe('none (Node defaults)');
    expect(v8FlagsOf(['node', '--max-semi-space-size=2', 'main.js', '--log-level=warn'], '')).toBe(
      '--max-semi-space-size=2',
    );
    expect(v8FlagsOf(['node', '--a=1', 'm.js'], '--b=2  --c')).toBe('--a=1 --b=2 --c');
  });
});

describe('summarizeRounds / median', () => {
  test('spread keys get min/median/max; agreed values pass; differing numbers show the worst', () => {
    const r = summarizeRounds(
      [
        { bench: 'c', rss_mb: 110, restart_changes: 0, entry: 'a' },
        { bench: 'c', rss_mb: 104, restart_changes: 2, entry: 'a' },
        { bench: 'c', rss_mb: 107.5, restart_changes: 0, entry: 'b' },
      ],
      ['rss_mb'],
    );
    expect(r).toEqual({
      bench: 'c',
      rss_mb_min: 104,
      rss_mb_median: 107.5,
      rss_mb_max: 110,
      restart_changes: 2,
      entry: 'a | b',
      rounds: 3,
    });
    expect(() => summarizeRounds([], ['x'])).toThrow(/no rounds/);
  });
  test('median of odd and even counts', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('runEnvironment', () => {
  test("reads another process's flags, NODE_OPTIONS and CPU affinity from /proc", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-bench-env-'));
    const script = join(dir, 'idle.js');
    writeFileSync(script, 'setTimeout(() => {}, 10000);\n');
    const child = spawn(process.execPath, ['--max-semi-space-size=3', script, '--not-a-flag'], {
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=200' },
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const env = runEnvironment(child.pid);
      expect(env.v8_flags).toBe('--max-semi-space-size=3 --max-old-space-size=200');
      expect(env.node_version).toBe(process.version);
      expect(String(env.cpu_affinity)).toMatch(/^[\d,-]+ of \d+$/);
      expect(typeof env.loadavg_1m).toBe('number');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

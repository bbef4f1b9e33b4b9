// Bench runner: `npm run bench -- <name> [--json] [bench-specific args]`.
//
// A bench is a module test/bench/<name>.ts whose default export is
//   (args: string[]) => Promise<BenchRow[]>
// Each row is one flat record of measured values; it must carry `bench: <name>`. The runner prints
// a human table (one column per key) or, with --json, one JSON object per line — the format the
// issue notes and CI logs quote. Benches measure; they do not assert (that is what tests are for).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runIfEntrypoint } from '../../lib/observe/entrypoint.ts';

export type BenchValue = string | number | boolean | null;
export type BenchRow = Record<string, BenchValue>;
export type Bench = (args: string[]) => Promise<BenchRow[]>;

const here = dirname(fileURLToPath(import.meta.url));

export function availableBenches(dir = here): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function formatValue(v: BenchValue): string {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
  }
  return String(v);
}

export function formatTable(rows: BenchRow[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lines = keys.map((k) => [k, ...rows.map((r) => (k in r ? formatValue(r[k] ?? null) : ''))]);
  const widths = rows.map((_, i) => Math.max(...lines.map((l) => (l[i + 1] ?? '').length)));
  const keyWidth = Math.max(...keys.map((k) => k.length));
  return lines
    .map(
      ([k, ...vals]) =>
        `${(k ?? '').padEnd(keyWidth)}  ${vals.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ')}`,
    )
    .join('\n');
}

export function formatJsonLines(rows: BenchRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const name = rest[0];
  const names = availableBenches();
  if (!name || !/^[a-z0-9-]+$/.test(name) || !existsSync(join(here, `${name}.ts`))) {
    console.error(`usage: npm run bench -- <name> [--json]\navailable: ${names.join(', ') || '(none)'}`);
    return 2;
  }
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { default: Bench };
  const rows = await mod.default(rest.slice(1));
  for (const r of rows)
    if (r.bench !== name) throw new Error(`bench ${name} returned a row without bench: '${name}'`);
  console.log(json ? formatJsonLines(rows) : formatTable(rows));
  return 0;
}

runIfEntrypoint(import.meta.url, main);

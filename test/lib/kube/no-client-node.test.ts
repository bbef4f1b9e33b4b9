import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

// Importing @kubernetes/client-node at runtime costs ~90 MB of RSS per process (undici + the
// generated API): the speaker's whole memory budget. lib/kube may only use its types.
const dir = join(import.meta.dirname, '../../../lib/kube');

/** Every import/export-from/dynamic import of client-node that is not type-only. */
function runtimeClientNodeImports(source: string): string[] {
  const found: string[] = [];
  const stmt = /(?:^|[;\n])\s*(import|export)\s+([^;]*?)\s+from\s+['"]@kubernetes\/client-node[^'"]*['"]/g;
  for (const m of source.matchAll(stmt)) {
    const clause = (m[2] ?? '').trim();
    if (clause.startsWith('type ') || clause.startsWith('type{')) continue;
    found.push(m[0].trim());
  }
  for (const m of source.matchAll(/(?:^|[;\n])\s*import\s+['"]@kubernetes\/client-node[^'"]*['"]/g))
    found.push(m[0].trim());
  for (const m of source.matchAll(/(?:import|require)\s*\(\s*['"]@kubernetes\/client-node[^'"]*['"]\s*\)/g)) {
    found.push(m[0].trim());
  }
  return found;
}

describe('lib/kube never loads @kubernetes/client-node at runtime', () => {
  test('the detector itself', () => {
    expect(runtimeClientNodeImports("import { KubeConfig } from '@kubernetes/client-node';")).toHaveLength(1);
    expect(runtimeClientNodeImports("import { type A, B } from '@kubernetes/client-node';")).toHaveLength(1);
    expect(runtimeClientNodeImports("export { X } from '@kubernetes/client-node/dist/x.js';")).toHaveLength(
      1,
    );
    expect(runtimeClientNodeImports("import '@kubernetes/client-node';")).toHaveLength(1);
    expect(runtimeClientNodeImports("const m = await import('@kubernetes/client-node');")).toHaveLength(1);
    expect(runtimeClientNodeImports("import type { A, B } from '@kubernetes/client-node';")).toHaveLength(0);
    expect(runtimeClientNodeImports("import {\n  x,\n} from './x.ts';")).toHaveLength(0);
  });

  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  test('lib/kube has sources to check', () => expect(files.length).toBeGreaterThan(5));
  test.each(files)('%s', (f) => {
    expect(runtimeClientNodeImports(readFileSync(join(dir, f), 'utf8'))).toEqual([]);
  });
});

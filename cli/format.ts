// Output formats shared by every subcommand. Pure: strings in, strings out.
//
// `-o json` and `-o yaml` print the report object itself (stable field names, machine-readable,
// times as RFC 3339); the table form is for people and may change between versions.
import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(s: string): s is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(s);
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function toYaml(value: unknown): string {
  // lineWidth 0: never fold long condition messages across lines (grep-friendly).
  return stringify(value, { lineWidth: 0 });
}

/**
 * A kubectl-style table: upper-case headers, columns padded to the widest cell, three spaces
 * between columns, no trailing spaces. Empty cells print as `-` (kubectl prints `<none>`; a dash
 * keeps columns narrow and still shows the cell is empty rather than misaligned).
 */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = rows.map((r) => headers.map((_, i) => (r[i] === undefined || r[i] === '' ? '-' : r[i]!)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/**
 * Human age like kubectl's: 45s, 12m, 3h10m, 5d. `from` later than `now` (clock skew) reads 0s.
 * undefined when the time is missing or unparsable.
 */
export function age(from: string | undefined, now: number): string | undefined {
  if (!from) return undefined;
  const t = Date.parse(from);
  if (!Number.isFinite(t)) return undefined;
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 || h >= 8 ? `${h}h` : `${h}h${m % 60}m`;
  const d = Math.floor(h / 24);
  return d < 8 && h % 24 !== 0 ? `${d}d${h % 24}h` : `${d}d`;
}

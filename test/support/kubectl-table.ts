/** One table of `kubectl get` output: upper-case headers and each row keyed by its header. */
export interface Table {
  headers: string[];
  rows: Array<Record<string, string>>;
}

/**
 * Parses human-readable `kubectl get` output. kubectl aligns columns with a tabwriter (padding 3),
 * so every cell starts where its header starts; headers may hold single spaces ("ASSIGNED V4"),
 * never two. Absent values are blank cells (""). Several resource types print one table each,
 * separated by a blank line.
 */
export function parseTables(out: string): Table[] {
  const tables: Table[] = [];
  for (const block of out.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const header = lines.shift();
    if (header === undefined) continue;
    const cols = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], start: m.index }));
    const rows = lines.map((line) => {
      const row: Record<string, string> = {};
      cols.forEach((c, i) => {
        const end = i + 1 < cols.length ? cols[i + 1]!.start : undefined;
        row[c.name] = line.slice(c.start, end).trim();
      });
      return row;
    });
    tables.push({ headers: cols.map((c) => c.name), rows });
  }
  return tables;
}

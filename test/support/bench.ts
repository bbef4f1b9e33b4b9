// Small helpers the benches under test/bench share (kept out of test/bench/, where every file is a
// bench the runner lists).

/** `--name N` from a bench's arguments: a whole number 0..10000, else `dflt`. */
export function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0 || v > 10_000) throw new Error(`--${name}: a whole number 0..10000`);
  return v;
}

/** Nearest-rank percentile (p in 0..100); null for no samples. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

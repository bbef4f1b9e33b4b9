// The size of V8's young generation, chosen by the process itself. See
// docs/decisions/092-young-generation-in-process.md for the measurements behind it.
//
// With Node's defaults V8 doubles the semi-spaces of the young generation whenever enough objects
// survive a scavenge, up to 32 MB each on a 64-bit machine with a few GB of RAM, and once a burst of
// work (2,000 Services arriving at once) has grown them, the pages stay resident: 64 of the
// controller's 163 MB peak, twice its whole live heap (~30 MB). The chart passes
// `--max-semi-space-size=2`, but `node controllers/main.ts` runs with the defaults.
//
// `--max-semi-space-size` only counts when the heap is set up, before any JavaScript runs; set
// later it does nothing. `--semi-space-growth-factor` is read each time V8 considers growing the
// young generation, so setting it to 1 from JavaScript keeps the semi-spaces at the size they have
// at that moment: 1 MB when set from the first module Node evaluates of the compiled build, 2-4 MB
// when Node has stripped the types of the TypeScript sources first. This relies on how V8 reads
// that flag, not on a documented API, so test/lib/observe/young-generation.test.ts checks in a
// child process that it still holds, and the controller bench reports the young generation size.

import { setFlagsFromString } from 'node:v8';

/** What the process sets for itself when nobody chose a young generation size. */
export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1';

/** Options that size the young generation: any of them given by the user wins over ours. */
const SIZING_OPTIONS = /(^|\s)--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor)\b/;

/**
 * The flag to set, or null when the user sized the young generation themselves (on the command
 * line or in NODE_OPTIONS, e.g. the chart's `--max-semi-space-size=2`). Pure.
 */
export function youngGenerationFlag(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | null {
  const given = [...execArgv, nodeOptions ?? ''].map((a) => a.replaceAll('_', '-')).join(' ');
  return SIZING_OPTIONS.test(given) ? null : YOUNG_GENERATION_FLAG;
}

/**
 * Stop the young generation from growing past its current size unless the user sized it; returns
 * the flag set, or null. Call it from the first module of an entry point, before the process does
 * any work.
 */
export function capYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): string | null {
  const flag = youngGenerationFlag(execArgv, nodeOptions);
  if (flag !== null) setFlagsFromString(flag);
  return flag;
}

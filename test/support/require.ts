import { execFileSync } from 'node:child_process';

/**
 * Honest skips. Locally a test whose prerequisite is missing (no root, no binary) is skipped with
 * the reason; under CI=true the same condition is a failure, so a green CI never hides a test
 * that did not run.
 *
 * Usage (top of a test file):
 *   const missing = missingPrereqs({ root: true, binaries: ['dig'] });
 *   describe.skipIf(missing !== undefined && !strictPrereqs())('…', …)
 *   — or simply call `requirePrereqs(…)` inside beforeAll, which throws under CI.
 */
export function strictPrereqs(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

export interface Prereqs {
  root?: boolean;
  binaries?: string[];
}

export function hasBinary(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${JSON.stringify(name)}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns a reason string when something is missing, else undefined. */
export function missingPrereqs(p: Prereqs): string | undefined {
  const missing: string[] = [];
  if (p.root && process.getuid?.() !== 0) missing.push('root');
  for (const b of p.binaries ?? []) if (!hasBinary(b)) missing.push(`binary ${b}`);
  return missing.length ? `missing: ${missing.join(', ')}` : undefined;
}

/**
 * For `describe.skipIf(skipUnless(...))`: true (skip) only when something is missing and we are
 * not in CI; under CI it throws so the file fails loudly instead of counting as passed.
 */
export function skipUnless(p: Prereqs): boolean {
  const reason = missingPrereqs(p);
  if (reason === undefined) return false;
  if (strictPrereqs()) throw new Error(`CI=true and a test prerequisite is ${reason}`);
  console.warn(`skipping: ${reason}`);
  return true;
}

import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The chart rendered by a real `helm template` (the Kubernetes version our envtest runs). */
export const chartDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'portico');

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are arbitrary JSON, read by path.
type Manifest = Record<string, any>;

export function helmTemplate(args: string[] = []): Manifest[] {
  const out = execFileSync(
    'helm',
    ['template', 'portico', chartDir, '--namespace', 'portico-system', '--kube-version', '1.34.4', ...args],
    {
      encoding: 'utf8',
    },
  );
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

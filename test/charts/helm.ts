import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The chart rendered by a real `helm template` (the Kubernetes version our envtest runs). */
export const chartDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'portico');

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are arbitrary JSON, read by path.
type Manifest = Record<string, any>;

const TEMPLATE = ['template', 'portico', '--namespace', 'portico-system', '--kube-version', '1.34.4'];

export function helmTemplate(args: string[] = [], chart: string = chartDir): Manifest[] {
  const [cmd, release, ...rest] = TEMPLATE;
  const out = execFileSync('helm', [cmd!, release!, chart, ...rest, ...args], {
    encoding: 'utf8',
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

/** `helm template` that is expected to fail: its exit status and stderr. */
export function helmTemplateFailure(args: string[]): { status: number | null; stderr: string } {
  const [cmd, release, ...rest] = TEMPLATE;
  const r = spawnSync('helm', [cmd!, release!, chartDir, ...rest, ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/**
 * templates/NOTES.txt as `helm install` would print it. `helm template` never renders NOTES, so a
 * throw-away copy of the chart wraps the same text in a named template and emits it as a YAML
 * document.
 */
export function helmNotes(args: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'portico-notes-'));
  try {
    const copy = join(dir, 'portico');
    cpSync(chartDir, copy, { recursive: true });
    const notes = readFileSync(join(copy, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(copy, 'templates', 'NOTES.txt'));
    writeFileSync(
      join(copy, 'templates', '_notes_under_test.tpl'),
      `{{- define "notesUnderTest" -}}\n${notes}{{- end -}}\n`,
    );
    writeFileSync(
      join(copy, 'templates', 'notes-under-test.yaml'),
      'kind: NotesUnderTest\ntext: {{ include "notesUnderTest" . | toJson }}\n',
    );
    const [cmd, release, ...rest] = TEMPLATE;
    const out = execFileSync(
      'helm',
      [cmd!, release!, copy, ...rest, '--show-only', 'templates/notes-under-test.yaml', ...args],
      { encoding: 'utf8' },
    );
    return (parse(out) as { text: string }).text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

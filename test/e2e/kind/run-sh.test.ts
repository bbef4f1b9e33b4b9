// Static checks of the kind script for users (test/e2e/kind/run.sh) and of the offline image
// builder it runs on in CI (test/cluster/). The script itself runs for real in .ci/run, after
// `npm test` (it needs Docker and about ten minutes); these checks catch in seconds what would
// break it for users.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../support/require.ts';

const SCRIPT = join(import.meta.dirname, 'run.sh');
const CLUSTER = join(import.meta.dirname, '..', '..', 'cluster');
const HELPERS = [
  join(CLUSTER, 'build.sh'),
  join(CLUSTER, 'docker.sh'),
  join(CLUSTER, 'images', 'podnet', 'podnet.sh'),
];

function run(cmd: string, args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe.skipIf(skipUnless({ binaries: ['shellcheck', 'bash'] }))('test/e2e/kind/run.sh', () => {
  it('passes shellcheck (all severities)', () => {
    const r = run('shellcheck', ['--shell=bash', '--severity=style', SCRIPT]);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it('the offline cluster builder, the Docker starter and the pod network pass shellcheck', () => {
    const r = run('shellcheck', ['--severity=style', ...HELPERS]);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
    for (const f of HELPERS) expect(statSync(f).mode & 0o111, f).not.toBe(0);
  });

  it('parses with bash -n and is executable', () => {
    expect(run('bash', ['-n', SCRIPT]).code).toBe(0);
    expect(statSync(SCRIPT).mode & 0o111).not.toBe(0);
  });

  it('refuses to run without its tools instead of half-running', () => {
    // An empty PATH: the first check (kind) must fail with a clear message and a non-zero status.
    const r = (() => {
      try {
        execFileSync('/bin/bash', [SCRIPT], {
          encoding: 'utf8',
          env: { PATH: '/nonexistent' },
          stdio: 'pipe',
        });
        return { code: 0, out: '' };
      } catch (err) {
        const e = err as { status?: number; stderr?: string };
        return { code: e.status ?? -1, out: e.stderr ?? '' };
      }
    })();
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/kind is required|No such file|not found/);
  });
});

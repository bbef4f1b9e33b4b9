// speaker/main.ts refuses to start, with a message saying what to do, before touching the API:
// bad flags (exit 2), a missing or broken raw-socket addon, a missing, unreadable or short key
// (exit 1). Each case runs the real entry point as a child process.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD_COMMAND } from '../../../speaker/native/index.ts';

const MAIN = join(import.meta.dirname, '../../../speaker/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'portico-speaker-main-'));
const goodKey = join(dir, 'key');
writeFileSync(goodKey, 'a heartbeat key that is long enough\n');
const shortKey = join(dir, 'short');
writeFileSync(shortKey, 'short\n');
const emptyKey = join(dir, 'empty');
writeFileSync(emptyKey, '');
const notAnAddon = join(dir, 'portico_packet.node');
writeFileSync(notAnAddon, 'this is not a shared object');
// An unreachable kubeconfig: if a check were skipped, the process would hang or fail later with
// a different message, and the assertions below would notice.
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', NODE_NAME: 'n1', ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('speaker/main.ts start-up checks', () => {
  it('--help prints the flags and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const f of ['--key-file', '--heartbeat-port', '--lb-class', '--ignore-exclude-label'])
      expect(r.stdout).toContain(f);
  });

  it('bad or missing flags: exit 2 with the reason and the usage', async () => {
    const r = await run(['--kubeconfig', kubeconfig]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--key-file is required');
    expect(r.stderr).toContain('usage: node speaker/main.ts');
    expect((await run(['--key-file', goodKey, '--missed-beats', '0'])).code).toBe(2);
  });

  it.each([
    ['missing', join(dir, 'nope'), /cannot read the heartbeat key file .*ENOENT/],
    ['empty', emptyKey, /is 0 bytes; at least 16 are required/],
    ['short', shortKey, /is 5 bytes; at least 16 are required/],
  ])('a %s key: exit 1 naming the file', async (_what, path, re) => {
    const r = await run(['--kubeconfig', kubeconfig, '--key-file', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toContain('--heartbeat-key-file');
  });

  it('a broken addon: exit 1 with the build command', async () => {
    const r = await run(['--kubeconfig', kubeconfig, '--key-file', goodKey], {
      PORTICO_PACKET_ADDON: notAnAddon,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AF_PACKET addon at .* failed to load/);
    expect(r.stderr).toContain(BUILD_COMMAND);
  });

  it('with addon and key, it goes on to the API (and fails there on this empty kubeconfig)', async () => {
    const r = await run(['--kubeconfig', kubeconfig, '--key-file', goodKey, '--metrics-address=']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('failed to start');
    expect(r.stderr).toBe('');
  });
});

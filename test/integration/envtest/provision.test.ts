import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../envtest/index.ts';
import { cacheKey, provision } from '../../envtest/provision.ts';

/**
 * Provisioning into a fresh cache. KUBEBUILDER_ASSETS points at the binaries the shared setup
 * already has, so these tests exercise the cache, lock and Gateway API download without paying for
 * a Go build (that build runs once per machine in globalSetup / `npm run envtest -- provision`).
 */

const CLI = join(REPO_ROOT, 'test', 'envtest', 'cli.ts');

function runProvision(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'provision'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('provisioning', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function freshCache(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'portico-envtest-cache-'));
    dirs.push(d);
    return d;
  }

  it('two concurrent provisions into one cache: one fetch, same result, nothing half-done left', async () => {
    const assetsDir = dirname((await provision()).etcd);
    const cache = await freshCache();
    const env = { PORTICO_ENVTEST_CACHE: cache, KUBEBUILDER_ASSETS: assetsDir };
    const [a, b] = await Promise.all([runProvision(env), runProvision(env)]);
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const fetches = `${a.err}${b.err}`.match(/copied \d+ standard CRD files/g) ?? [];
    expect(fetches).toHaveLength(1);
    const gw = (o: string) => /^gateway-api:\s+(\S+)$/m.exec(o)?.[1];
    expect(gw(a.out)).toBeDefined();
    expect(gw(a.out)).toBe(gw(b.out));
    expect(a.out).toMatch(/^source:\s+KUBEBUILDER_ASSETS$/m);
    const key = await cacheKey();
    // Only the finished part, no temp folders, no locks; no Go build happened (no bin/).
    expect((await readdir(cache)).sort()).toEqual([key]);
    expect(await readdir(join(cache, key))).toEqual(['gateway-api']);
    const crds = await readdir(join(cache, key, 'gateway-api'));
    expect(crds).toEqual(expect.arrayContaining(['gateway.networking.k8s.io_httproutes.yaml', 'VERSION']));
  });

  it('takes over a lock left by a dead process', async () => {
    const assetsDir = dirname((await provision()).etcd);
    const cache = await freshCache();
    const dead = spawnSync('true').pid; // exited (and reaped) by the time spawnSync returns
    await mkdir(cache, { recursive: true });
    const key = await cacheKey();
    await writeFile(join(cache, `${key}.gateway-api.lock`), String(dead));
    // …and the half-finished temp folder that dead builder left behind.
    await mkdir(join(cache, `.tmp-${key}-gateway-api-deadbeef`, 'partial'), { recursive: true });
    const r = await runProvision({ PORTICO_ENVTEST_CACHE: cache, KUBEBUILDER_ASSETS: assetsDir });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`pid ${dead} is gone`);
    expect((await readdir(cache)).sort()).toEqual([key]);
  });

  it('rejects a KUBEBUILDER_ASSETS folder without the binaries, naming what is missing', async () => {
    const cache = await freshCache();
    const empty = await freshCache();
    const r = await runProvision({ PORTICO_ENVTEST_CACHE: cache, KUBEBUILDER_ASSETS: empty });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(empty, 'etcd')} is missing or not executable`);
  });
});

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTROLPLANE_DIR, cacheKey, cacheRoot, pinnedVersion } from './provision.ts';

describe('cache key', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function copyOfPins(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'portico-pins-'));
    dirs.push(dir);
    await cp(CONTROLPLANE_DIR, dir, { recursive: true });
    return dir;
  }

  it('is stable for the same pins and 16 hex chars', async () => {
    const key = await cacheKey();
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(await cacheKey(await copyOfPins())).toBe(key);
  });

  it.each([
    ['kube-apiserver', 'go.mod'],
    ['kube-apiserver', 'go.sum'],
    ['etcd', 'go.mod'],
    ['etcd', 'go.sum'],
    ['kubectl', 'go.sum'],
    ['gateway-api', 'go.mod'],
    ['gateway-api', 'go.sum'],
  ])('changes when %s/%s changes', async (mod, file) => {
    const dir = await copyOfPins();
    const before = await cacheKey(dir);
    const path = join(dir, mod, file);
    await writeFile(path, `${await readFile(path, 'utf8')}\n// bumped\n`);
    expect(await cacheKey(dir)).not.toBe(before);
  });

  it('ignores files that are not pins', async () => {
    const dir = await copyOfPins();
    const before = await cacheKey(dir);
    await writeFile(join(dir, 'etcd', 'tools.go'), '// edited comment\n');
    expect(await cacheKey(dir)).toBe(before);
  });
});

describe('cache root', () => {
  const saved = process.env.PORTICO_ENVTEST_CACHE;
  afterEach(() => {
    if (saved === undefined) delete process.env.PORTICO_ENVTEST_CACHE;
    else process.env.PORTICO_ENVTEST_CACHE = saved;
  });

  it('defaults to ~/.cache/portico/envtest and honours PORTICO_ENVTEST_CACHE', () => {
    delete process.env.PORTICO_ENVTEST_CACHE;
    expect(cacheRoot()).toMatch(/\/\.cache\/portico\/envtest$/);
    process.env.PORTICO_ENVTEST_CACHE = '/somewhere/else';
    expect(cacheRoot()).toBe('/somewhere/else');
  });
});

describe('pinned versions', () => {
  it('reads the required version of a module from a wrapper go.mod', async () => {
    expect(await pinnedVersion('kube-apiserver', 'k8s.io/kubernetes')).toMatch(/^v1\.\d+\.\d+$/);
    expect(await pinnedVersion('kubectl', 'k8s.io/kubernetes')).toBe(
      await pinnedVersion('kube-apiserver', 'k8s.io/kubernetes'),
    );
    expect(await pinnedVersion('etcd', 'go.etcd.io/etcd/server/v3')).toMatch(/^v3\.\d+\.\d+$/);
    expect(await pinnedVersion('gateway-api', 'sigs.k8s.io/gateway-api')).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('fails clearly for a module that is not required', async () => {
    await expect(pinnedVersion('etcd', 'k8s.io/kubernetes')).rejects.toThrow(
      'no k8s.io/kubernetes require in etcd/go.mod',
    );
  });
});

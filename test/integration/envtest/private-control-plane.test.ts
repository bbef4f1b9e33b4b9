import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { type ControlPlane, REPO_ROOT, startControlPlane } from '../../envtest/index.ts';
import { alive, eventually, processesMentioning, processGroupMembers } from './support.ts';

/**
 * The harness itself, on private control planes (not the shared one): apiserver kill -9 + restart
 * keeps the data, and every way of ending (stop(), Ctrl-C on the CLI, the owning process being
 * SIGKILLed) leaves no process and no temp folder behind.
 */

const planes: ControlPlane[] = [];
afterAll(async () => {
  for (const cp of planes) await cp.stop();
});

describe('private control plane', () => {
  it('survives killApiServer + startApiServer on the same port and etcd with data intact', async () => {
    const cp = await startControlPlane({ installCrds: false });
    planes.push(cp);
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'survivor' }, data: { written: 'before the kill' } },
    });
    const before = cp.pids();
    expect(before.kubeApiserver).toBeDefined();

    await cp.killApiServer();
    expect(cp.pids().kubeApiserver).toBeUndefined();
    expect(alive(before.kubeApiserver ?? 0)).toBe(false);
    expect(cp.pids().etcd).toBe(before.etcd); // etcd untouched
    await expect(core.readNamespacedConfigMap({ namespace: 'default', name: 'survivor' })).rejects.toThrow();

    await cp.startApiServer();
    const after = cp.pids();
    expect(after.kubeApiserver).toBeDefined();
    expect(after.kubeApiserver).not.toBe(before.kubeApiserver);
    // Same server URL and CA: the kubeconfig written at start still works unchanged.
    const fresh = new KubeConfig();
    fresh.loadFromFile(cp.kubeconfigPath);
    expect(fresh.getCurrentCluster()?.server).toBe(cp.server);
    const got = await fresh
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace: 'default', name: 'survivor' });
    expect(got.metadata?.uid).toBe(created.metadata?.uid);
    expect(got.data).toEqual({ written: 'before the kill' });
  });

  it('serviceAccountKubeconfig yields a token identity the apiserver authenticates', async () => {
    let cp = planes.find((p) => p.pids().kubeApiserver !== undefined);
    if (!cp) {
      cp = await startControlPlane({ installCrds: false }); // this test was run on its own
      planes.push(cp);
    }
    const path = await cp.serviceAccountKubeconfig('who', 'me');
    expect(dirname(path)).toBe(cp.dir);
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    // Authenticated but unauthorized: 403 names the SA (a bad token would be 401).
    await expect(kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'who' })).rejects.toMatchObject({
      code: 403,
      body: expect.stringContaining('system:serviceaccount:who:me'),
    });
  });

  it('listens on a given bindAddress with a serving cert valid for it', async () => {
    // 127.0.0.2: a specific address other than the default, still loopback (tests stay on lo).
    const cp = await startControlPlane({ bindAddress: '127.0.0.2', installCrds: false });
    planes.push(cp);
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.2:\d+$/);
    const kc = cp.kubeConfig();
    expect(kc.getCurrentCluster()?.skipTLSVerify).toBeFalsy();
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'default' });
    expect(ns.metadata?.name).toBe('default');
    await cp.stop();
  });

  it('stop() leaves no process and no temp dir behind', async () => {
    const cp = await startControlPlane({ installCrds: false });
    const { etcd, kubeApiserver } = cp.pids();
    expect(etcd).toBeDefined();
    expect(kubeApiserver).toBeDefined();
    expect(processesMentioning(cp.dir).length).toBeGreaterThanOrEqual(3); // etcd, apiserver, reaper
    await cp.stop();
    expect(existsSync(cp.dir)).toBe(false);
    for (const pid of [etcd ?? 0, kubeApiserver ?? 0]) {
      expect(alive(pid)).toBe(false);
      expect(processGroupMembers(pid)).toEqual([]);
    }
    expect(await eventually(() => processesMentioning(cp.dir).length === 0, 5000)).toBe(true);
    await cp.stop(); // idempotent
  });
});

/** Spawn a node process; resolve with its first stdout line matching `re`. */
function spawnAndWait(args: string[], re: RegExp) {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const match = new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) resolve(m);
    });
    void exited.then((code) => reject(new Error(`exited ${code} before printing ${re}:\n${out}\n${err}`)));
  });
  return { child, match, exited };
}

describe('teardown when the owner goes away', () => {
  it('npm run envtest -- start: prints KUBECONFIG, serves, and Ctrl-C cleans up', async () => {
    const cli = join(REPO_ROOT, 'test', 'envtest', 'cli.ts');
    const { child, match, exited } = spawnAndWait([cli, 'start', '--no-crds'], /^export KUBECONFIG=(\S+)$/m);
    const kubeconfig = (await match)[1] ?? '';
    const dir = dirname(kubeconfig);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'default' });
    expect(ns.status?.phase).toBe('Active');
    expect(processesMentioning(dir).length).toBeGreaterThanOrEqual(3);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(await eventually(() => processesMentioning(dir).length === 0, 5000)).toBe(true);
  });

  it('a SIGKILLed owner is cleaned up by the reaper', async () => {
    const index = join(REPO_ROOT, 'test', 'envtest', 'index.ts');
    const script = [
      `const { startControlPlane } = await import(${JSON.stringify(index)});`,
      'const cp = await startControlPlane({ installCrds: false });',
      "console.log('dir=' + cp.dir);",
      'setInterval(() => {}, 1 << 30);',
    ].join('\n');
    const { child, match, exited } = spawnAndWait(['--input-type=module', '-e', script], /^dir=(\S+)$/m);
    const dir = (await match)[1] ?? '';
    expect(processesMentioning(dir).length).toBeGreaterThanOrEqual(3);

    child.kill('SIGKILL'); // no exit hooks run: only the reaper can clean up now
    await exited;
    expect(await eventually(() => processesMentioning(dir).length === 0, 10_000)).toBe(true);
    expect(await eventually(() => !existsSync(dir), 5000)).toBe(true);
  });
});

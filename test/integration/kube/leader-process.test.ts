import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { KubeClient } from '../../../lib/kube/client.ts';
import { sharedKubeConfig, sharedKubeconfigPath } from '../../envtest/shared.ts';
import { freshNamespace, until } from './support.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'elector.ts');
const LEASE_MS = 4_000;
const RENEW_MS = 3_000;
const RETRY_MS = 400;

interface Replica {
  proc: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

const procs: Replica[] = [];
afterEach(() => {
  for (const r of procs.splice(0)) if (r.proc.exitCode === null && r.proc.pid) r.proc.kill('SIGKILL');
});

function replica(ns: string, identity: string): Replica {
  const proc = spawn(
    process.execPath,
    [FIXTURE, sharedKubeconfigPath(), ns, identity, String(LEASE_MS), String(RENEW_MS), String(RETRY_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const rep = { proc, lines, exited };
  procs.push(rep);
  return rep;
}

describe('lease election across real processes (real apiserver)', () => {
  test('kill -9 of the leader → takeover within leaseDuration + retry; SIGTERM → release and immediate takeover', async () => {
    const client = new KubeClient(sharedKubeConfig());
    const ns = await freshNamespace(client, 'lease-proc');
    await client.close();

    const a = replica(ns, 'a');
    await until(() => a.lines.includes('LEADING'), 20_000, 'a leads');
    const b = replica(ns, 'b');
    await until(() => b.lines.includes('OBSERVED a'), 20_000, 'b sees a');

    a.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await until(() => b.lines.includes('LEADING'), LEASE_MS + 4 * RETRY_MS + 3_000, 'b takes over');
    const crashTakeover = Date.now() - killedAt;
    expect(crashTakeover).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS + 1_000);

    const c = replica(ns, 'c');
    await until(() => c.lines.includes('OBSERVED b'), 20_000, 'c sees b');
    b.proc.kill('SIGTERM');
    const termAt = Date.now();
    await until(() => c.lines.includes('LEADING'), LEASE_MS, 'c takes over after release');
    const releaseTakeover = Date.now() - termAt;
    expect(releaseTakeover).toBeLessThan(LEASE_MS / 2);
    expect(await b.exited).toBe(0);
    expect(b.lines).toEqual(expect.arrayContaining(['STOPPED', 'RELEASED']));
    console.log(`crash takeover ${crashTakeover} ms, release takeover ${releaseTakeover} ms`);
  });
});

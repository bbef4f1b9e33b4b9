// The real binary in Kubernetes mode: `node dns/main.ts --kubeconfig …` as a child process against
// the shared control plane, answering dig over UDP and TCP, stopping cleanly on SIGTERM.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, test } from 'vitest';
import { KubeClient } from '../../../lib/kube/client.ts';
import { sharedKubeConfig, sharedKubeconfigPath } from '../../envtest/shared.ts';
import { skipUnless } from '../../support/require.ts';
import {
  addresses,
  createLBService,
  createZone,
  deleteObject,
  freshNamespace,
  query,
  suffix,
  until,
  zoneRes,
} from './support.ts';

// Generous: importing @kubernetes/client-node alone takes seconds on a loaded 2-core CI machine.
const WAIT = 60_000;

describe.skipIf(skipUnless({ binaries: ['dig'] }))('dns/main.ts --kubeconfig (child process)', () => {
  let child: ChildProcess | undefined;
  const client = new KubeClient(sharedKubeConfig());
  const id = suffix();
  const zone = `bin-${id}.k8s.home.arpa`;

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await deleteObject(client, zoneRes, undefined, `bin-${id}`);
    await client.close();
  });

  test('serves a DNSZone and an annotated Service, exits 0 on SIGTERM', async () => {
    const ns = await freshNamespace(client, 'dns-bin');
    await createZone(client, `bin-${id}`, {
      zone,
      records: [{ name: 'static', type: 'A', values: ['198.51.100.3'] }],
    });
    await createLBService(client, ns, 'svc', { 'portico.dev/hostname': `svc.${zone}` }, ['203.0.113.3']);

    child = spawn(
      process.execPath,
      [
        'dns/main.ts',
        '--kubeconfig',
        sharedKubeconfigPath(),
        '--port',
        '0',
        '--metrics-address',
        '127.0.0.1:0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no "serving DNS" log line; stderr: ${lines.join('\n')}`)),
        WAIT,
      );
      createInterface({ input: child!.stdout! }).on('line', (l) => {
        lines.push(l);
        try {
          const j = JSON.parse(l) as { msg?: string; port?: number };
          if (j.msg?.startsWith('serving DNS') && typeof j.port === 'number') {
            clearTimeout(t);
            resolve(j.port);
          }
        } catch {
          // not JSON: keep it for the error message
        }
      });
      child!.once('exit', (code) => reject(new Error(`exited ${code}: ${lines.join('\n')}`)));
    });

    for (const tcp of [false, true]) {
      const r = await until(
        () => query('dig', port, `svc.${zone}`, 'A', tcp),
        (x) => x.answer.length > 0,
        WAIT,
        'Service name from the child process',
      );
      expect(addresses(r)).toEqual(['203.0.113.3']);
      expect(addresses(await query('dig', port, `static.${zone}`, 'A', tcp))).toEqual(['198.51.100.3']);
    }
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
  });
});

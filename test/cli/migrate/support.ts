// Runs `portico migrate ...` in-process (the exported main), capturing stdout and stderr.
import { PassThrough } from 'node:stream';
import { main } from '../../../cli/migrate/index.ts';

export async function runMigrate(
  args: string[],
  kubeconfig?: string,
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += String(d);
  });
  stderr.on('data', (d) => {
    err += String(d);
  });
  const code = await main(args, { stdout, stderr, ...(kubeconfig ? { kubeconfig } : {}) });
  return { code, out, err };
}

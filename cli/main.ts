#!/usr/bin/env node
// `portico`: node cli/main.ts …, npx portico … (in the repository), kubectl portico … (as the
// kubectl-portico plugin). Dispatch only: parsing is cli/args.ts, the reports are the pure cores in
// cli/status and cli/why, the cluster reads are cli/kube.ts.
import { existsSync, realpathSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseCommandLine, USAGE } from './args.ts';
import { type OutputFormat, toJson, toYaml } from './format.ts';
import { CliError, connect, explainError, fetchStatusInput, fetchWhyInput } from './kube.ts';
import { buildStatus } from './status/report.ts';
import { statusTable } from './status/table.ts';
import { diagnose } from './why/diagnose.ts';
import { whyTable } from './why/table.ts';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/** What cli/migrate/index.ts exports (written separately; loaded only for `portico migrate`). */
interface MigrateModule {
  main(
    args: string[],
    io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; kubeconfig?: string },
  ): Promise<number>;
}

function render<T>(value: T, format: OutputFormat, table: (v: T) => string): string {
  return format === 'json' ? toJson(value) : format === 'yaml' ? toYaml(value) : table(value);
}

export async function main(
  argv: string[],
  io: CliIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const cmd = parseCommandLine(argv);
  if (cmd.kind === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cmd.kind === 'usage') {
    // The whole usage only when nothing was asked; otherwise the error and where to look.
    io.stderr.write(
      argv.length === 0 ? `${USAGE}\n` : `portico: ${cmd.error}\nRun 'portico --help' for usage.\n`,
    );
    return 2;
  }
  if (cmd.kind === 'migrate') {
    // The same extension as this file: .ts from the sources, .js from the built dist/.
    const url = new URL(`./migrate/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    if (!existsSync(url)) {
      io.stderr.write('portico: migrate is not part of this build\n');
      return 1;
    }
    const mod = (await import(url.href)) as MigrateModule;
    return mod.main(cmd.args, {
      stdout: io.stdout,
      stderr: io.stderr,
      ...(cmd.options.kubeconfig ? { kubeconfig: cmd.options.kubeconfig } : {}),
    });
  }

  const o = cmd.options;
  const now = (io.now ?? Date.now)();
  let conn: Awaited<ReturnType<typeof connect>>;
  try {
    conn = await connect({
      ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
      ...(o.context ? { context: o.context } : {}),
      ...(io.env ? { env: io.env } : {}),
    });
  } catch (err) {
    io.stderr.write(`portico: ${explainError(err, '?')}\n`);
    return 1;
  }
  try {
    if (cmd.kind === 'status') {
      const input = await fetchStatusInput(conn.client, {
        now,
        classes: o.classes,
        ...(o.namespace ? { namespace: o.namespace } : {}),
      });
      const report = buildStatus(input);
      io.stdout.write(render(report, o.output, (r) => statusTable(r, now)));
      return 0;
    }
    const namespace = cmd.namespace ?? conn.contextNamespace ?? 'default';
    const input = await fetchWhyInput(conn.client, { now, classes: o.classes }, namespace, cmd.name);
    const d = diagnose(input);
    io.stdout.write(render(d, o.output, (x) => whyTable(x, now)));
    return 0;
  } catch (err) {
    io.stderr.write(`portico: ${explainError(err, conn.client.server)}\n`);
    if (!(err instanceof CliError) && io.env?.PORTICO_DEBUG) io.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  } finally {
    conn.client.close();
  }
}

/**
 * True when this file is the program node started. argv[1] is compared by real path because npm
 * starts bins through symlinks (node_modules/.bin/portico, a global `npm link`), while
 * import.meta.url is the resolved file.
 */
function isEntrypoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return pathToFileURL(realpathSync(arg)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntrypoint()) {
  // `portico status | head`: a closed pipe is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      // No process.exit(): let stdout drain; the client's sockets are closed, nothing else is pending.
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

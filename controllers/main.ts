// portico-controller: `node controllers/main.ts [flags]` (Node 24 runs the TypeScript directly).
// Flags are parsed by parseFlags() (controllers/flags.ts); SIGTERM/SIGINT release the Lease and
// stop cleanly, so a rolling update hands over at once instead of after the Lease expires.

// First, before any other module's code runs: caps V8's young generation (see main-heap.ts). A
// bare import, so import sorting leaves it first; the named import below reads what it did.
import './main-heap.ts';
import { runIfEntrypoint } from '../lib/observe/entrypoint.ts';
import { createLogger } from '../lib/observe/log.ts';
import { startController } from './controller.ts';
import { parseFlags, USAGE } from './flags.ts';
import { inProcessV8Flag } from './main-heap.ts';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, process.env);
  if (!parsed.ok) {
    console.error(`${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const o = parsed.options;
  const log = createLogger({ name: 'portico-controller', level: o.logLevel ?? 'info' });
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    markStopped = r;
  });
  let ctl: Awaited<ReturnType<typeof startController>> | undefined;
  const shutdown = (why: string, code: number) => {
    if (stopping) return stopping;
    exitCode = code;
    log.info({ why }, 'stopping');
    stopping = (ctl?.stop({ release: true }) ?? Promise.resolve()).catch((err: unknown) => {
      log.error({ err: String(err) }, 'error while stopping');
    });
    stopping.then(markStopped);
    return stopping;
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  try {
    ctl = await startController({
      ...o,
      logger: log,
      // Lost the Lease while still running (API unreachable past the renew deadline): exit and let
      // the restart policy bring a clean standby back, the way client-go controllers do.
      onLostLeadership: () => void shutdown('lost leadership', 1),
    });
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'failed to start');
    return 1;
  }
  if (inProcessV8Flag !== null) ctl.metrics.inProcessV8Flags.set({ flags: inProcessV8Flag }, 1);
  log.info(
    { identity: ctl.identity, metrics: ctl.metricsAddress, inProcessV8Flags: inProcessV8Flag },
    'started',
  );
  await stopped;
  log.info({ code: exitCode }, 'stopped');
  return exitCode;
}

runIfEntrypoint(import.meta.url, main);

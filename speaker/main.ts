// portico-speaker: `node speaker/main.ts --key-file PATH [flags]` (Node 24 runs the TypeScript
// directly; the image runs dist/speaker/main.js). One per node (DaemonSet, hostNetwork).
//
// Start-up refuses, with a message saying what to do, when: a flag is wrong (exit 2); the raw
// socket addon is missing or broken, or the heartbeat key is unreadable/too short (exit 1).
// SIGTERM/SIGINT: send "leave" so peers take the VIPs over at once, keep answering while their
// GARP goes out (make-before-break), withdraw, delete our Lease, exit 0.

import { runIfEntrypoint } from '../lib/observe/entrypoint.ts';
import { createLogger } from '../lib/observe/log.ts';
import { parseFlags, USAGE } from './flags.ts';
import { loadHeartbeatKey } from './membership/key.ts';
import { loadPacketAddon } from './native/index.ts';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseFlags(argv, env);
  if (!parsed.ok) {
    console.error(`portico-speaker: ${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const o = parsed.options;
  const log = createLogger({ name: 'portico-speaker', level: o.logLevel });
  let key: Buffer;
  try {
    loadPacketAddon();
    key = loadHeartbeatKey(o.keyFile);
  } catch (err) {
    const message = (err as Error).message.replace('--heartbeat-key-file', '--key-file');
    log.fatal({ err: message }, 'cannot start');
    console.error(message);
    return 1;
  }
  // Imported after the checks so a missing addon or key is reported before anything else loads.
  const { startSpeaker } = await import('./kube/speaker.ts');

  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    markStopped = r;
  });
  let running: Awaited<ReturnType<typeof startSpeaker>> | undefined;
  let exitCode = 0;
  const shutdown = (why: string, code: number): Promise<void> => {
    if (stopping) return stopping;
    exitCode = code;
    log.info({ why }, 'stopping');
    stopping = (running?.stop({ graceful: true }) ?? Promise.resolve())
      .catch((err: unknown) => log.error({ err: String(err) }, 'error while stopping'))
      .then(markStopped);
    return stopping;
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  try {
    running = await startSpeaker({ ...o, key, logger: log });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'failed to start');
    return 1;
  }
  if (stopping) await running.stop({ graceful: true });
  log.info(
    { node: o.nodeName, heartbeatAddress: running.heartbeatAddress, metrics: running.metricsAddress },
    'started',
  );
  await stopped;
  log.info({ code: exitCode }, 'stopped');
  return exitCode;
}

runIfEntrypoint(import.meta.url, main);

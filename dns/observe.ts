// Logging and the /metrics /healthz /readyz endpoint for the DNS binary come from lib/observe; this
// module only keeps the import path dns/* files already use.
export { createLogger } from '../lib/observe/log.ts';
export { type ObserveServer, startObserveServer } from '../lib/observe/server.ts';

/**
 * The DNS event loop sleeps while the native receive thread replays answers (ADR 049); the event
 * loop delay monitor of the default metrics samples every 100 ms instead of prom-client's 10 so it
 * does not wake it 100 times a second.
 */
export const DNS_EVENT_LOOP_SAMPLE_MS = 100;

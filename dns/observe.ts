// Logging and the /metrics /healthz /readyz endpoint for the DNS binary come from lib/observe; this
// module only keeps the import path dns/* files already use.
export { createLogger } from '../lib/observe/log.ts';
export { type ObserveServer, startObserveServer } from '../lib/observe/server.ts';

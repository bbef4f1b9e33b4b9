// A serving thread (workers > 1): its own UDP+TCP listeners on the shared port (SO_REUSEPORT),
// snapshots rebuilt from the ZoneInputs the main thread posts, counters posted back periodically.

import { parentPort, workerData } from 'node:worker_threads';
import { buildSnapshotSet } from '../zone/snapshot.ts';
import type { ZoneInput } from '../zone/spec.ts';
import { type ListenerOptions, startListeners } from './listeners.ts';

const port = parentPort!;
const { options, statsIntervalMs } = workerData as { options: ListenerOptions; statsIntervalMs: number };

try {
  const l = await startListeners(options);
  const post = () => port.postMessage({ type: 'stats', stats: l.drain() });
  setInterval(post, statsIntervalMs).unref();
  port.on('message', (m: { type: string; inputs?: ZoneInput[] }) => {
    if (m.type === 'zones' && m.inputs) l.setSnapshots(buildSnapshotSet(m.inputs).set);
    else if (m.type === 'drain') post();
  });
  port.postMessage({ type: 'listening', port: l.port, udpIo: l.udpIo });
} catch (err) {
  port.postMessage({ type: 'error', error: (err as Error).message });
}

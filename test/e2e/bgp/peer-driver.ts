/**
 * Runs BgpPeer sessions in one process, for the netns e2e and the bgp bench:
 *
 *   node test/e2e/bgp/peer-driver.ts '<json DriverConfig>'      (or '-' to read it from stdin's first line)
 *
 * stdout: one JSON line per event — {"event":"status","peer":"<address>","t":<ms epoch>,...PeerStatus},
 * {"event":"started","pid":…}, {"event":"routes","count":…,"t":…}, {"event":"stopped","t":…}.
 * stderr: the peers' pino logs (JSON).
 * stdin (after the config): JSON lines {"routes":[Route…]} replace every peer's routes;
 * {"stop":"graceful"|"hard"} stops all peers and exits.
 * SIGTERM / SIGINT: graceful stop (withdraw, Cease / Administrative Shutdown), then exit 0.
 *
 * The password, if any, is passed to the peer and never printed.
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import type { PeerConfig } from '../../../speaker/bgp/negotiate.ts';
import { BgpPeer, type PeerOptions, type PeerStatus } from '../../../speaker/bgp/peer.ts';
import type { Route } from '../../../speaker/bgp/routes.ts';

export interface DriverPeer extends Omit<PeerOptions, 'log' | 'now' | 'config'> {
  config: PeerConfig;
}

export interface DriverConfig {
  peers: DriverPeer[];
  routes?: Route[];
  /** pino level for stderr (default 'info'). */
  logLevel?: string;
}

export interface DriverLine {
  event: 'started' | 'status' | 'routes' | 'stopped';
  t: number;
  peer?: string;
  [k: string]: unknown;
}

const out = (line: DriverLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function main(): Promise<void> {
  const arg = process.argv[2];
  const lines = createInterface({ input: process.stdin });
  const iter = lines[Symbol.asyncIterator]();
  let text = arg;
  if (!arg || arg === '-') {
    const first = await iter.next();
    text = first.done ? '' : first.value;
  }
  const cfg = JSON.parse(text!) as DriverConfig;
  const log = pino({ level: cfg.logLevel ?? 'info' }, pino.destination(2));
  const peers = cfg.peers.map((p) => {
    const peer = new BgpPeer({ ...p, log });
    peer.on('status', (s: PeerStatus) => out({ event: 'status', t: Date.now(), peer: p.peerAddress, ...s }));
    return peer;
  });
  let stopping: Promise<void> | undefined;
  const stop = (graceful: boolean) => {
    stopping ??= Promise.all(peers.map((p) => p.stop({ graceful, message: 'portico e2e: stop' }))).then(
      () => {
        out({ event: 'stopped', t: Date.now() });
        process.exit(0);
      },
    );
    return stopping;
  };
  process.on('SIGTERM', () => void stop(true));
  process.on('SIGINT', () => void stop(true));
  for (const p of peers) p.setRoutes(cfg.routes ?? []);
  for (const p of peers) p.start();
  out({ event: 'started', t: Date.now(), pid: process.pid });
  for (;;) {
    const n = await iter.next();
    if (n.done) break;
    if (!n.value.trim()) continue;
    let cmd: { routes?: Route[]; stop?: 'graceful' | 'hard' };
    try {
      cmd = JSON.parse(n.value);
    } catch {
      continue;
    }
    if (cmd.routes) {
      for (const p of peers) p.setRoutes(cmd.routes);
      out({ event: 'routes', t: Date.now(), count: cmd.routes.length });
    }
    if (cmd.stop) await stop(cmd.stop === 'graceful');
  }
  // stdin closed: keep running until a signal (the parent may not keep stdin open).
}

void main();

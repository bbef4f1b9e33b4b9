/**
 * Small shared command-line helpers over node:util parseArgs. Every process (controller, speaker,
 * dns) takes the same observability flags and the same duration/address syntax, so they parse
 * them here. Bad input throws FlagError with a message fit to print before exiting with status 2.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** Flags every Portico process accepts. Spread into a process's own option table. */
export const OBSERVE_FLAGS = {
  'log-level': { type: 'string', default: 'info' },
  'metrics-address': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

/**
 * parseArgs with strict checking (unknown flags and missing values are errors, no positionals)
 * and its TypeErrors turned into FlagErrors.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new FlagError(err instanceof Error ? err.message : String(err));
  }
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Go-style durations to milliseconds: `100ms`, `3s`, `1.5s`, `1m30s`, `2h`, `0`. A unit is
 * required (a bare `5` is ambiguous); negatives are rejected.
 */
export function parseDuration(text: string, flag = 'duration'): number {
  const s = text.trim();
  if (s === '0') return 0;
  const part = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = part.exec(s); m !== null; m = part.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = part.lastIndex;
  }
  if (s === '' || pos !== s.length) {
    throw new FlagError(
      `--${flag}: '${text}' is not a duration; use e.g. 100ms, 3s, 1m30s (units ns, us, ms, s, m, h)`,
    );
  }
  return total;
}

export interface ListenAddress {
  /** undefined = every interface (IPv6 and IPv4 where the kernel allows dual-stack). */
  host: string | undefined;
  /** 0 = an ephemeral port (tests). */
  port: number;
}

/**
 * `:9100` or `9100` (every interface), `127.0.0.1:9100`, `[::1]:9100`, `localhost:9100`.
 * Brackets are required around IPv6 hosts so the port is never ambiguous.
 */
export function parseListenAddress(text: string, flag = 'address'): ListenAddress {
  const bad = (why: string) =>
    new FlagError(`--${flag}: '${text}' ${why}; use e.g. :9100, 127.0.0.1:9100 or [::1]:9100`);
  const s = text.trim();
  if (/^\d{1,5}$/.test(s)) return parseListenAddress(`:${s}`, flag);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) throw bad('is not host:port');
  const port = Number(m[3]);
  if (port > 65535) throw bad('has a port above 65535');
  const host = m[1] ?? m[2];
  if (m[1] !== undefined && !m[1].includes(':')) throw bad('has brackets around a non-IPv6 host');
  if (m[2]?.includes(' ')) throw bad('has a space in the host');
  return { host: host === '' ? undefined : host, port };
}

/** Inverse of parseListenAddress, e.g. for log lines. */
export function formatListenAddress(a: ListenAddress): string {
  if (a.host === undefined) return `:${a.port}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A whole number within [min, max], e.g. ports and counts. */
export function parseInteger(text: string, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const s = text.trim();
  if (!/^-?\d+$/.test(s)) throw new FlagError(`--${flag}: '${text}' is not a whole number`);
  const n = Number(s);
  if (n < min || n > max) throw new FlagError(`--${flag}: ${n} is outside ${min}..${max}`);
  return n;
}

/** `true`/`false` (and 1/0, yes/no) for flags given a value, e.g. --leader-elect=false. */
export function parseBoolean(text: string, flag: string): boolean {
  const s = text.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  throw new FlagError(`--${flag}: '${text}' is not true or false`);
}

/**
 * Structured logging: pino, one JSON object per line on stdout by default (what log collectors
 * expect from a container), string level names, ISO timestamps, a child logger per component.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { FlagError } from './flags.ts';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Validates a `--log-level` value (case-insensitive). */
export function parseLogLevel(value: string, flag = 'log-level'): LogLevel {
  const v = value.trim().toLowerCase();
  if (!isLogLevel(v)) {
    throw new FlagError(`--${flag}: '${value}' is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  return v;
}

export interface LoggerOptions {
  /** Process name, e.g. `portico-controller`; appears as `name` on every line. */
  name: string;
  /** Default `info`. Validated: an unknown level throws FlagError instead of pino's generic error. */
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = parseLogLevel(opts.level ?? 'info');
  const options = {
    name: opts.name,
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"info" rather than "level":30: readable without pino-pretty, and greppable.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A child logger whose lines carry `component`, e.g. `informer`, `allocator`, `arp`. */
export function componentLogger(
  parent: Logger,
  component: string,
  bindings: Record<string, unknown> = {},
): Logger {
  return parent.child({ component, ...bindings });
}

/**
 * The logging surface lib/kube needs: a subset of pino's Logger, so callers pass their pino
 * logger (lib/observe) directly and lib/kube does not depend on lib/observe.
 */
export interface KubeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};
export const noopLogger: KubeLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** Error → loggable object (pino serializes `err` specially). */
export function errInfo(err: unknown): { err: unknown } {
  return { err: err instanceof Error ? { message: err.message, name: err.name } : String(err) };
}

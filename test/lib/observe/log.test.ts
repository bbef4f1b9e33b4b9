import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FlagError } from '../../../lib/observe/flags.ts';
import { componentLogger, createLogger, LOG_LEVELS, parseLogLevel } from '../../../lib/observe/log.ts';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('parseLogLevel', () => {
  it.each(LOG_LEVELS)('accepts %s', (level) => {
    expect(parseLogLevel(level)).toBe(level);
  });

  it('is case-insensitive and trims', () => {
    expect(parseLogLevel(' DEBUG ')).toBe('debug');
  });

  it.each(['verbose', '', '10', 'information'])('rejects %j with the valid levels listed', (value) => {
    expect(() => parseLogLevel(value)).toThrow(FlagError);
    expect(() => parseLogLevel(value)).toThrow(
      /--log-level: .* use one of trace, debug, info, warn, error, fatal, silent/,
    );
  });
});

describe('createLogger', () => {
  it('writes one JSON object per line with name, string level, ISO time and message', () => {
    const out = capture();
    const log = createLogger({ name: 'portico-test', destination: out.stream });
    log.info({ vip: '192.0.2.1' }, 'allocated');
    const [line] = out.lines();
    expect(line).toMatchObject({ name: 'portico-test', level: 'info', msg: 'allocated', vip: '192.0.2.1' });
    expect(new Date(String(line?.time)).toISOString()).toBe(line?.time);
  });

  it('filters below the configured level', () => {
    const out = capture();
    const log = createLogger({ name: 't', level: 'warn', destination: out.stream });
    log.info('hidden');
    log.debug('hidden');
    log.warn('shown');
    log.error('shown too');
    expect(out.lines().map((l) => l.level)).toEqual(['warn', 'error']);
  });

  it('silent logs nothing', () => {
    const out = capture();
    const log = createLogger({ name: 't', level: 'silent', destination: out.stream });
    log.fatal('nothing');
    expect(out.lines()).toEqual([]);
  });

  it('rejects an invalid level with a FlagError rather than pino’s own error', () => {
    expect(() => createLogger({ name: 't', level: 'loud' })).toThrow(FlagError);
  });

  it('serialises errors with message and stack', () => {
    const out = capture();
    const log = createLogger({ name: 't', destination: out.stream });
    log.error({ err: new Error('boom') }, 'failed');
    const err = out.lines()[0]?.err as { message: string; stack: string };
    expect(err.message).toBe('boom');
    expect(err.stack).toContain('Error: boom');
  });
});

describe('componentLogger', () => {
  it('tags lines with the component and extra bindings, keeping the parent level', () => {
    const out = capture();
    const parent = createLogger({ name: 'portico-speaker', level: 'warn', destination: out.stream });
    const child = componentLogger(parent, 'arp', { interface: 'eth0' });
    child.info('hidden');
    child.warn('link down');
    expect(out.lines()).toEqual([
      expect.objectContaining({
        name: 'portico-speaker',
        component: 'arp',
        interface: 'eth0',
        msg: 'link down',
      }),
    ]);
  });
});

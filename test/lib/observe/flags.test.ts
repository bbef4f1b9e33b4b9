import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FlagError,
  formatListenAddress,
  OBSERVE_FLAGS,
  parseBoolean,
  parseDuration,
  parseFlags,
  parseInteger,
  parseListenAddress,
} from '../../../lib/observe/flags.ts';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['100ms', 100],
    ['3s', 3000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['250us', 0.25],
    ['1000000ns', 1],
    [' 10s ', 10_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '5', '-1s', '1x', 's', '1s 2s', '1.s', 'abc', '1s-', '∞s'])(
    'rejects %j with the flag name',
    (text) => {
      expect(() => parseDuration(text, 'renew-deadline')).toThrow(FlagError);
      expect(() => parseDuration(text, 'renew-deadline')).toThrow(/^--renew-deadline: .* is not a duration/);
    },
  );

  it('property: a whole number of ms formats and parses back', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), (ms) => {
        expect(parseDuration(`${ms}ms`)).toBe(ms);
        expect(parseDuration(`${ms / 1000}s`)).toBeCloseTo(ms, 6);
      }),
    );
  });
});

describe('parseListenAddress', () => {
  it.each([
    [':9100', { host: undefined, port: 9100 }],
    ['127.0.0.1:9100', { host: '127.0.0.1', port: 9100 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['[::]:53', { host: '::', port: 53 }],
    ['localhost:8080', { host: 'localhost', port: 8080 }],
    ['0.0.0.0:65535', { host: '0.0.0.0', port: 65535 }],
  ])('%j', (text, want) => {
    expect(parseListenAddress(text)).toEqual(want);
    expect(formatListenAddress(want)).toBe(text);
  });

  it('accepts a bare port as every interface', () => {
    expect(parseListenAddress('9100')).toEqual({ host: undefined, port: 9100 });
  });

  it.each([
    '99999',
    '::1:9100',
    '127.0.0.1',
    '127.0.0.1:65536',
    '127.0.0.1:-1',
    '[127.0.0.1]:80',
    'a b:80',
    ':',
    '',
  ])('rejects %j', (text) => {
    expect(() => parseListenAddress(text, 'metrics-address')).toThrow(/^--metrics-address: /);
  });
});

describe('parseInteger and parseBoolean', () => {
  it('parses whole numbers within bounds', () => {
    expect(parseInteger('7472', 'port', 1, 65535)).toBe(7472);
    expect(() => parseInteger('0', 'port', 1, 65535)).toThrow('--port: 0 is outside 1..65535');
    expect(() => parseInteger('1.5', 'port')).toThrow(/not a whole number/);
  });

  it('parses booleans', () => {
    expect(parseBoolean('TRUE', 'x')).toBe(true);
    expect(parseBoolean('0', 'x')).toBe(false);
    expect(() => parseBoolean('maybe', 'leader-elect')).toThrow(
      "--leader-elect: 'maybe' is not true or false",
    );
  });
});

describe('parseFlags', () => {
  it('parses the shared observe flags with defaults', () => {
    expect(parseFlags([], OBSERVE_FLAGS)).toEqual({ 'log-level': 'info' });
    expect(parseFlags(['--log-level', 'debug', '--metrics-address=:9100'], OBSERVE_FLAGS)).toEqual({
      'log-level': 'debug',
      'metrics-address': ':9100',
    });
  });

  it('turns unknown flags, missing values and positionals into FlagError', () => {
    expect(() => parseFlags(['--nope'], OBSERVE_FLAGS)).toThrow(FlagError);
    expect(() => parseFlags(['--log-level'], OBSERVE_FLAGS)).toThrow(FlagError);
    expect(() => parseFlags(['stray'], OBSERVE_FLAGS)).toThrow(FlagError);
  });
});

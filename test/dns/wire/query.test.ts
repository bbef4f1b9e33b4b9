import { describe, expect, it } from 'vitest';
import { newParsedQuery, ParseStatus, parseQuery } from '../../../dns/wire/query.ts';
import { query } from '../helpers.ts';

const q = newParsedQuery();
const header = (qd = 1, an = 0, ns = 0, ar = 0, flags = 0x0100) =>
  [0xab, 0xcd, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar] as number[];
const name = (...labels: string[]) => [...labels.flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
const msg = (...parts: number[][]) => Buffer.from(parts.flat());
const A_IN = [0, 1, 0, 1];

describe('parseQuery', () => {
  it('reads header, question and labels', () => {
    expect(parseQuery(query('App.Example.test', 'AAAA', { id: 7 }), q)).toBe(ParseStatus.OK);
    expect(q.id).toBe(7);
    expect(q.qtype).toBe(28);
    expect(q.qclass).toBe(1);
    expect(q.labelCount).toBe(3);
    expect(q.nameLength).toBe(18);
    expect(q.edns).toBe(false);
  });

  it('reads the EDNS OPT record', () => {
    expect(parseQuery(query('a.test', 'A', { edns: true, udpSize: 1400, dnssecOk: true }), q)).toBe(
      ParseStatus.OK,
    );
    expect(q).toMatchObject({ edns: true, ednsUdpSize: 1400, ednsVersion: 0, dnssecOk: true });
  });

  it('hashes names case-insensitively', () => {
    parseQuery(query('APP.example.TEST', 'A'), q);
    const h1 = [...q.suffix.subarray(0, 4)];
    parseQuery(query('app.EXAMPLE.test', 'A'), q);
    expect([...q.suffix.subarray(0, 4)]).toEqual(h1);
  });

  it.each([
    ['shorter than a header', msg([1, 2, 3]), ParseStatus.DROP],
    ['a response (QR=1)', msg(header(1, 0, 0, 0, 0x8100), name('a'), A_IN), ParseStatus.DROP],
    ['opcode STATUS', msg(header(1, 0, 0, 0, 0x1000), name('a'), A_IN), ParseStatus.NOTIMP],
    ['no question', msg(header(0)), ParseStatus.FORMERR],
    ['two questions', msg(header(2), name('a'), A_IN, name('b'), A_IN), ParseStatus.FORMERR],
    ['answer records in a query', msg(header(1, 1), name('a'), A_IN), ParseStatus.FORMERR],
    ['authority records in a query', msg(header(1, 0, 1), name('a'), A_IN), ParseStatus.FORMERR],
    ['two additional records', msg(header(1, 0, 0, 2), name('a'), A_IN), ParseStatus.FORMERR],
    ['compression pointer in the question', msg(header(), [0xc0, 0x0c], A_IN), ParseStatus.FORMERR],
    ['reserved label type 0x40', msg(header(), [0x41, 0], A_IN), ParseStatus.FORMERR],
    ['label longer than 63', msg(header(), [64, ...new Array(64).fill(97), 0], A_IN), ParseStatus.FORMERR],
    ['name running past the end', msg(header(), [5, 97, 97]), ParseStatus.FORMERR],
    ['missing QTYPE/QCLASS', msg(header(), name('a'), [0, 1]), ParseStatus.FORMERR],
    ['trailing bytes', msg(header(), name('a'), A_IN, [0]), ParseStatus.FORMERR],
    [
      'additional record that is not OPT',
      msg(header(1, 0, 0, 1), name('a'), A_IN, [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]),
      ParseStatus.FORMERR,
    ],
    [
      'OPT with a non-root owner',
      msg(header(1, 0, 0, 1), name('a'), A_IN, [1, 97, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]),
      ParseStatus.FORMERR,
    ],
    [
      'OPT RDATA past the end',
      msg(header(1, 0, 0, 1), name('a'), A_IN, [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 8]),
      ParseStatus.FORMERR,
    ],
    [
      'OPT option truncated',
      msg(header(1, 0, 0, 1), name('a'), A_IN, [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 3, 0, 10, 0]),
      ParseStatus.FORMERR,
    ],
    ['QTYPE OPT in the question', msg(header(), name('a'), [0, 41, 0, 1]), ParseStatus.FORMERR],
  ])('%s', (_what, m, status) => {
    expect(parseQuery(m, q)).toBe(status);
  });

  it('accepts an OPT with well-formed options (cookie)', () => {
    const cookie = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
    const m = msg(
      header(1, 0, 0, 1),
      name('a'),
      A_IN,
      [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, cookie.length],
      cookie,
    );
    expect(parseQuery(m, q)).toBe(ParseStatus.OK);
  });

  it('names: 255 wire bytes is the limit', () => {
    // 4 labels of 62 + 1 of 1 byte: 4*63 + 2 + root = 255 → OK; one more byte → FORMERR.
    const labels = ['a'.repeat(62), 'b'.repeat(62), 'c'.repeat(62), 'd'.repeat(62), 'e'];
    expect(parseQuery(msg(header(), name(...labels), A_IN), q)).toBe(ParseStatus.OK);
    expect(q.nameLength).toBe(255);
    labels[4] = 'ee';
    expect(parseQuery(msg(header(), name(...labels), A_IN), q)).toBe(ParseStatus.FORMERR);
  });

  it('the root name is a valid question', () => {
    expect(parseQuery(msg(header(), [0], A_IN), q)).toBe(ParseStatus.OK);
    expect(q.labelCount).toBe(0);
  });
});

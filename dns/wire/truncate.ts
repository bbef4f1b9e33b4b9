// Turn one of our responses into its truncated form: header + question, TC=1, no records (used by
// rate limiting's "slip"). The input is always a response we built, but it is bounds-checked anyway.

import { Flag, HEADER_SIZE } from './constants.ts';

export function truncateResponse(resp: Uint8Array): Uint8Array | null {
  if (resp.length < HEADER_SIZE) return null;
  const qd = (resp[4]! << 8) | resp[5]!;
  let o = HEADER_SIZE;
  if (qd === 1) {
    while (o < resp.length && resp[o]! !== 0) {
      if (resp[o]! > 63) return null;
      o += resp[o]! + 1;
    }
    o += 5;
    if (o > resp.length) return null;
  }
  const out = Buffer.alloc(o);
  out.set(resp.subarray(0, o));
  out[2] = out[2]! | (Flag.TC >> 8);
  out.fill(0, 6, 12);
  return out;
}

import { CapabilityCode } from './constants.ts';

/**
 * OPEN capabilities (RFC 5492): multiprotocol (RFC 4760), route refresh (RFC 2918), graceful
 * restart (RFC 4724), 4-octet AS (RFC 6793). Anything else is kept as code + raw value so that a
 * decoded OPEN says exactly what the peer offered (and re-encodes to the same bytes).
 */

export interface Family {
  afi: number;
  safi: number;
}

export interface GracefulRestartFamily extends Family {
  /** F bit: the peer kept forwarding state for this family across its restart. */
  forwarding: boolean;
}

export type Capability =
  | { kind: 'multiprotocol'; afi: number; safi: number }
  | { kind: 'route-refresh' }
  | { kind: 'four-octet-as'; asn: number }
  | {
      kind: 'graceful-restart';
      /** R bit: the sender has restarted and its peer must not wait for its End-of-RIB to select routes. */
      restarting: boolean;
      /** N bit (RFC 8538): the sender supports graceful restart on NOTIFICATION too. */
      notification: boolean;
      /** Seconds, 0..4095. */
      restartTime: number;
      families: GracefulRestartFamily[];
    }
  | { kind: 'unknown'; code: number; value: Uint8Array };

const R_BIT = 0x8;
const N_BIT = 0x4;
const F_BIT = 0x80;

export function encodeCapability(c: Capability): Buffer {
  let code: number;
  let value: Buffer;
  switch (c.kind) {
    case 'multiprotocol':
      code = CapabilityCode.MULTIPROTOCOL;
      value = Buffer.from([c.afi >> 8, c.afi & 0xff, 0, c.safi]);
      break;
    case 'route-refresh':
      code = CapabilityCode.ROUTE_REFRESH;
      value = Buffer.alloc(0);
      break;
    case 'four-octet-as':
      code = CapabilityCode.FOUR_OCTET_AS;
      value = Buffer.alloc(4);
      value.writeUInt32BE(c.asn);
      break;
    case 'graceful-restart': {
      if (c.restartTime < 0 || c.restartTime > 0xfff)
        throw new Error('graceful restart time must be 0..4095 s');
      code = CapabilityCode.GRACEFUL_RESTART;
      value = Buffer.alloc(2 + 4 * c.families.length);
      const flags = (c.restarting ? R_BIT : 0) | (c.notification ? N_BIT : 0);
      value.writeUInt16BE((flags << 12) | c.restartTime, 0);
      c.families.forEach((f, i) => {
        value.writeUInt16BE(f.afi, 2 + 4 * i);
        value[4 + 4 * i] = f.safi;
        value[5 + 4 * i] = f.forwarding ? F_BIT : 0;
      });
      break;
    }
    case 'unknown':
      code = c.code;
      value = Buffer.from(c.value);
      break;
  }
  if (value.length > 255) throw new Error(`capability ${code} value longer than 255 octets`);
  return Buffer.concat([Buffer.from([code, value.length]), value]);
}

/** Decodes the value of one Capabilities optional parameter; a reason string when malformed. */
export function decodeCapabilities(b: Uint8Array): Capability[] | string {
  const out: Capability[] = [];
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) return `capability header truncated at octet ${i}`;
    const code = b[i]!;
    const len = b[i + 1]!;
    if (i + 2 + len > b.length) return `capability ${code} (length ${len}) overruns its parameter`;
    const v = Buffer.from(b.buffer, b.byteOffset + i + 2, len);
    const c = decodeOne(code, v);
    if (typeof c === 'string') return c;
    out.push(c);
    i += 2 + len;
  }
  return out;
}

function decodeOne(code: number, v: Buffer): Capability | string {
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL:
      if (v.length !== 4) return `multiprotocol capability has length ${v.length}, expected 4`;
      return { kind: 'multiprotocol', afi: v.readUInt16BE(0), safi: v[3]! };
    case CapabilityCode.ROUTE_REFRESH:
      if (v.length !== 0) return `route refresh capability has length ${v.length}, expected 0`;
      return { kind: 'route-refresh' };
    case CapabilityCode.FOUR_OCTET_AS:
      if (v.length !== 4) return `4-octet AS capability has length ${v.length}, expected 4`;
      return { kind: 'four-octet-as', asn: v.readUInt32BE(0) };
    case CapabilityCode.GRACEFUL_RESTART: {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) {
        return `graceful restart capability has length ${v.length}, expected 2 + 4n`;
      }
      const head = v.readUInt16BE(0);
      const families: GracefulRestartFamily[] = [];
      for (let i = 2; i < v.length; i += 4) {
        families.push({ afi: v.readUInt16BE(i), safi: v[i + 2]!, forwarding: (v[i + 3]! & F_BIT) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restarting: ((head >> 12) & R_BIT) !== 0,
        notification: ((head >> 12) & N_BIT) !== 0,
        restartTime: head & 0xfff,
        families,
      };
    }
    default:
      return { kind: 'unknown', code, value: Uint8Array.from(v) };
  }
}

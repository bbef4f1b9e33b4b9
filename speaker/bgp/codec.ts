import { formatIPv4, parseIPv4 } from '../layer2/addr.ts';
import {
  type AttributeList,
  attributeCode,
  type CodecContext,
  decodeAttributeList,
  encodeAttribute,
  type PathAttribute,
  type Problem,
  REACTION_STRENGTH,
} from './attributes.ts';
import { type Capability, decodeCapabilities, encodeCapability } from './capabilities.ts';
import {
  Afi,
  AttrType,
  BGP_VERSION,
  CeaseSubcode,
  ErrorCode,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_MESSAGE_LENGTH,
  MessageType,
  MIN_LENGTH,
  OpenSubcode,
  ParamType,
  RouteRefreshSubcode,
  UpdateSubcode,
} from './constants.ts';
import { decodePrefixes, encodePrefixes } from './prefix.ts';

/**
 * BGP-4 message codec (RFC 4271 §4) with the RFC 7606 error reactions. Pure: bytes in, data out.
 * Decoding never throws; every failure is a typed result naming the reaction and, where a
 * NOTIFICATION is (or would have been under RFC 4271) sent, its code/subcode/data. Encoding throws
 * only on values the caller should never build (an over-long message, a malformed address).
 */

export type { CodecContext, PathAttribute } from './attributes.ts';
export type { Capability } from './capabilities.ts';

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The 2-octet field: the AS, or AS_TRANS when it needs 4 octets (then see the capability). */
  myAs: number;
  /** Seconds. */
  holdTime: number;
  /** Dotted quad. */
  bgpId: string;
  capabilities: Capability[];
}

export interface UpdateMessage {
  type: 'update';
  /** IPv4 unicast prefixes withdrawn in the base field. */
  withdrawn: string[];
  attributes: PathAttribute[];
  /** IPv4 unicast prefixes advertised in the base field. */
  nlri: string[];
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Uint8Array;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
  /** RFC 7313: 0 normal request, 1 BoRR, 2 EoRR; a receiver ignores any other value. */
  subtype: number;
}

export type Message =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

/** The NOTIFICATION fields an error asks for. */
export interface NotificationFields {
  code: number;
  subcode: number;
  data: Uint8Array;
}

export interface Discarded {
  code: number | undefined;
  reason: string;
}

export type Decoded<M extends Message = Message> =
  | { kind: 'message'; message: M }
  /** Usable message with the offending attributes removed (RFC 7606 §2 "attribute discard"). */
  | {
      kind: 'attribute-discard';
      message: M;
      discarded: Discarded[];
      notification: NotificationFields;
      reason: string;
    }
  /** Every route the UPDATE carried is to be treated as withdrawn (RFC 7606 §2). */
  | { kind: 'treat-as-withdraw'; withdrawn: string[]; notification: NotificationFields; reason: string }
  /** Forget that family from this peer for the session's life (RFC 4760 §7, RFC 7606 §2). */
  | { kind: 'afi-safi-disable'; afi: number; safi: number; notification: NotificationFields; reason: string }
  /** Send `notification` and close (RFC 4271 §6). */
  | { kind: 'session-reset'; notification: NotificationFields; reason: string };

export type DecodeError = Exclude<Decoded, { kind: 'message' } | { kind: 'attribute-discard' }>;

const EMPTY = new Uint8Array(0);

export function notification(code: number, subcode: number, data: Uint8Array = EMPTY): NotificationMessage {
  return { type: 'notification', code, subcode, data };
}

const reset = (code: number, subcode: number, reason: string, data: Uint8Array = EMPTY): DecodeError => ({
  kind: 'session-reset',
  notification: { code, subcode, data },
  reason,
});

// ---------------------------------------------------------------------------------------------
// Framing.

export type Frame =
  | { kind: 'need-more' }
  | { kind: 'frame'; type: number; body: Buffer; length: number }
  | { kind: 'error'; error: DecodeError };

/**
 * Reads the message starting at `offset`. RFC 4271 §6.1 header checks, in order: marker all ones
 * (else Connection Not Synchronized), length 19..4096 (else Bad Message Length, data = the length
 * field), a known type (else Bad Message Type, data = the type), then the per-type minimum (and
 * KEEPALIVE's exact 19). Header errors are reported as soon as the 19 header octets are in, so a
 * garbage stream is refused without waiting for a length that may never come.
 */
export function readFrame(buf: Uint8Array, offset = 0): Frame {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length - offset < HEADER_LENGTH) return { kind: 'need-more' };
  for (let i = 0; i < 16; i++) {
    if (b[offset + i] !== 0xff) {
      return {
        kind: 'error',
        error: reset(
          ErrorCode.MESSAGE_HEADER,
          HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED,
          'marker is not all ones',
        ),
      };
    }
  }
  const length = b.readUInt16BE(offset + 16);
  const type = b[offset + 18]!;
  const lengthField = Uint8Array.from(b.subarray(offset + 16, offset + 18));
  const badLength = (why: string): Frame => ({
    kind: 'error',
    error: reset(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, why, lengthField),
  });
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH)
    return badLength(`length ${length} outside 19..4096`);
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    return {
      kind: 'error',
      error: reset(
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_TYPE,
        `message type ${type}`,
        Uint8Array.of(type),
      ),
    };
  }
  if (length < min) return badLength(`length ${length} below ${min} for type ${type}`);
  if (type === MessageType.KEEPALIVE && length !== HEADER_LENGTH)
    return badLength(`KEEPALIVE of length ${length}`);
  if (b.length - offset < length) return { kind: 'need-more' };
  return { kind: 'frame', type, body: b.subarray(offset + HEADER_LENGTH, offset + length), length };
}

/** Splits a stream buffer into whole messages; `rest` is the incomplete tail to keep. */
export function splitFrames(buf: Uint8Array): {
  frames: { type: number; body: Buffer }[];
  rest: Buffer;
  error?: DecodeError;
} {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames: { type: number; body: Buffer }[] = [];
  let off = 0;
  for (;;) {
    const f = readFrame(b, off);
    if (f.kind === 'need-more') return { frames, rest: b.subarray(off) };
    if (f.kind === 'error') return { frames, rest: b.subarray(off), error: f.error };
    frames.push({ type: f.type, body: f.body });
    off += f.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding message bodies.

export function decodeBody(type: number, body: Buffer, ctx: CodecContext): Decoded {
  const min = MIN_LENGTH[type];
  if (min !== undefined && body.length < min - HEADER_LENGTH) {
    // readFrame already refuses these; checked again so a direct caller cannot make us read past the end.
    const field = Buffer.alloc(2);
    field.writeUInt16BE(body.length + HEADER_LENGTH);
    return reset(
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      `body of ${body.length} octets`,
      field,
    );
  }
  switch (type) {
    case MessageType.OPEN:
      return decodeOpen(body);
    case MessageType.UPDATE:
      return decodeUpdate(body, ctx);
    case MessageType.NOTIFICATION:
      // RFC 4271 §6.4: nothing in a NOTIFICATION can be answered, so every code/subcode is accepted.
      return {
        kind: 'message',
        message: notification(body[0]!, body[1]!, Uint8Array.from(body.subarray(2))),
      };
    case MessageType.KEEPALIVE:
      return { kind: 'message', message: { type: 'keepalive' } };
    case MessageType.ROUTE_REFRESH: {
      const subtype = body[2]!;
      // RFC 7313 §5: BoRR/EoRR must be exactly AFI/subtype/SAFI. A normal request may be followed
      // by ORF entries (RFC 5291), which this speaker does not negotiate and so ignores.
      if ((subtype === 1 || subtype === 2) && body.length !== 4) {
        return reset(
          ErrorCode.ROUTE_REFRESH_MESSAGE,
          RouteRefreshSubcode.INVALID_MESSAGE_LENGTH,
          `ROUTE-REFRESH subtype ${subtype} with ${body.length} octets`,
          Uint8Array.from(body),
        );
      }
      return {
        kind: 'message',
        message: { type: 'route-refresh', afi: body.readUInt16BE(0), safi: body[3]!, subtype },
      };
    }
    default:
      return reset(
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_TYPE,
        `message type ${type}`,
        Uint8Array.of(type),
      );
  }
}

/** One whole message (header included): readFrame + decodeBody, and no trailing octets. */
export function decodeMessage(bytes: Uint8Array, ctx: CodecContext): Decoded {
  const f = readFrame(bytes);
  if (f.kind === 'error') return f.error;
  if (f.kind === 'need-more' || f.length !== bytes.length) {
    const field = bytes.length >= 18 ? Uint8Array.from(bytes.subarray(16, 18)) : EMPTY;
    return reset(
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      'length field does not match the message',
      field,
    );
  }
  return decodeBody(f.type, f.body, ctx);
}

function decodeOpen(body: Buffer): Decoded<OpenMessage> | DecodeError {
  const version = body[0]!;
  const myAs = body.readUInt16BE(1);
  const holdTime = body.readUInt16BE(3);
  const bgpId = formatIPv4(body.subarray(5, 9));
  const optLen = body[9]!;
  const malformed = (why: string) => reset(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, why);
  if (10 + optLen !== body.length) {
    return malformed(
      `optional parameters length ${optLen} does not match the message (${body.length - 10} octets)`,
    );
  }
  const capabilities: Capability[] = [];
  let i = 10;
  while (i < body.length) {
    if (i + 2 > body.length) return malformed('optional parameter header truncated');
    const ptype = body[i]!;
    const plen = body[i + 1]!;
    if (i + 2 + plen > body.length) return malformed(`optional parameter ${ptype} overruns the message`);
    if (ptype !== ParamType.CAPABILITIES) {
      // RFC 9072's extended parameters (type 255) are not supported; a peer sends them only when
      // its parameters exceed 255 octets.
      return reset(
        ErrorCode.OPEN_MESSAGE,
        OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER,
        `optional parameter type ${ptype}`,
      );
    }
    const caps = decodeCapabilities(body.subarray(i + 2, i + 2 + plen));
    if (typeof caps === 'string') return malformed(caps);
    capabilities.push(...caps);
    i += 2 + plen;
  }
  return { kind: 'message', message: { type: 'open', version, myAs, holdTime, bgpId, capabilities } };
}

/** Every prefix an UPDATE names (reachable or not), for treat-as-withdraw. */
function everyPrefix(withdrawn: string[], nlri: string[], attrs: readonly PathAttribute[]): string[] {
  const out = [...withdrawn, ...nlri];
  for (const a of attrs) {
    if (a.type === 'mp-reach') out.push(...a.nlri);
    if (a.type === 'mp-unreach') out.push(...a.withdrawn);
  }
  return out;
}

function decodeUpdate(body: Buffer, ctx: CodecContext): Decoded<UpdateMessage> | DecodeError {
  const malformedList = (why: string) =>
    reset(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, why);
  const wl = body.readUInt16BE(0);
  if (2 + wl + 2 > body.length) return malformedList(`withdrawn routes length ${wl} overruns the message`);
  const al = body.readUInt16BE(2 + wl);
  if (2 + wl + 2 + al > body.length)
    return malformedList(`total path attribute length ${al} overruns the message`);
  // RFC 7606 §5.3: an NLRI field that cannot be parsed leaves nothing to withdraw reliably.
  const invalidNetwork = (why: string) =>
    reset(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.INVALID_NETWORK_FIELD, why);
  const w = decodePrefixes(Afi.IPV4, body.subarray(2, 2 + wl));
  if (!w.ok) return invalidNetwork(`withdrawn routes: ${w.reason}`);
  const n = decodePrefixes(Afi.IPV4, body.subarray(4 + wl + al));
  if (!n.ok) return invalidNetwork(`NLRI: ${n.reason}`);
  const list: AttributeList = decodeAttributeList(body.subarray(4 + wl, 4 + wl + al), ctx);
  const problems = [...list.problems];
  const present = new Set(list.attributes.map(attributeCode));
  const failed = new Set(list.problems.map((p) => p.code));
  const has = (code: number) => present.has(code) || failed.has(code);
  const reach =
    n.prefixes.length > 0 || list.attributes.some((a) => a.type === 'mp-reach' && a.nlri.length > 0);
  if (reach) {
    // RFC 7606 §3 d; NEXT_HOP is only mandatory for the base NLRI field (RFC 4760 §3).
    const mandatory = [
      AttrType.ORIGIN,
      AttrType.AS_PATH,
      ...(n.prefixes.length > 0 ? [AttrType.NEXT_HOP] : []),
    ];
    for (const code of mandatory) {
      if (!has(code)) {
        problems.push({
          reaction: 'treat-as-withdraw',
          subcode: UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
          data: Uint8Array.of(code),
          reason: `missing well-known attribute ${code}`,
          code,
        });
      }
    }
  }
  const message: UpdateMessage = {
    type: 'update',
    withdrawn: w.prefixes,
    attributes: list.attributes,
    nlri: n.prefixes,
  };
  if (problems.length === 0) return { kind: 'message', message };
  // RFC 7606 §3 j: the strongest reaction wins; its first instance names the NOTIFICATION.
  let worst: Problem = problems[0]!;
  for (const p of problems) if (REACTION_STRENGTH[p.reaction] > REACTION_STRENGTH[worst.reaction]) worst = p;
  const fields = { code: ErrorCode.UPDATE_MESSAGE, subcode: worst.subcode, data: worst.data };
  const reason = problems.map((p) => p.reason).join('; ');
  switch (worst.reaction) {
    case 'session-reset':
      return { kind: 'session-reset', notification: fields, reason };
    case 'afi-safi-disable':
      return { kind: 'afi-safi-disable', afi: worst.afi!, safi: worst.safi!, notification: fields, reason };
    case 'treat-as-withdraw':
      return {
        kind: 'treat-as-withdraw',
        withdrawn: everyPrefix(w.prefixes, n.prefixes, list.attributes),
        notification: fields,
        reason,
      };
    case 'attribute-discard':
      return {
        kind: 'attribute-discard',
        message,
        discarded: problems.map((p) => ({ code: p.code, reason: p.reason })),
        notification: fields,
        reason,
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding.

function frame(type: number, body: Buffer): Buffer {
  const length = HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH) throw new Error(`BGP message of ${length} octets exceeds 4096; split it`);
  const head = Buffer.alloc(HEADER_LENGTH, 0xff);
  head.writeUInt16BE(length, 16);
  head[18] = type;
  return Buffer.concat([head, body]);
}

export function encodeMessage(m: Message, ctx: CodecContext): Buffer {
  switch (m.type) {
    case 'open': {
      const caps = Buffer.concat(m.capabilities.map(encodeCapability));
      if (caps.length > 253) throw new Error('capabilities exceed one optional parameter (253 octets)');
      const params = caps.length
        ? Buffer.concat([Buffer.from([ParamType.CAPABILITIES, caps.length]), caps])
        : Buffer.alloc(0);
      const id = parseIPv4(m.bgpId);
      if (!id) throw new Error(`BGP identifier ${m.bgpId} is not a dotted quad`);
      const fixed = Buffer.alloc(10);
      fixed[0] = m.version;
      fixed.writeUInt16BE(m.myAs, 1);
      fixed.writeUInt16BE(m.holdTime, 3);
      id.copy(fixed, 5);
      fixed[9] = params.length;
      return frame(MessageType.OPEN, Buffer.concat([fixed, params]));
    }
    case 'update': {
      const w = encodePrefixes(Afi.IPV4, m.withdrawn);
      const a = Buffer.concat(m.attributes.map((x) => encodeAttribute(x, ctx)));
      const n = encodePrefixes(Afi.IPV4, m.nlri);
      const wl = Buffer.alloc(2);
      wl.writeUInt16BE(w.length);
      const al = Buffer.alloc(2);
      al.writeUInt16BE(a.length);
      return frame(MessageType.UPDATE, Buffer.concat([wl, w, al, a, n]));
    }
    case 'notification':
      return frame(
        MessageType.NOTIFICATION,
        Buffer.concat([Buffer.from([m.code, m.subcode]), Buffer.from(m.data)]),
      );
    case 'keepalive':
      return frame(MessageType.KEEPALIVE, Buffer.alloc(0));
    case 'route-refresh':
      return frame(MessageType.ROUTE_REFRESH, Buffer.from([m.afi >> 8, m.afi & 0xff, m.subtype, m.safi]));
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers the shell needs.

export function buildOpen(o: {
  asn: number;
  holdTime: number;
  bgpId: string;
  families: { afi: number; safi: number }[];
  routeRefresh?: boolean;
  gracefulRestart?: { restartTime: number; restarting: boolean; forwarding: boolean };
}): OpenMessage {
  const capabilities: Capability[] = o.families.map((f) => ({
    kind: 'multiprotocol',
    afi: f.afi,
    safi: f.safi,
  }));
  if (o.routeRefresh) capabilities.push({ kind: 'route-refresh' });
  if (o.gracefulRestart) {
    capabilities.push({
      kind: 'graceful-restart',
      restarting: o.gracefulRestart.restarting,
      notification: false,
      restartTime: o.gracefulRestart.restartTime,
      families: o.families.map((f) => ({ ...f, forwarding: o.gracefulRestart!.forwarding })),
    });
  }
  capabilities.push({ kind: 'four-octet-as', asn: o.asn });
  return {
    type: 'open',
    version: BGP_VERSION,
    myAs: o.asn > 0xffff ? 23456 : o.asn,
    holdTime: o.holdTime,
    bgpId: o.bgpId,
    capabilities,
  };
}

/** The AS a peer's OPEN names: the 4-octet capability's when present (RFC 6793 §4.1). */
export function openAs(open: OpenMessage): number {
  const four = open.capabilities.find((c) => c.kind === 'four-octet-as');
  return four && four.kind === 'four-octet-as' ? four.asn : open.myAs;
}

/**
 * End-of-RIB (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an UPDATE with only an empty
 * MP_UNREACH_NLRI for the other families.
 */
export function endOfRib(afi: number, safi: number): UpdateMessage {
  if (afi === Afi.IPV4 && safi === 1) return { type: 'update', withdrawn: [], attributes: [], nlri: [] };
  const attr: PathAttribute =
    afi === Afi.IPV6 && safi === 1
      ? { type: 'mp-unreach', afi, safi, withdrawn: [] }
      : { type: 'mp-other', code: 15, afi, safi, rest: new Uint8Array(0) };
  return { type: 'update', withdrawn: [], attributes: [attr], nlri: [] };
}

export function isEndOfRib(u: UpdateMessage): { afi: number; safi: number } | undefined {
  if (u.withdrawn.length || u.nlri.length) return undefined;
  if (u.attributes.length === 0) return { afi: Afi.IPV4, safi: 1 };
  const [a] = u.attributes;
  if (u.attributes.length !== 1 || !a) return undefined;
  if (a.type === 'mp-unreach' && a.withdrawn.length === 0) return { afi: a.afi, safi: a.safi };
  if (a.type === 'mp-other' && a.code === 15 && a.rest.length === 0) return { afi: a.afi, safi: a.safi };
  return undefined;
}

/**
 * Cease with a shutdown communication (RFC 8203, length limit raised to 255 by RFC 9003) for
 * Administrative Shutdown / Reset: one length octet, then UTF-8.
 */
export function shutdownNotification(
  subcode: typeof CeaseSubcode.ADMINISTRATIVE_SHUTDOWN | typeof CeaseSubcode.ADMINISTRATIVE_RESET,
  text: string,
): NotificationMessage {
  const utf8 = Buffer.from(text, 'utf8');
  if (utf8.length > 255) throw new Error('shutdown communication longer than 255 octets');
  return notification(
    ErrorCode.CEASE,
    subcode,
    Uint8Array.from(Buffer.concat([Buffer.from([utf8.length]), utf8])),
  );
}

/** The shutdown communication a received Cease carries, if it is well formed. */
export function shutdownText(n: NotificationMessage): string | undefined {
  if (n.code !== ErrorCode.CEASE) return undefined;
  if (n.subcode !== CeaseSubcode.ADMINISTRATIVE_SHUTDOWN && n.subcode !== CeaseSubcode.ADMINISTRATIVE_RESET)
    return undefined;
  const len = n.data[0];
  if (len === undefined || 1 + len > n.data.length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(n.data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}

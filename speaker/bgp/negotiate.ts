import { parseIPv4 } from '../layer2/addr.ts';
import type { Family, GracefulRestartFamily } from './capabilities.ts';
import { type NotificationFields, type OpenMessage, openAs } from './codec.ts';
import { Afi, BGP_VERSION, CapabilityCode, ErrorCode, OpenSubcode, Safi } from './constants.ts';

/**
 * What a session agrees on, derived from the two OPENs (pure). The FSM validates the peer's OPEN
 * with `validateOpen` before it ever calls `negotiate`.
 */

export type RequiredCapability =
  | 'four-octet-as'
  | 'route-refresh'
  | 'graceful-restart'
  | 'ipv4-unicast'
  | 'ipv6-unicast';

export interface PeerConfig {
  localAs: number;
  /** Our BGP identifier, dotted quad, non-zero. */
  localId: string;
  /** A number, or 'internal' (must equal localAs) / 'external' (must differ) to accept any such AS. */
  peerAs: number | 'internal' | 'external';
  /** Seconds we offer: 0 (no keepalives) or ≥ 3 (RFC 4271 §4.2). */
  holdTime: number;
  /** Seconds between connection attempts (RFC 4271 suggests 120; a LAN peer wants less). */
  connectRetryTime: number;
  /** Never initiate TCP; only accept the peer's connection. */
  passive: boolean;
  families: Family[];
  routeRefresh: boolean;
  /** RFC 4724, as the restarting side: `restarting` on the first OPEN after a restart. */
  gracefulRestart?: { restartTime: number; restarting: boolean; forwarding: boolean };
  /** The session is refused (OPEN Message Error / Unsupported Capability) without these. */
  required?: RequiredCapability[];
  /** Backoff between automatic restarts after a failure: doubles from `initial` up to `max` seconds. */
  idleHold: { initial: number; max: number };
  /** Seconds a session must stay Established before the backoff returns to `initial`. */
  stableTime: number;
  /** Hold timer while waiting for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 minutes). */
  openHoldTime?: number;
}

export interface Session {
  peerAs: number;
  peerId: string;
  internal: boolean;
  /** Negotiated seconds; 0 means no KEEPALIVEs and no hold timer. */
  holdTime: number;
  keepaliveTime: number;
  fourOctetAs: boolean;
  families: Family[];
  routeRefresh: boolean;
  /** Present when both sides advertised graceful restart. */
  gracefulRestart?: {
    peerRestartTime: number;
    peerRestarting: boolean;
    peerFamilies: GracefulRestartFamily[];
  };
}

const IPV4_UNICAST: Family = { afi: Afi.IPV4, safi: Safi.UNICAST };

/** A side's families: its multiprotocol capabilities, or IPv4 unicast alone when it sent none (RFC 4760 §8). */
export function familiesOf(open: OpenMessage): Family[] {
  const mp = open.capabilities.flatMap((c) =>
    c.kind === 'multiprotocol' ? [{ afi: c.afi, safi: c.safi }] : [],
  );
  return mp.length ? mp : [IPV4_UNICAST];
}

const hasCap = (open: OpenMessage, kind: string) => open.capabilities.some((c) => c.kind === kind);
const u32 = (dotted: string) => parseIPv4(dotted)?.readUInt32BE(0) ?? 0;

/** RFC 4271 §6.2 + RFC 6286 + RFC 5492 checks of the peer's OPEN; the NOTIFICATION to send when it fails. */
export function validateOpen(config: PeerConfig, open: OpenMessage): NotificationFields | undefined {
  const err = (subcode: number, data: Uint8Array = new Uint8Array(0)): NotificationFields => ({
    code: ErrorCode.OPEN_MESSAGE,
    subcode,
    data,
  });
  // The data is the largest version we support (RFC 4271 §6.2).
  if (open.version !== BGP_VERSION)
    return err(OpenSubcode.UNSUPPORTED_VERSION_NUMBER, Uint8Array.of(0, BGP_VERSION));
  const peerAs = openAs(open);
  const asOk =
    config.peerAs === 'internal'
      ? peerAs === config.localAs
      : config.peerAs === 'external'
        ? peerAs !== config.localAs
        : peerAs === config.peerAs;
  if (!asOk || peerAs === 0) return err(OpenSubcode.BAD_PEER_AS);
  const internal = peerAs === config.localAs;
  // RFC 6286 §2.2: any non-zero 32-bit value; for iBGP it must differ from ours.
  if (u32(open.bgpId) === 0 || (internal && u32(open.bgpId) === u32(config.localId))) {
    return err(OpenSubcode.BAD_BGP_IDENTIFIER);
  }
  // RFC 4271 §4.2: hold time 0 or at least 3 seconds.
  if (open.holdTime === 1 || open.holdTime === 2) return err(OpenSubcode.UNACCEPTABLE_HOLD_TIME);
  const missing: Buffer[] = [];
  const peerFamilies = familiesOf(open);
  for (const r of config.required ?? []) {
    if (r === 'ipv4-unicast' || r === 'ipv6-unicast') {
      const afi = r === 'ipv4-unicast' ? Afi.IPV4 : Afi.IPV6;
      if (!peerFamilies.some((f) => f.afi === afi && f.safi === Safi.UNICAST)) {
        missing.push(Buffer.from([CapabilityCode.MULTIPROTOCOL, 4, 0, afi, 0, Safi.UNICAST]));
      }
    } else if (r === 'four-octet-as' && !hasCap(open, 'four-octet-as')) {
      const v = Buffer.alloc(6);
      v[0] = CapabilityCode.FOUR_OCTET_AS;
      v[1] = 4;
      v.writeUInt32BE(config.localAs, 2);
      missing.push(v);
    } else if (r === 'route-refresh' && !hasCap(open, 'route-refresh')) {
      missing.push(Buffer.from([CapabilityCode.ROUTE_REFRESH, 0]));
    } else if (r === 'graceful-restart' && !hasCap(open, 'graceful-restart')) {
      missing.push(Buffer.from([CapabilityCode.GRACEFUL_RESTART, 2, 0, 0]));
    }
  }
  // RFC 5492 §5: the data lists the capabilities we needed and did not get.
  if (missing.length) return err(OpenSubcode.UNSUPPORTED_CAPABILITY, Uint8Array.from(Buffer.concat(missing)));
  return undefined;
}

export function negotiate(config: PeerConfig, local: OpenMessage, remote: OpenMessage): Session {
  const peerAs = openAs(remote);
  const holdTime = Math.min(local.holdTime, remote.holdTime);
  const ours = familiesOf(local);
  const theirs = familiesOf(remote);
  const families = ours.filter((f) => theirs.some((g) => g.afi === f.afi && g.safi === f.safi));
  const grLocal = local.capabilities.find((c) => c.kind === 'graceful-restart');
  const grRemote = remote.capabilities.find((c) => c.kind === 'graceful-restart');
  const session: Session = {
    peerAs,
    peerId: remote.bgpId,
    internal: peerAs === config.localAs,
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    fourOctetAs: hasCap(local, 'four-octet-as') && hasCap(remote, 'four-octet-as'),
    families,
    routeRefresh: hasCap(local, 'route-refresh') && hasCap(remote, 'route-refresh'),
  };
  if (grLocal && grRemote && grRemote.kind === 'graceful-restart') {
    session.gracefulRestart = {
      peerRestartTime: grRemote.restartTime,
      peerRestarting: grRemote.restarting,
      peerFamilies: grRemote.families,
    };
  }
  return session;
}

/** Collision resolution (RFC 4271 §6.8, RFC 6286 §2.3): which of two connections to one peer survives. */
export type CollisionOutcome = 'none' | 'close-ours' | 'close-theirs';

/**
 * `ours` is the state of the connection we initiated, `theirs` of the one the peer initiated. A
 * collision exists once both have an OPEN exchanged (OpenConfirm or Established); an Established
 * connection always wins; otherwise the connection initiated by the higher BGP identifier survives,
 * and with equal identifiers (possible only between ASes) the one initiated by the higher AS.
 */
export function resolveCollision(
  ours: string,
  theirs: string,
  localId: string,
  remoteId: string,
  localAs = 0,
  remoteAs = 0,
): CollisionOutcome {
  const opened = (s: string) => s === 'OpenConfirm' || s === 'Established';
  if (!opened(ours) || !opened(theirs)) return 'none';
  if (ours === 'Established') return 'close-theirs';
  if (theirs === 'Established') return 'close-ours';
  const l = u32(localId);
  const r = u32(remoteId);
  if (l !== r) return l < r ? 'close-ours' : 'close-theirs';
  return localAs < remoteAs ? 'close-ours' : 'close-theirs';
}

/**
 * Every problem with a PeerConfig, as sentences naming the field (empty when valid). The shell
 * refuses to start a session from a config with problems rather than let the peer refuse it.
 */
export function checkPeerConfig(c: PeerConfig): string[] {
  const errs: string[] = [];
  const asn = (n: number) => Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
  if (!asn(c.localAs)) errs.push(`localAs ${c.localAs} must be an AS number 1..4294967295`);
  if (typeof c.peerAs === 'number' && !asn(c.peerAs)) {
    errs.push(`peerAs ${c.peerAs} must be an AS number 1..4294967295, 'internal' or 'external'`);
  }
  if (!parseIPv4(c.localId) || u32(c.localId) === 0) {
    errs.push(`localId ${JSON.stringify(c.localId)} must be a non-zero dotted quad (RFC 6286)`);
  }
  if (
    !Number.isInteger(c.holdTime) ||
    c.holdTime < 0 ||
    c.holdTime > 0xffff ||
    c.holdTime === 1 ||
    c.holdTime === 2
  ) {
    errs.push(`holdTime ${c.holdTime} must be 0 or 3..65535 seconds (RFC 4271 §4.2)`);
  }
  if (!(c.connectRetryTime > 0)) errs.push(`connectRetryTime ${c.connectRetryTime} must be > 0 seconds`);
  if (c.openHoldTime !== undefined && !(c.openHoldTime > 0))
    errs.push(`openHoldTime ${c.openHoldTime} must be > 0 seconds`);
  if (c.families.length === 0) errs.push('families must name at least one address family');
  for (const f of c.families) {
    if (!((f.afi === Afi.IPV4 || f.afi === Afi.IPV6) && f.safi === Safi.UNICAST)) {
      errs.push(`family AFI ${f.afi} SAFI ${f.safi} is not supported (IPv4/IPv6 unicast only)`);
    }
  }
  const gr = c.gracefulRestart;
  if (gr && (!Number.isInteger(gr.restartTime) || gr.restartTime < 0 || gr.restartTime > 4095)) {
    errs.push(`gracefulRestart.restartTime ${gr.restartTime} must be 0..4095 seconds (RFC 4724)`);
  }
  if (!(c.idleHold.initial > 0) || !(c.idleHold.max >= c.idleHold.initial)) {
    errs.push(`idleHold must have 0 < initial <= max (got ${c.idleHold.initial}, ${c.idleHold.max})`);
  }
  if (!(c.stableTime > 0)) errs.push(`stableTime ${c.stableTime} must be > 0 seconds`);
  return errs;
}

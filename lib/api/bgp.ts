// Pure checks of BGPPeer / BGPAdvertisement objects: the parts CEL cannot express (or that span
// objects: aggregation length against a pool's blocks, the password Secret's namespace and type),
// plus the parsers the planner (speaker/bgp/plan.ts) uses. Every problem is one sentence naming
// the field, ready for a Warning Event on the object. The CRD rules (lib/api/crds/bgp*.ts) reject
// the rest at admission; these functions repeat the cheap ones so objects that never passed the
// apiserver (unit tests, `portico` CLI input) get the same answer.
import { createHash } from 'node:crypto';
import { parseAddressEntry } from '../net/interval.ts';
import { parseIP } from '../net/ip.ts';
import { API_VERSION } from './group.ts';
import type {
  BGPAdvertisement,
  BGPPeer,
  BGPSessionState,
  BGPSessionStateStatus,
  IPAddressPool,
  SecretReference,
} from './types.ts';
import { BGP_SESSION_LABELS, DEFAULTS } from './types.ts';

// ------------------------------------------------------------------------------------------------
// Durations (metav1.Duration, Go's time.ParseDuration syntax)

/** Seconds per unit of a Go duration (time.ParseDuration). */
export const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Regex the CRD uses for duration fields (the same grammar, minus the sign Go also accepts). */
export const DURATION_PATTERN = '^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$';

/** "90s", "1m30s", "1.5h", "0" → seconds; a sentence when it is not a Go duration. */
export function parseDuration(text: string): number | string {
  if (text === '0') return 0;
  if (!new RegExp(DURATION_PATTERN, 'u').test(text)) {
    return `${JSON.stringify(text)} is not a duration: write e.g. 90s, 3m or 1m30s`;
  }
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|μs|ms|s|m|h)/gu)) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  }
  return Math.round(total * 1e9) / 1e9;
}

// ------------------------------------------------------------------------------------------------
// Communities

/** Well-known communities by name (RFC 1997, 3765, 7611, 7999, 8326), upper-case with `_`. */
export const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = {
  GRACEFUL_SHUTDOWN: 0xffff0000, // RFC 8326, 65535:0
  ACCEPT_OWN: 0xffff0001, // RFC 7611, 65535:1
  BLACKHOLE: 0xffff029a, // RFC 7999, 65535:666
  NO_EXPORT: 0xffffff01, // RFC 1997, 65535:65281
  NO_ADVERTISE: 0xffffff02, // RFC 1997, 65535:65282
  NO_EXPORT_SUBCONFED: 0xffffff03, // RFC 1997, 65535:65283
  LOCAL_AS: 0xffffff03, // the same value under its common router-CLI name
  NO_PEER: 0xffffff04, // RFC 3765, 65535:65284
};

export type ParsedCommunity =
  | { kind: 'standard'; value: number }
  | { kind: 'large'; value: [number, number, number] }
  | { kind: 'invalid'; error: string };

const U16 = /^(0|[1-9][0-9]{0,4})$/;
const U32 = /^(0|[1-9][0-9]{0,9})$/;

/**
 * "65535:65281" → 32-bit value; "no-export" / "NO_EXPORT" → its RFC value; "large:1:2:3" →
 * [global admin, local 1, local 2] (RFC 8092). Never throws.
 */
export function parseCommunity(text: string): ParsedCommunity {
  const q = JSON.stringify(text);
  const named = WELL_KNOWN_COMMUNITIES[text.trim().toUpperCase().replaceAll('-', '_')];
  if (named !== undefined) return { kind: 'standard', value: named };
  const parts = text.split(':');
  if (parts[0]?.toLowerCase() === 'large') {
    const nums = parts.slice(1);
    if (nums.length !== 3 || !nums.every((n) => U32.test(n) && Number(n) <= 0xffffffff)) {
      return {
        kind: 'invalid',
        error: `community ${q}: a large community is large:A:B:C with three numbers 0..4294967295 (RFC 8092)`,
      };
    }
    return { kind: 'large', value: [Number(nums[0]), Number(nums[1]), Number(nums[2])] };
  }
  if (parts.length === 2 && parts.every((n) => U16.test(n) && Number(n) <= 0xffff)) {
    return { kind: 'standard', value: Number(parts[0]) * 0x10000 + Number(parts[1]) };
  }
  return {
    kind: 'invalid',
    error:
      `community ${q} is not valid: write AS:value with two numbers 0..65535 (65535:65281), a well-known ` +
      `name (no-export, no-advertise, no-export-subconfed, local-as, no-peer, blackhole, graceful-shutdown, ` +
      `accept-own) or large:A:B:C`,
  };
}

/** "65535:65281" spelling of a 32-bit community. */
export function formatCommunity(value: number): string {
  return `${Math.floor(value / 0x10000)}:${value % 0x10000}`;
}

// ------------------------------------------------------------------------------------------------
// Object checks

const isAsn = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 0xffffffff;

function ipFamily(text: string | undefined): 4 | 6 | undefined {
  if (text === undefined) return undefined;
  const r = parseIP(text);
  return r.ok ? r.value.family : undefined;
}

/** The effective timers of a peer in seconds, or the problems with them. */
export function peerTimers(
  spec: BGPPeer['spec'],
): { holdTime: number; keepaliveTime: number; connectTime: number } | { problems: string[] } {
  const problems: string[] = [];
  const read = (field: 'holdTime' | 'keepaliveTime' | 'connectTime', dflt: string | undefined) => {
    const text = spec[field] ?? dflt;
    if (text === undefined) return undefined;
    const v = parseDuration(text);
    if (typeof v === 'string') {
      problems.push(`spec.${field}: ${v}`);
      return undefined;
    }
    return v;
  };
  const hold = read('holdTime', DEFAULTS.bgp.holdTime);
  const keepalive = read('keepaliveTime', undefined);
  const connect = read('connectTime', DEFAULTS.bgp.connectTime);
  if (hold !== undefined) {
    if (!Number.isInteger(hold)) problems.push(`spec.holdTime ${spec.holdTime}: BGP counts whole seconds`);
    else if ((hold > 0 && hold < 3) || hold > 65535) {
      problems.push(`spec.holdTime ${spec.holdTime}: must be 0s or 3s..65535s (RFC 4271 §4.2)`);
    }
  }
  if (keepalive !== undefined && hold !== undefined && !(keepalive < hold)) {
    problems.push(`spec.keepaliveTime ${spec.keepaliveTime} must be less than holdTime (${hold}s)`);
  }
  if (keepalive !== undefined && !Number.isInteger(keepalive)) {
    problems.push(`spec.keepaliveTime ${spec.keepaliveTime}: BGP counts whole seconds`);
  }
  if (connect !== undefined && !(connect >= 1)) {
    problems.push(`spec.connectTime ${spec.connectTime ?? ''}: must be at least 1s`);
  }
  if (problems.length || hold === undefined || connect === undefined) return { problems };
  return { holdTime: hold, keepaliveTime: keepalive ?? Math.floor(hold / 3), connectTime: connect };
}

/**
 * Problems with a BGPPeer on its own (empty = usable). `speakerNamespace` is where the speaker may
 * read Secrets: a passwordSecret elsewhere can never be resolved, as in MetalLB.
 */
export function checkPeer(peer: BGPPeer, speakerNamespace?: string): string[] {
  const s = peer.spec;
  const problems: string[] = [];
  if (!isAsn(s.myASN)) problems.push(`spec.myASN ${s.myASN} must be an AS number 1..4294967295`);
  if ((s.peerASN === undefined) === (s.dynamicASN === undefined)) {
    problems.push('exactly one of spec.peerASN and spec.dynamicASN must be set');
  }
  if (s.peerASN !== undefined && !isAsn(s.peerASN)) {
    problems.push(`spec.peerASN ${s.peerASN} must be an AS number 1..4294967295`);
  }
  if (s.dynamicASN !== undefined && s.dynamicASN !== 'internal' && s.dynamicASN !== 'external') {
    problems.push(`spec.dynamicASN ${JSON.stringify(s.dynamicASN)} must be internal or external`);
  }
  const fam = ipFamily(s.peerAddress);
  if (!fam) problems.push(`spec.peerAddress ${JSON.stringify(s.peerAddress)} is not an IP address`);
  if (s.sourceAddress !== undefined) {
    const sf = ipFamily(s.sourceAddress);
    if (!sf) problems.push(`spec.sourceAddress ${JSON.stringify(s.sourceAddress)} is not an IP address`);
    else if (fam && sf !== fam) {
      problems.push(`spec.sourceAddress ${s.sourceAddress} is IPv${sf} but peerAddress is IPv${fam}`);
    }
  }
  if (s.peerPort !== undefined && !(Number.isInteger(s.peerPort) && s.peerPort >= 1 && s.peerPort <= 65535)) {
    problems.push(`spec.peerPort ${s.peerPort} must be 1..65535`);
  }
  if (s.routerID !== undefined && (ipFamily(s.routerID) !== 4 || s.routerID === '0.0.0.0')) {
    problems.push(`spec.routerID ${JSON.stringify(s.routerID)} must be a non-zero IPv4 address (RFC 6286)`);
  }
  const internal = s.dynamicASN === 'internal' || (s.peerASN !== undefined && s.peerASN === s.myASN);
  if (s.ebgpMultiHop && internal) {
    problems.push('spec.ebgpMultiHop applies to external peers only; this peer is internal (iBGP)');
  }
  const t = peerTimers(s);
  if ('problems' in t) problems.push(...t.problems);
  if (s.passwordSecret && speakerNamespace !== undefined) {
    const ns = s.passwordSecret.namespace ?? speakerNamespace;
    if (ns !== speakerNamespace) {
      problems.push(
        `spec.passwordSecret ${ns}/${s.passwordSecret.name}: the speaker reads Secrets only in its own ` +
          `namespace ${speakerNamespace}; move the Secret there`,
      );
    }
  }
  return problems;
}

/** A core/v1 Secret, as much of it as the password check reads. */
export interface SecretLike {
  metadata?: { name?: string; namespace?: string };
  type?: string;
  /** base64 values, as the API returns them. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export const PASSWORD_SECRET_TYPE = 'kubernetes.io/basic-auth';
export const PASSWORD_SECRET_KEY = 'password';

/**
 * The TCP MD5 key in a peer's password Secret, or a sentence saying why there is none. MetalLB's
 * rules: type kubernetes.io/basic-auth, key `password`. RFC 2385 keys are at most 80 octets (Linux
 * TCP_MD5SIG_MAXKEYLEN).
 */
export function secretPassword(
  ref: SecretReference,
  secret: SecretLike | undefined,
): { password: string } | { error: string } {
  const name = `${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
  if (!secret) return { error: `password Secret ${name} not found` };
  if (secret.type !== PASSWORD_SECRET_TYPE) {
    return {
      error: `password Secret ${name} has type ${secret.type ?? 'Opaque'}; it must be ${PASSWORD_SECRET_TYPE}`,
    };
  }
  const b64 = secret.data?.[PASSWORD_SECRET_KEY];
  const password =
    b64 !== undefined
      ? Buffer.from(b64, 'base64').toString('utf8')
      : secret.stringData?.[PASSWORD_SECRET_KEY];
  if (password === undefined || password === '') {
    return { error: `password Secret ${name} has no (or an empty) key ${PASSWORD_SECRET_KEY}` };
  }
  if (Buffer.byteLength(password) > 80) {
    return { error: `password Secret ${name}: a TCP MD5 key holds at most 80 bytes (RFC 2385)` };
  }
  return { password };
}

/** Problems with an advertisement on its own: community syntax, aggregation lengths. */
export function checkAdvertisement(adv: BGPAdvertisement): string[] {
  const s = adv.spec ?? {};
  const problems: string[] = [];
  for (const c of s.communities ?? []) {
    const p = parseCommunity(c);
    if (p.kind === 'invalid') problems.push(`spec.communities: ${p.error}`);
  }
  const len = (v: number | undefined, max: number, field: string) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= max)) {
      problems.push(`spec.${field} ${v} must be 0..${max}`);
    }
  };
  len(s.aggregationLength, 32, 'aggregationLength');
  len(s.aggregationLengthV6, 128, 'aggregationLengthV6');
  if (
    s.localPref !== undefined &&
    !(Number.isInteger(s.localPref) && s.localPref >= 0 && s.localPref <= 0xffffffff)
  ) {
    problems.push(`spec.localPref ${s.localPref} must be 0..4294967295`);
  }
  return problems;
}

/**
 * The aggregate of a VIP must not reach outside the pool's blocks (MetalLB's rule): for each pool
 * entry of the family, the aggregation length must be at least the prefix length of the widest
 * CIDR block inside the entry (a CIDR entry is one block; a range is split into blocks). Empty =
 * fine.
 */
export function checkAggregation(adv: BGPAdvertisement, pool: IPAddressPool): string[] {
  const s = adv.spec ?? {};
  const v4 = s.aggregationLength ?? DEFAULTS.bgp.aggregationLength;
  const v6 = s.aggregationLengthV6 ?? DEFAULTS.bgp.aggregationLengthV6;
  const problems: string[] = [];
  for (const entry of pool.spec.addresses ?? []) {
    const e = parseAddressEntry(entry);
    if (!e.ok) continue; // the pool reports its own syntax errors
    const iv = e.value.interval;
    const agg = iv.family === 4 ? v4 : v6;
    const widest = widestBlock(iv.start, iv.end, iv.family === 4 ? 32 : 128);
    if (agg < widest) {
      problems.push(
        `${iv.family === 4 ? 'aggregationLength' : 'aggregationLengthV6'} ${agg} is shorter than /${widest}, ` +
          `the widest block of ${JSON.stringify(entry)} in pool ${pool.metadata.name}: the aggregate would ` +
          'cover addresses outside the pool',
      );
    }
  }
  return problems;
}

/** Smallest prefix length of the CIDR blocks that exactly cover [start, end]. */
function widestBlock(start: bigint, end: bigint, bits: number): number {
  let best = bits;
  let cur = start;
  while (cur <= end) {
    let host = 0;
    while (
      host < bits &&
      (cur & ((1n << BigInt(host + 1)) - 1n)) === 0n &&
      cur + (1n << BigInt(host + 1)) - 1n <= end
    ) {
      host++;
    }
    best = Math.min(best, bits - host);
    cur += 1n << BigInt(host);
  }
  return best;
}

/**
 * Name of the BGPSessionState of a node's session to a peer: `<node>-<peer>`. Both may be 253
 * characters; past the 253-character object name limit the name is cut and ends in a hash of the
 * pair, so it stays unique (the labels carry the full names).
 */
export function sessionStateName(node: string, peer: string): string {
  const name = `${node}-${peer}`;
  if (name.length <= 253) return name;
  const hash = createHash('sha256').update(`${node}/${peer}`).digest('hex').slice(0, 10);
  return `${name.slice(0, 242).replace(/[-.]+$/, '')}-${hash}`;
}

/** Label values are at most 63 characters; longer names are cut and hashed the same way. */
function labelValue(v: string): string {
  if (v.length <= 63) return v;
  const hash = createHash('sha256').update(v).digest('hex').slice(0, 10);
  return `${v.slice(0, 52).replace(/[-._]+$/, '')}-${hash}`;
}

/**
 * The object a speaker server-side-applies (field manager portico-speaker) for one session,
 * before its status: name, the two labels, and the Node and BGPPeer as owners, so the garbage
 * collector deletes it when either goes. Apply `sessionStateStatusBody` to `/status` after.
 */
export function sessionStateBody(
  node: { name: string; uid: string },
  peer: { name: string; uid: string },
): BGPSessionState {
  return {
    apiVersion: API_VERSION as 'portico.dev/v1alpha1',
    kind: 'BGPSessionState',
    metadata: {
      name: sessionStateName(node.name, peer.name),
      labels: {
        [BGP_SESSION_LABELS.node]: labelValue(node.name),
        [BGP_SESSION_LABELS.peer]: labelValue(peer.name),
      },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid },
        { apiVersion: API_VERSION, kind: 'BGPPeer', name: peer.name, uid: peer.uid },
      ],
    },
  };
}

/** The `/status` apply body of a session's BGPSessionState. */
export function sessionStateStatusBody(name: string, status: BGPSessionStateStatus): BGPSessionState {
  return {
    apiVersion: API_VERSION as 'portico.dev/v1alpha1',
    kind: 'BGPSessionState',
    metadata: { name },
    status,
  };
}

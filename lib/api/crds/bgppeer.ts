/** BGPPeer CRD: a router the speakers open a BGP session to (MetalLB's field names, ADR 101). */

import { DURATION_PATTERN } from '../bgp.ts';
import { KINDS } from '../group.ts';
import { lit } from './cel.ts';
import { conditions, labelSelector, namespaceName, objectName } from './common.ts';
import { type CustomResourceDefinition, customResourceDefinition } from './crd.ts';
import { arr, bool, int, int64, obj, str } from './openapi.ts';

/** Default hold time the planner applies (and the keepalive rule compares against). */
const DEFAULT_HOLD = '90s';

const isDuration = (v: string) => `${v}.matches(${lit(DURATION_PATTERN)})`;

const asn = (description: string) => int64(description, { minimum: 1, maximum: 4294967295 });

const ipAddress = (description: string, field: string) =>
  str(description, {
    maxLength: 45,
    'x-kubernetes-validations': [
      {
        rule: 'isIP(self)',
        messageExpression: `"${field} '" + self + "' is not an IPv4 or IPv6 address"`,
      },
    ],
  });

const duration = (description: string, field: string, extra: { rule: string; message: string }[] = []) =>
  str(description, {
    maxLength: 32,
    'x-kubernetes-validations': [
      {
        rule: isDuration('self'),
        messageExpression: `"${field} '" + self + "' is not a duration: write e.g. 90s, 3m or 1m30s"`,
      },
      ...extra.map((e) => ({ rule: `!${isDuration('self')} || (${e.rule})`, message: e.message })),
    ],
  });

const hold = has('holdTime');
function has(field: string): string {
  return `has(self.${field})`;
}
const holdOrDefault = `(${hold} ? self.holdTime : ${lit(DEFAULT_HOLD)})`;

const spec = obj(
  'A BGP router and how to talk to it. Speakers on the selected nodes each open one session to it.',
  {
    myASN: asn('Our AS number (1..4294967295; 4-octet AS numbers are supported, RFC 6793).'),
    peerASN: asn("The router's AS number. Exactly one of peerASN and dynamicASN."),
    dynamicASN: str(
      'Accept whatever AS the router announces, as long as it is internal (equal to myASN: iBGP) or external ' +
        '(different: eBGP). Exactly one of peerASN and dynamicASN.',
      { enum: ['internal', 'external'] },
    ),
    peerAddress: ipAddress('IPv4 or IPv6 address of the router.', 'peerAddress'),
    peerPort: int('TCP port of the router.', { minimum: 1, maximum: 65535, default: 179 }),
    sourceAddress: ipAddress(
      'Local address to open the session from; it must exist on the node. Absent = chosen by the routing table.',
      'sourceAddress',
    ),
    holdTime: duration(
      'Hold time we offer (a duration like 90s): 0s (no keepalives) or 3s to 65535s, whole seconds (RFC 4271 ' +
        "§4.2). The session uses the smaller of ours and the router's. Default 90s.",
      'holdTime',
      [
        {
          rule: "duration(self) == duration('0s') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",
          message: 'holdTime must be 0s or between 3s and 65535s (RFC 4271 §4.2)',
        },
      ],
    ),
    keepaliveTime: duration(
      'Interval between KEEPALIVEs (a duration), less than holdTime. Default holdTime / 3.',
      'keepaliveTime',
    ),
    connectTime: duration(
      'Time between connection attempts (a duration), at least 1s. Default 10s.',
      'connectTime',
      [{ rule: "duration(self) >= duration('1s')", message: 'connectTime must be at least 1s' }],
    ),
    passwordSecret: obj(
      'TCP MD5 signature (RFC 2385) key: a Secret of type kubernetes.io/basic-auth whose key `password` holds ' +
        'it. The Secret must live in the namespace Portico runs in (the speaker reads Secrets only there). ' +
        'There is deliberately no plain-text password field.',
      {
        name: objectName('Name of the Secret.'),
        namespace: namespaceName('Namespace of the Secret; absent = the namespace Portico runs in.'),
      },
      { required: ['name'], 'x-kubernetes-map-type': 'atomic' },
    ),
    ebgpMultiHop: bool(
      'The router is more than one hop away (eBGP only): packets leave with TTL 255 instead of 1.',
      { default: false },
    ),
    nodeSelectors: arr(
      'Nodes that peer with this router: a node matching any selector. Absent or empty = every node running ' +
        'a speaker.',
      labelSelector('Nodes (by label) that peer with this router.'),
      { maxItems: 16, 'x-kubernetes-list-type': 'atomic' },
    ),
    enableGracefulRestart: bool(
      'Advertise the graceful restart capability (RFC 4724): the router keeps our routes for up to 120s while ' +
        'a speaker restarts.',
      { default: false },
    ),
    routerID: str("BGP identifier (a non-zero IPv4 address). Absent = the node's IPv4 address.", {
      maxLength: 15,
      'x-kubernetes-validations': [
        {
          rule: "isIP(self) && ip(self).family() == 4 && self != '0.0.0.0'",
          messageExpression: `"routerID '" + self + "' must be a non-zero IPv4 address (RFC 6286)"`,
        },
      ],
    }),
  },
  {
    required: ['myASN', 'peerAddress'],
    'x-kubernetes-validations': [
      {
        rule: `${has('peerASN')} != ${has('dynamicASN')}`,
        message: 'exactly one of peerASN and dynamicASN must be set',
      },
      {
        rule:
          `!${has('sourceAddress')} || !isIP(self.sourceAddress) || !isIP(self.peerAddress) || ` +
          'ip(self.sourceAddress).family() == ip(self.peerAddress).family()',
        message: 'sourceAddress and peerAddress must be of the same IP family',
      },
      {
        rule:
          `!${has('keepaliveTime')} || !${isDuration('self.keepaliveTime')} || !${isDuration(holdOrDefault)} || ` +
          `duration(self.keepaliveTime) < duration(${holdOrDefault})`,
        message: `keepaliveTime must be less than holdTime (default ${DEFAULT_HOLD})`,
      },
      {
        rule:
          `!(${has('ebgpMultiHop')} && self.ebgpMultiHop) || ` +
          `(${has('dynamicASN')} ? self.dynamicASN == 'external' : (!${has('peerASN')} || self.peerASN != self.myASN))`,
        message: 'ebgpMultiHop applies to external (eBGP) peers only',
      },
    ],
  },
);

const status = obj('Observed state. Per-node session state is in BGPSessionState objects.', {
  conditions: conditions('Reserved for conditions of this peer.'),
});

export function bgpPeerCrd(): CustomResourceDefinition {
  return customResourceDefinition(
    KINDS.BGPPeer,
    'BGPPeer is a BGP router that Portico speakers advertise VIPs to.',
    { spec, status },
    [
      { name: 'Address', type: 'string', jsonPath: '.spec.peerAddress', description: 'Router address' },
      { name: 'My ASN', type: 'integer', jsonPath: '.spec.myASN', description: 'Our AS number' },
      { name: 'Peer ASN', type: 'integer', jsonPath: '.spec.peerASN', description: 'Router AS number' },
      {
        name: 'Dynamic ASN',
        type: 'string',
        jsonPath: '.spec.dynamicASN',
        description: 'internal / external when peerASN is absent',
      },
      {
        name: 'Port',
        type: 'integer',
        jsonPath: '.spec.peerPort',
        description: 'Router TCP port',
        priority: 1,
      },
      {
        name: 'Hold',
        type: 'string',
        jsonPath: '.spec.holdTime',
        description: 'Hold time offered (default 90s)',
        priority: 1,
      },
      {
        name: 'Nodes',
        type: 'string',
        jsonPath: '.spec.nodeSelectors',
        description: 'Nodes peering; none = every node running a speaker',
        priority: 1,
      },
    ],
    true,
  );
}

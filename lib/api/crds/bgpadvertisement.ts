/** BGPAdvertisement CRD: which pools are advertised over BGP, to which peers, from which nodes. */

import { WELL_KNOWN_COMMUNITIES } from '../bgp.ts';
import { KINDS } from '../group.ts';
import { lit } from './cel.ts';
import { conditions, labelSelector, objectName } from './common.ts';
import { type CustomResourceDefinition, customResourceDefinition } from './crd.ts';
import { arr, int, int64, obj, str } from './openapi.ts';

const U16 = '(0|[1-9][0-9]{0,4})';
const U32 = '(0|[1-9][0-9]{0,9})';
const names = Object.keys(WELL_KNOWN_COMMUNITIES).map((n) => lit(n.toLowerCase().replaceAll('_', '-')));
const standard =
  `(self.matches(${lit(`^${U16}:${U16}$`)}) && int(self.split(':')[0]) <= 65535 && ` +
  "int(self.split(':')[1]) <= 65535)";
const large =
  `(self.matches(${lit(`^[lL][aA][rR][gG][eE]:${U32}:${U32}:${U32}$`)}) && ` +
  "[1, 2, 3].all(i, int(self.split(':')[i]) <= 4294967295))";
const wellKnown = `self.lowerAscii().replace('_', '-') in [${names.join(', ')}]`;

const community = str(
  'A community: AS:value with two numbers 0..65535 (65535:65281, RFC 1997), a well-known name (no-export, ' +
    'no-advertise, no-export-subconfed, local-as, no-peer, blackhole, graceful-shutdown, accept-own; case and ' +
    '`_` / `-` ignored), or a large community large:A:B:C with three numbers 0..4294967295 (RFC 8092).',
  {
    maxLength: 40,
    'x-kubernetes-validations': [
      {
        rule: `${standard} || ${large} || ${wellKnown}`,
        messageExpression:
          `"community '" + self + "' is not valid: write AS:value with two numbers 0..65535 (65535:65281), a ` +
          `well-known name (no-export, no-advertise, ...) or large:A:B:C"`,
      },
    ],
  },
);

const spec = obj(
  'Which pools are advertised over BGP, to which peers, from which nodes and with which attributes. An ' +
    'empty spec advertises every pool to every peer from every node running a speaker.',
  {
    aggregationLength: int(
      'Prefix length advertised for IPv4 VIPs: 32 advertises the VIP itself; shorter advertises the covering ' +
        "block (only for Services with externalTrafficPolicy Cluster, and never wider than the pool's blocks).",
      { minimum: 0, maximum: 32, default: 32 },
    ),
    aggregationLengthV6: int('The same for IPv6 VIPs.', { minimum: 0, maximum: 128, default: 128 }),
    localPref: int64('LOCAL_PREF sent to internal (iBGP) peers; absent = 100. Ignored on eBGP sessions.', {
      minimum: 0,
      maximum: 4294967295,
    }),
    communities: arr('Communities attached to the advertised routes.', community, {
      maxItems: 32,
      'x-kubernetes-list-type': 'set',
    }),
    ipAddressPools: arr(
      'Names of IPAddressPools advertised. A pool named here or matched by ipAddressPoolSelectors is covered; ' +
        'when both are absent, every pool is covered.',
      objectName('Name of an IPAddressPool whose VIPs are advertised.'),
      { maxItems: 64, 'x-kubernetes-list-type': 'set' },
    ),
    ipAddressPoolSelectors: arr(
      'IPAddressPools (by label) advertised: a pool matching any selector is covered.',
      labelSelector('IPAddressPools (by label) advertised.'),
      { maxItems: 16, 'x-kubernetes-list-type': 'atomic' },
    ),
    nodeSelectors: arr(
      'Nodes that advertise: a node matching any selector. Absent or empty = every node running a speaker.',
      labelSelector('Nodes (by label) that advertise.'),
      { maxItems: 16, 'x-kubernetes-list-type': 'atomic' },
    ),
    peers: arr(
      'Names of BGPPeers to advertise to; absent or empty = every peer.',
      objectName('Name of a BGPPeer.'),
      { maxItems: 64, 'x-kubernetes-list-type': 'set' },
    ),
  },
);

const status = obj('Observed state. Reserved: no Portico component writes it in v1alpha1.', {
  conditions: conditions('Reserved for conditions of this advertisement.'),
});

export function bgpAdvertisementCrd(): CustomResourceDefinition {
  return customResourceDefinition(
    KINDS.BGPAdvertisement,
    'BGPAdvertisement makes speakers advertise the VIPs of the selected pools to BGP peers.',
    { spec, status },
    [
      {
        name: 'Pools',
        type: 'string',
        jsonPath: '.spec.ipAddressPools',
        description: 'Pools named; none and no pool selector = every pool',
      },
      {
        name: 'Peers',
        type: 'string',
        jsonPath: '.spec.peers',
        description: 'Peers named; none = every peer',
      },
      {
        name: 'Aggregation',
        type: 'integer',
        jsonPath: '.spec.aggregationLength',
        description: 'IPv4 prefix length advertised',
      },
      {
        name: 'Aggregation v6',
        type: 'integer',
        jsonPath: '.spec.aggregationLengthV6',
        description: 'IPv6 prefix length advertised',
        priority: 1,
      },
      { name: 'Local Pref', type: 'integer', jsonPath: '.spec.localPref', description: 'LOCAL_PREF (iBGP)' },
      {
        name: 'Communities',
        type: 'string',
        jsonPath: '.spec.communities',
        description: 'Communities attached',
        priority: 1,
      },
      {
        name: 'Nodes',
        type: 'string',
        jsonPath: '.spec.nodeSelectors',
        description: 'Nodes advertising; none = every node running a speaker',
        priority: 1,
      },
    ],
    false,
  );
}

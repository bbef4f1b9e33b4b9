/** L2Advertisement CRD: which pools are announced over ARP/NDP, by which nodes, on which interfaces. */
import { KINDS } from '../group.ts';
import { conditions, labelSelector, objectName } from './common.ts';
import { type CustomResourceDefinition, customResourceDefinition } from './crd.ts';
import { arr, obj, str } from './openapi.ts';

/**
 * Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/', ':' (alias syntax) or
 * whitespace, and not '.' or '..'.
 */
const interfaceName = str('A network interface name, e.g. eth0 or bond0.100.', {
  maxLength: 64,
  'x-kubernetes-validations': [
    {
      rule: "self.size() >= 1 && self.size() <= 15 && self.matches('^[^/:\\\\s]+$') && self != '.' && self != '..'",
      messageExpression: `"'" + self + "' is not a valid interface name: 1 to 15 characters, no '/', ':' or whitespace"`,
    },
  ],
});

const spec = obj(
  'Which pools are announced, by which nodes and on which interfaces. An empty spec announces every ' +
    'pool from every node running a speaker, on the interface whose subnet holds the VIP.',
  {
    ipAddressPools: arr(
      'Names of IPAddressPools announced. A pool named here or matched by ipAddressPoolSelector is ' +
        'covered; when both are absent, every pool is covered.',
      objectName('Name of an IPAddressPool whose VIPs are announced.'),
      { maxItems: 64, 'x-kubernetes-list-type': 'set' },
    ),
    ipAddressPoolSelector: labelSelector('IPAddressPools (by label) announced.'),
    nodeSelector: labelSelector('Nodes allowed to announce; absent = every node running a speaker.'),
    interfaces: arr(
      'Interfaces to announce on. Absent = the interface whose subnet contains the VIP (never every ' +
        'interface).',
      interfaceName,
      { maxItems: 32, 'x-kubernetes-list-type': 'set' },
    ),
  },
);

const status = obj('Observed state. Reserved: no Portico component writes it in v1alpha1.', {
  conditions: conditions(
    'Reserved for conditions of this advertisement. Whether a VIP is announced, and by which node, is the ' +
      'portico.dev/Announced condition of its Service.',
  ),
});

export function l2AdvertisementCrd(): CustomResourceDefinition {
  return customResourceDefinition(
    KINDS.L2Advertisement,
    'L2Advertisement makes speakers answer ARP (IPv4) and NDP (IPv6) for the VIPs of the selected pools.',
    { spec, status },
    // Absent fields are blank cells, which here mean "all" (pools, nodes) or "the interface whose
    // subnet holds the VIP"; the README says so next to the example output.
    [
      {
        name: 'Pools',
        type: 'string',
        jsonPath: '.spec.ipAddressPools',
        description: 'Pools named; none and no pool selector = every pool',
      },
      {
        name: 'Pool Selector',
        type: 'string',
        jsonPath: '.spec.ipAddressPoolSelector',
        description: 'Pools selected by label',
      },
      {
        name: 'Nodes',
        type: 'string',
        jsonPath: '.spec.nodeSelector',
        description: 'Node selector of the announcing nodes; none = every node running a speaker',
      },
      {
        name: 'Interfaces',
        type: 'string',
        jsonPath: '.spec.interfaces',
        description: 'Interfaces announced on; none = the interface whose subnet holds the VIP',
      },
    ],
    false,
  );
}

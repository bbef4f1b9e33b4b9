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
      objectName('An IPAddressPool name.'),
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

const status = obj('Observed state.', {
  conditions: conditions('Conditions of this advertisement.'),
});

export function l2AdvertisementCrd(): CustomResourceDefinition {
  return customResourceDefinition(
    KINDS.L2Advertisement,
    'L2Advertisement makes speakers answer ARP (IPv4) and NDP (IPv6) for the VIPs of the selected pools.',
    { spec, status },
    [
      { name: 'Pools', type: 'string', jsonPath: '.spec.ipAddressPools' },
      { name: 'Interfaces', type: 'string', jsonPath: '.spec.interfaces' },
    ],
    false,
  );
}

/** IPAddressPool CRD: the schema the apiserver enforces at admission (no webhook to break). */
import { KINDS } from '../group.ts';
import {
  addressSyntaxMessage,
  ipGreaterThan,
  isAddressEntry,
  isRange,
  rangeFirst,
  rangeLast,
} from './cel.ts';
import { conditions, labelSelector, namespaceName } from './common.ts';
import { type CustomResourceDefinition, conditionStatusPath, customResourceDefinition } from './crd.ts';
import { arr, bool, int, int64, obj, str } from './openapi.ts';

/**
 * Limits that keep the CEL cost estimate inside the apiserver's per-expression budget (each rule's
 * cost is multiplied by the list's maxItems). 45 characters is the longest textual IPv6 address
 * (with an embedded dotted quad); a range holds two plus a '-' and some spaces.
 */
export const MAX_POOL_ENTRIES = 100;
export const MAX_ENTRY_LENGTH = 100;

const self = 'self';
const sameFamily = `ip(${rangeFirst(self)}).family() == ip(${rangeLast(self)}).family()`;

const address = str(
  'An IPv4 or IPv6 CIDR (192.0.2.0/24, 2001:db8::/64), a single address (same as /32 or /128), or an ' +
    'inclusive range first-last (192.0.2.10-192.0.2.20); spaces around the dash are allowed. CIDRs must ' +
    'not have host bits set.',
  {
    minLength: 1,
    maxLength: MAX_ENTRY_LENGTH,
    'x-kubernetes-validations': [
      { rule: isAddressEntry(self), messageExpression: addressSyntaxMessage(self) },
      {
        rule: `!${isRange(self)} || ${sameFamily}`,
        messageExpression: `"range '" + self + "' mixes IPv4 and IPv6: both ends must be of the same family"`,
      },
      {
        rule: `!isCIDR(self) || cidr(self) == cidr(self).masked()`,
        messageExpression: `"'" + self + "' has host bits set after the /" + self.split('/', 3)[1] + " prefix: use the network (first) address of the block"`,
      },
      {
        rule: `!${isRange(self)} || !(${sameFamily}) || !${ipGreaterThan(rangeFirst(self), rangeLast(self))}`,
        messageExpression:
          `"range '" + self + "' is reversed: its first address " + ${rangeFirst(self)} + ` +
          `" comes after its last address " + ${rangeLast(self)}`,
      },
    ],
  },
);

const spec = obj(
  'Addresses Portico may hand out to LoadBalancer Services, and which Services may use them.',
  {
    addresses: arr(
      'CIDRs and ranges in this pool. IPv4 and IPv6 may be mixed; at least one entry.',
      address,
      {
        maxItems: MAX_POOL_ENTRIES,
        'x-kubernetes-list-type': 'set',
        'x-kubernetes-validations': [
          { rule: 'self.size() > 0', message: 'addresses must list at least one CIDR or range' },
        ],
      },
    ),
    autoAssign: bool(
      'Whether Services that name no pool and request no IP may get addresses from this pool. When false, ' +
        'the pool is used only when asked for by annotation or requested IP.',
      { default: true },
    ),
    avoidBuggyIPs: bool(
      'Skip IPv4 addresses ending in .0 and .255, which some old client stacks treat as broadcast.',
      { default: false },
    ),
    allocation: obj('Which Services may draw from this pool, and its preference among matching pools.', {
      priority: int('Lower values are preferred among matching pools; pools without one come after.', {
        minimum: 0,
      }),
      namespaces: arr(
        'Namespaces whose Services may use this pool.',
        namespaceName('Name of a namespace whose Services may use this pool.'),
        {
          maxItems: 64,
          'x-kubernetes-list-type': 'set',
        },
      ),
      namespaceSelector: labelSelector('Namespaces (by label) whose Services may use this pool.'),
      serviceSelector: labelSelector('Services (by label) that may use this pool.'),
    }),
  },
  { required: ['addresses'] },
);

const count = (what: string) =>
  str(
    `${what}, as a decimal string: IPv6 counts exceed what JSON numbers hold exactly (a /64 alone is 2^64).`,
    { maxLength: 40, pattern: '^(0|[1-9][0-9]*)$' },
  );

const status = obj('Observed state, written by the controller.', {
  assignedIPv4: count('IPv4 addresses assigned to Services'),
  assignedIPv6: count('IPv6 addresses assigned to Services'),
  availableIPv4: count('IPv4 addresses still free'),
  availableIPv6: count('IPv6 addresses still free'),
  observedGeneration: int64('metadata.generation this status describes.', { minimum: 0 }),
  conditions: conditions(
    'Ready, Invalid (message says which entry and why) and Overlapping (names the other pool).',
  ),
});

export function ipAddressPoolCrd(): CustomResourceDefinition {
  return customResourceDefinition(
    KINDS.IPAddressPool,
    'IPAddressPool is a set of IP addresses from which Portico allocates LoadBalancer Service IPs.',
    { spec, status },
    // Per-family counts, never a sum: one /64 dwarfs any IPv4 range, so "available" across
    // families says nothing. A family the pool does not hold is a blank cell.
    [
      { name: 'Addresses', type: 'string', jsonPath: '.spec.addresses', description: 'spec.addresses' },
      {
        name: 'Assigned v4',
        type: 'string',
        jsonPath: '.status.assignedIPv4',
        description: 'IPv4 addresses held by Services',
      },
      {
        name: 'Available v4',
        type: 'string',
        jsonPath: '.status.availableIPv4',
        description: 'IPv4 addresses still free',
      },
      {
        name: 'Assigned v6',
        type: 'string',
        jsonPath: '.status.assignedIPv6',
        description: 'IPv6 addresses held by Services',
      },
      {
        name: 'Available v6',
        type: 'string',
        jsonPath: '.status.availableIPv6',
        description: 'IPv6 addresses still free (a decimal string: a /64 holds 2^64)',
      },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: conditionStatusPath('Ready'),
        description: 'Valid and not overlapping another pool',
      },
      {
        name: 'Auto Assign',
        type: 'boolean',
        jsonPath: '.spec.autoAssign',
        description: 'Used for Services that ask for no pool',
        priority: 1,
      },
      {
        name: 'Priority',
        type: 'integer',
        jsonPath: '.spec.allocation.priority',
        description: 'Lower is preferred among matching pools',
        priority: 1,
      },
    ],
    true,
  );
}

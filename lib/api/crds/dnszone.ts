/** DNSZone CRD: an authoritative zone served by Portico's DNS server. */

import { KINDS } from '../group.ts';
import { DNS_RECORD_TYPES } from '../types.ts';
import { lit } from './cel.ts';
import { conditions, labelSelector, objectName } from './common.ts';
import { type CustomResourceDefinition, conditionStatusPath, customResourceDefinition } from './crd.ts';
import { arr, bool, int, int64, obj, str } from './openapi.ts';

// Zone names: lowercase LDH labels (RFC 1123), no trailing dot, at most 253 characters.
const ZONE_LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
export const ZONE_NAME_RE = `^${ZONE_LABEL}(\\.${ZONE_LABEL})*$`;
// Record owner names: relative to the zone, or absolute with a trailing dot (zone-file style, as
// dns/ reads them); '_' allowed (e.g. _acme-challenge), a leading '*' label makes a wildcard, '@'
// is the apex.
const OWNER_LABEL = '[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?';
export const OWNER_NAME_RE = `^(@|\\*|(\\*\\.)?${OWNER_LABEL}(\\.${OWNER_LABEL})*\\.?)$`;
// Absolute host names as record data (CNAME/PTR targets, name servers); trailing dot optional.
const HOST_LABEL = '[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?';
export const HOST_NAME_RE = `^${HOST_LABEL}(\\.${HOST_LABEL})*\\.?$`;

const TTL_MAX = 2147483647; // RFC 2181 §8: TTLs are 31-bit.

function hostName(description: string): ReturnType<typeof str> {
  return str(description, {
    maxLength: 254,
    'x-kubernetes-validations': [
      {
        rule: `self.matches(${lit(HOST_NAME_RE)})`,
        messageExpression: `"'" + self + "' is not a valid host name: dot-separated labels of letters, digits, '-' or '_', each at most 63 characters"`,
      },
    ],
  });
}

const v4 = (v: string) => `(isIP(${v}) && ip(${v}).family() == 4)`;
const v6 = (v: string) => `(isIP(${v}) && ip(${v}).family() == 6)`;
const host = (v: string) => `${v}.matches(${lit(HOST_NAME_RE)})`;
const recordLabel = `"record '" + self.name + "' (" + self.type + ")"`;

const record = obj(
  'A static resource record: owner name, type, values and an optional TTL.',
  {
    name: str(
      "Owner name: relative to the zone ('@' for the apex, 'www', 'a.b', a wildcard '*.apps'), or absolute " +
        "with a trailing dot ('www.k8s.home.arpa.').",
      {
        maxLength: 253,
        'x-kubernetes-validations': [
          {
            rule: `self.matches(${lit(OWNER_NAME_RE)})`,
            messageExpression: `"'" + self + "' is not a valid record name: use '@' for the apex or lowercase labels (letters, digits, '-', '_'), optionally starting with '*.'"`,
          },
        ],
      },
    ),
    type: str(`Record type: ${DNS_RECORD_TYPES.join(', ')}.`, { enum: [...DNS_RECORD_TYPES] }),
    values: arr(
      'Record data. A: IPv4 addresses; AAAA: IPv6 addresses; CNAME: exactly one host name; PTR: host ' +
        'names; TXT: strings of at most 255 bytes.',
      str('One value, in the syntax its type needs (see values).', { maxLength: 255 }),
      { maxItems: 8, 'x-kubernetes-list-type': 'atomic' },
    ),
    ttl: int('TTL in seconds for this record; default spec.ttl.', { minimum: 0, maximum: TTL_MAX }),
  },
  {
    required: ['name', 'type', 'values'],
    'x-kubernetes-validations': [
      { rule: 'self.values.size() > 0', messageExpression: `${recordLabel} + " needs at least one value"` },
      {
        rule: `self.type != 'A' || self.values.all(v, ${v4('v')})`,
        messageExpression: `${recordLabel} + ": every value must be an IPv4 address"`,
      },
      {
        rule: `self.type != 'AAAA' || self.values.all(v, ${v6('v')})`,
        messageExpression: `${recordLabel} + ": every value must be an IPv6 address"`,
      },
      {
        rule: `!(self.type in ['CNAME', 'PTR']) || self.values.all(v, ${host('v')})`,
        messageExpression: `${recordLabel} + ": every value must be a host name (letters, digits, '-', '_', dot-separated labels)"`,
      },
      {
        rule: `self.type != 'CNAME' || self.values.size() <= 1`,
        messageExpression: `${recordLabel} + ": a CNAME has exactly one target"`,
      },
      {
        rule: `self.type != 'CNAME' || self.name != '@'`,
        message: 'a CNAME cannot be at the zone apex (@): the apex holds the SOA and NS records',
      },
      {
        rule: `self.type != 'TXT' || self.values.all(v, bytes(v).size() <= 255)`,
        messageExpression: `${recordLabel} + ": each TXT string is at most 255 bytes"`,
      },
    ],
  },
);

const spec = obj(
  'The zone and where its records come from.',
  {
    zone: str(
      'Zone apex, lowercase, no trailing dot: k8s.home.arpa, or a reverse zone like 2.0.192.in-addr.arpa.',
      {
        maxLength: 253,
        'x-kubernetes-validations': [
          {
            rule: `self.matches(${lit(ZONE_NAME_RE)})`,
            messageExpression: `"'" + self + "' is not a valid zone name: lowercase labels of letters, digits and '-' (not at either end), separated by dots, each at most 63 characters, no trailing dot"`,
          },
        ],
      },
    ),
    ttl: int('TTL in seconds of records generated from sources and of static records without one.', {
      minimum: 0,
      maximum: TTL_MAX,
      default: 300,
    }),
    sources: obj(
      'Where generated records come from.',
      {
        gateways: obj(
          'Gateway API: Gateway addresses and the hostnames of Accepted routes attached to them.',
          {
            enabled: bool(
              'Publish Gateway addresses and the hostnames of their Accepted routes. Default true.',
              { default: true },
            ),
            gatewayClassNames: arr(
              'Only Gateways of these GatewayClasses (a Gateway matching this or gatewaySelector counts); ' +
                'both absent = every Gateway.',
              objectName('Name of a GatewayClass whose Gateways are published.'),
              { maxItems: 32, 'x-kubernetes-list-type': 'set' },
            ),
            gatewaySelector: labelSelector('Only Gateways with these labels.'),
            namespaceSelector: labelSelector(
              'Only Gateways and routes in matching namespaces; absent = all.',
            ),
          },
          { default: {} },
        ),
        services: obj(
          'LoadBalancer Services annotated with portico.dev/hostname (or ExternalDNS hostname keys).',
          {
            enabled: bool('Publish the hostnames of annotated LoadBalancer Services. Default true.', {
              default: true,
            }),
            namespaceSelector: labelSelector('Only Services in matching namespaces; absent = all.'),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    records: arr('Static records, served alongside generated ones. One entry per (name, type).', record, {
      maxItems: 256,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name', 'type'],
    }),
    soa: obj(
      'Start of authority fields. The serial is not set here: the server increases it whenever the ' +
        'zone content changes.',
      {
        mname: hostName('Primary name server (SOA MNAME). Default ns.<zone>.'),
        rname: hostName(
          'Responsible mailbox in domain form (hostmaster.example.org). Default hostmaster.<zone>.',
        ),
        refresh: int('Seconds a secondary waits before checking the serial again (SOA REFRESH).', {
          minimum: 1,
          maximum: TTL_MAX,
          default: 3600,
        }),
        retry: int('Seconds a secondary waits before retrying a failed refresh (SOA RETRY).', {
          minimum: 1,
          maximum: TTL_MAX,
          default: 600,
        }),
        expire: int('Seconds after which a secondary that cannot refresh stops answering (SOA EXPIRE).', {
          minimum: 1,
          maximum: TTL_MAX,
          default: 86400,
        }),
        minimum: int('Negative-answer TTL in seconds (RFC 2308).', {
          minimum: 0,
          maximum: TTL_MAX,
          default: 30,
        }),
      },
      { default: {} },
    ),
    nameServers: arr(
      'Host names of the zone name servers, served as NS records at the apex. Absent = the SOA mname.',
      hostName('Host name of one name server of the zone, e.g. ns1.k8s.home.arpa.'),
      { maxItems: 16, 'x-kubernetes-list-type': 'set' },
    ),
  },
  {
    required: ['zone'],
    'x-kubernetes-validations': [
      {
        rule: "!has(self.records) || self.records.all(r, !r.name.endsWith('.') || r.name == self.zone + '.' || r.name.endsWith('.' + self.zone + '.'))",
        messageExpression: `"absolute record names (ending in '.') must lie inside the zone " + self.zone`,
      },
      {
        // 'www.k8s.home.arpa' without the dot would become www.k8s.home.arpa.k8s.home.arpa.
        rule: "!has(self.records) || self.records.all(r, r.name.endsWith('.') || !(r.name == self.zone || r.name.endsWith('.' + self.zone)))",
        messageExpression: `"record names without a trailing dot are relative to the zone: write 'www' or 'www." + self.zone + ".', not 'www." + self.zone + "'"`,
      },
    ],
  },
);

const status = obj('Observed state, written by the DNS server.', {
  records: int64('Resource records currently served (all types, apex SOA and NS included).', { minimum: 0 }),
  serial: int64('SOA serial currently served.', { minimum: 0, maximum: 4294967295 }),
  observedGeneration: int64('metadata.generation this status describes.', { minimum: 0 }),
  conditions: conditions('Ready, Conflict (two sources claim one name; names them) and Invalid.'),
});

export function dnsZoneCrd(): CustomResourceDefinition {
  return customResourceDefinition(
    KINDS.DNSZone,
    'DNSZone is an authoritative DNS zone served by Portico: Gateway route hostnames, annotated Services ' +
      'and static records.',
    { spec, status },
    [
      { name: 'Zone', type: 'string', jsonPath: '.spec.zone', description: 'Zone apex' },
      {
        name: 'Records',
        type: 'integer',
        jsonPath: '.status.records',
        description: 'Resource records served, SOA and NS included',
      },
      { name: 'Serial', type: 'integer', jsonPath: '.status.serial', description: 'SOA serial served' },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: conditionStatusPath('Ready'),
        description: 'Built from synced sources and served',
      },
      {
        name: 'TTL',
        type: 'integer',
        jsonPath: '.spec.ttl',
        description: 'TTL of generated records, seconds',
        priority: 1,
      },
    ],
    true,
  );
}

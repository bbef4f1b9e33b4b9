/** BGPSessionState CRD: one node's session to one peer, as that node's speaker sees it. */
import { KINDS } from '../group.ts';
import { BGP_SESSION_STATES } from '../types.ts';
import { type CustomResourceDefinition, customResourceDefinition } from './crd.ts';
import { int64, obj, type Schema, str } from './openapi.ts';

// No properties at all (an empty `properties: {}` would not survive the apiserver's round trip).
const spec: Schema = {
  type: 'object',
  description: 'Reserved: a BGPSessionState has no desired state; everything is in status.',
};

const status = obj('Observed state, written by the speaker of status.node (server-side apply).', {
  node: str('Node whose speaker holds the session.', { maxLength: 253 }),
  peer: str('BGPPeer the session is with.', { maxLength: 253 }),
  peerAddress: str('Address of the router.', { maxLength: 45 }),
  state: str('RFC 4271 session state.', { enum: [...BGP_SESSION_STATES] }),
  lastError: str(
    'Why the session last went down or could not come up: a NOTIFICATION sent or received, a socket error, a ' +
      'configuration problem.',
    { maxLength: 1024 },
  ),
  establishedSince: str('When the session reached Established (RFC 3339); absent otherwise.', {
    format: 'date-time',
  }),
  prefixesSent: int64('Prefixes currently advertised on the session.', { minimum: 0 }),
  lastTransition: str('When state last changed (RFC 3339).', { format: 'date-time' }),
});

export function bgpSessionStateCrd(): CustomResourceDefinition {
  return customResourceDefinition(
    KINDS.BGPSessionState,
    "BGPSessionState is the state of one BGP session between a node's speaker and a BGPPeer. Named " +
      '<node>-<peer>, labelled portico.dev/node and portico.dev/peer, owned by the Node and the BGPPeer.',
    { spec, status },
    [
      { name: 'Node', type: 'string', jsonPath: '.status.node', description: 'Node of the speaker' },
      { name: 'Peer', type: 'string', jsonPath: '.status.peer', description: 'BGPPeer' },
      {
        name: 'Address',
        type: 'string',
        jsonPath: '.status.peerAddress',
        description: 'Router address',
        priority: 1,
      },
      { name: 'State', type: 'string', jsonPath: '.status.state', description: 'RFC 4271 session state' },
      {
        name: 'Prefixes',
        type: 'integer',
        jsonPath: '.status.prefixesSent',
        description: 'Prefixes advertised',
      },
      {
        name: 'Since',
        type: 'date',
        jsonPath: '.status.establishedSince',
        description: 'Established since (blank when not Established)',
      },
      {
        name: 'Last Error',
        type: 'string',
        jsonPath: '.status.lastError',
        description: 'Why the session last went down',
        priority: 1,
      },
    ],
    false,
  );
}

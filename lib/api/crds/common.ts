/** Schema pieces shared by the three CRDs: label selectors, conditions, name syntax. */
import { lit } from './cel.ts';
import { arr, int64, obj, type Schema, str, stringMap } from './openapi.ts';

/** DNS-1123 subdomain: the syntax of most Kubernetes object names. */
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** DNS-1123 label: namespace names. */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export function objectName(description: string): Schema {
  return str(description, {
    maxLength: 253,
    'x-kubernetes-validations': [
      {
        rule: `self.matches(${lit(DNS1123_SUBDOMAIN)})`,
        messageExpression: `"'" + self + "' is not a valid object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"`,
      },
    ],
  });
}

export function namespaceName(description: string): Schema {
  return str(description, {
    maxLength: 63,
    'x-kubernetes-validations': [
      {
        rule: `self.matches(${lit(DNS1123_LABEL)})`,
        messageExpression: `"'" + self + "' is not a valid namespace name: lowercase letters, digits and '-', starting and ending with a letter or digit"`,
      },
    ],
  });
}

/** metav1.LabelSelector, with the operator/values consistency the apiserver checks for built-ins. */
export function labelSelector(description: string): Schema {
  return obj(
    `${description} An empty selector ({}) selects everything.`,
    {
      matchLabels: stringMap(
        'Labels (key: value) that must all be present with exactly these values.',
        str('The value the label must have (at most 63 characters; may be empty).', { maxLength: 63 }),
        {
          maxProperties: 64,
        },
      ),
      matchExpressions: arr(
        'Label requirements that must all hold, in addition to matchLabels.',
        obj(
          'A label requirement: a key, an operator and, for In / NotIn, values.',
          {
            key: str('Label key the requirement applies to, e.g. kubernetes.io/hostname.', {
              minLength: 1,
              maxLength: 317,
            }),
            operator: str(
              'In / NotIn: the label value is / is not one of values. Exists / DoesNotExist: the key is present / absent.',
              {
                enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
              },
            ),
            values: arr(
              'Values for In / NotIn (at least one); empty for Exists / DoesNotExist.',
              str('A label value to compare with (at most 63 characters).', { maxLength: 63 }),
              {
                maxItems: 64,
                'x-kubernetes-list-type': 'atomic',
              },
            ),
          },
          {
            required: ['key', 'operator'],
            'x-kubernetes-validations': [
              {
                rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && self.values.size() > 0 : !has(self.values) || self.values.size() == 0",
                messageExpression:
                  "self.operator in ['In', 'NotIn'] ? 'operator ' + self.operator + ' needs at least one value' : 'operator ' + self.operator + ' takes no values'",
              },
            ],
          },
        ),
        { maxItems: 32, 'x-kubernetes-list-type': 'atomic' },
      ),
    },
    { 'x-kubernetes-map-type': 'atomic' },
  );
}

/** []metav1.Condition, keyed by type so server-side apply merges per condition. */
export function conditions(description: string): Schema {
  return arr(
    description,
    obj(
      'metav1.Condition: one aspect of the object state, with why and since when.',
      {
        type: str('Condition type (CamelCase, optionally prefixed by a DNS subdomain and /).', {
          maxLength: 316,
          pattern:
            '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
        }),
        status: str('Whether the condition holds: True, False or Unknown.', {
          enum: ['True', 'False', 'Unknown'],
        }),
        observedGeneration: int64('metadata.generation the condition was computed from.', { minimum: 0 }),
        lastTransitionTime: str('When status last changed (RFC 3339).', { format: 'date-time' }),
        reason: str('Machine-readable CamelCase reason for the last transition.', {
          minLength: 1,
          maxLength: 1024,
          pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
        }),
        message: str('Human-readable details: what is wrong and what to do.', { maxLength: 32768 }),
      },
      { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
    ),
    { maxItems: 16, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  );
}

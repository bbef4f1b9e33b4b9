/** Wraps a schema into an apiextensions.k8s.io/v1 CustomResourceDefinition object. */
import {
  CATEGORY,
  crdName,
  GROUP,
  PLURALS,
  type PorticoKind,
  SCOPE,
  SHORT_NAMES,
  SINGULARS,
  VERSION,
} from '../group.ts';
import type { Schema } from './openapi.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 = shown by `kubectl get`; 1 = only with `-o wide`. */
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: string;
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

export function customResourceDefinition(
  kind: PorticoKind,
  description: string,
  properties: { spec: Schema; status: Schema },
  columns: PrinterColumn[],
  specRequired: boolean,
): CustomResourceDefinition {
  const root: Schema = {
    type: 'object',
    description,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of this object: portico.dev/v1alpha1.' },
      kind: { type: 'string', description: `Kind of this object: ${kind}.` },
      metadata: { type: 'object' },
      spec: properties.spec,
      status: properties.status,
    },
  };
  if (specRequired) root.required = ['spec'];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(kind), labels: { 'app.kubernetes.io/part-of': 'portico' } },
    spec: {
      group: GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural: PLURALS[kind],
        singular: SINGULARS[kind],
        shortNames: [...SHORT_NAMES[kind]],
        categories: [CATEGORY],
      },
      scope: SCOPE,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: root },
        },
      ],
    },
  };
}

/** JSONPath of a condition's status, for a printer column. */
export function conditionStatusPath(type: string): string {
  return `.status.conditions[?(@.type=="${type}")].status`;
}

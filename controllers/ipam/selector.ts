// Validation of Kubernetes label selectors for IPAddressPool specs (a malformed selector makes the
// pool Invalid). Matching itself is the shared lib/api/selector.ts matchesSelector.

export interface LabelSelectorRequirement {
  key: string;
  operator: string; // In | NotIn | Exists | DoesNotExist
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type { Labels } from '../../lib/api/selector.ts';

/** Problems that make a selector unusable (reported as the pool's Invalid condition). */
export function selectorErrors(sel: LabelSelector | undefined | null, where: string): string[] {
  if (sel === undefined || sel === null) return [];
  if (typeof sel !== 'object') return [`${where}: must be an object`];
  const errors: string[] = [];
  if (sel.matchLabels !== undefined && (typeof sel.matchLabels !== 'object' || sel.matchLabels === null)) {
    errors.push(`${where}.matchLabels: must be a map of strings`);
  } else {
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
      if (typeof v !== 'string') errors.push(`${where}.matchLabels[${JSON.stringify(k)}]: must be a string`);
    }
  }
  if (sel.matchExpressions !== undefined && !Array.isArray(sel.matchExpressions)) {
    errors.push(`${where}.matchExpressions: must be a list`);
    return errors;
  }
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const at = `${where}.matchExpressions[${i}]`;
    if (!req || typeof req.key !== 'string' || req.key === '') {
      errors.push(`${at}: key is required`);
      return;
    }
    const values = req.values ?? [];
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      errors.push(`${at}: values must be a list of strings`);
      return;
    }
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errors.push(`${at}: operator ${req.operator} needs at least one value`);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errors.push(`${at}: operator ${req.operator} takes no values`);
        break;
      default:
        errors.push(
          `${at}: unknown operator ${JSON.stringify(req.operator)} (In, NotIn, Exists, DoesNotExist)`,
        );
    }
  });
  return errors;
}

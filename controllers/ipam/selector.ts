// Kubernetes label selectors (matchLabels + matchExpressions), evaluated purely, with the same
// semantics as apimachinery's LabelSelectorAsSelector: all terms must hold (AND); an empty selector
// matches everything; NotIn and DoesNotExist match objects that lack the key.

export interface LabelSelectorRequirement {
  key: string;
  operator: string; // In | NotIn | Exists | DoesNotExist
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

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

/** Does the selector match these labels? Call only on selectors without selectorErrors. */
export function matchesSelector(sel: LabelSelector, labels: Labels | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (!Object.hasOwn(l, k) || l[k] !== v) return false;
  }
  for (const req of sel.matchExpressions ?? []) {
    const present = Object.hasOwn(l, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!present || !values.includes(l[req.key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(l[req.key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false; // unknown operators never match (and make the pool Invalid upstream)
    }
  }
  return true;
}

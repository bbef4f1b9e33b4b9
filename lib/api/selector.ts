// Kubernetes label selectors (metav1.LabelSelector: matchLabels + matchExpressions), evaluated
// purely with apimachinery's LabelSelectorAsSelector semantics. The one matcher used by the IPAM
// controller (pool namespace/service selectors), the speaker (L2Advertisement pool/node selectors)
// and the DNS sources (DNSZone route/gateway selectors).
//
// - All terms must hold (AND); an empty selector `{}` matches everything.
// - NotIn and DoesNotExist match objects that lack the key; In and Exists need it.
// - Only own properties are labels (`toString` is not a label of `{}`).
// - An operator we do not know selects nothing (fail closed; the apiserver rejects such selectors,
//   and the IPAM controller reports them as Invalid via its own validation).
// - What an ABSENT selector means (everything, nothing, "not set") is each caller's decision, so it
//   is not an input here.

/**
 * Structural on purpose: accepts lib/api/types.ts' LabelSelector, client-node's V1LabelSelector
 * (operator: string) or plain JSON, and readonly arrays.
 */
export interface SelectorRequirement {
  key: string;
  operator: string; // In | NotIn | Exists | DoesNotExist
  values?: readonly string[];
}

export interface Selector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly SelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

/** Does the selector match these labels? Undefined labels are no labels. */
export function matchesSelector(sel: Selector, labels?: Labels): boolean {
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
        return false;
    }
  }
  return true;
}
